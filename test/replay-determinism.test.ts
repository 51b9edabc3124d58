/**
 * Decisions by fingerprint do not depend on the order an index was filled (issue 10.9): the
 * store refills its index in work-id order at start-up, a replay fills it in ledger order,
 * and both must reach the same decision, byte for byte.
 */
import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../src/core/checkpoint.js';
import { sha256, randomSeed } from '../src/core/crypto.js';
import { encodeFrames, FINGERPRINT_KIND, type FrameHash } from '../src/core/fingerprint.js';
import { segmentsOf } from '../src/core/segments.js';
import { CURRENT_MATCHING, SimilarityIndex, matchingRulesAt } from '../src/core/similarity.js';
import { auditLedger } from '../src/store/audit.js';
import type { LedgerStore } from '../src/store/ledger-store.js';
import { openStore } from '../src/store/open-store.js';
import { levelDb } from './helpers.js';
import { openLedger } from '../src/store/ledger.js';
import { party, stmt, tempDir } from './helpers.js';

// Five unrelated pictures, one a second: every work below shows the same five.
const shots: FrameHash[] = Array.from({ length: 5 }, (_, i) => ({ timeMs: i * 1000, hash: sha256(randomSeed()).slice(0, 16) }));
const WORKS = 20; // more than a query frame's cap (16), so which works are kept is a decision

describe('fill order', () => {
  it('does not change the hits or the segments of an index, and the cap keeps the earliest registrations', () => {
    const inLedgerOrder = new SimilarityIndex();
    const inOtherOrder = new SimilarityIndex();
    const ids = Array.from({ length: WORKS }, (_, i) => ({ id: `work-${String((i * 7) % WORKS).padStart(2, '0')}`, index: 10 + i }));
    for (const w of ids) inLedgerOrder.add(w.id, w.index, shots);
    for (const w of [...ids].sort((a, b) => a.id.localeCompare(b.id))) inOtherOrder.add(w.id, w.index, shots);
    const a = inLedgerOrder.search(shots);
    expect(inOtherOrder.search(shots)).toEqual(a);
    expect(segmentsOf(inOtherOrder.search(shots))).toEqual(segmentsOf(a));
    const kept = [...new Set(a.map((h) => h.workIndex))].sort((x, y) => x - y);
    expect(kept).toEqual(ids.slice(0, CURRENT_MATCHING.perFrame).map((w) => w.index));
  });

  it('a registration decided after a restart (index refilled by work id, or reopened in ledger order) replays the same in audit', async () => {
    const dir = await tempDir();
    const paths = { dataDir: `${dir}/data`, keysDir: `${dir}/keys` };
    const register = () => stmt.register(party(), undefined, { fingerprints: [{ kind: FINGERPRINT_KIND, value: encodeFrames(shots) }] });
    let ledger = await openLedger(paths);
    const order: string[] = [];
    for (let i = 0; i < WORKS; i++) order.push((await ledger.sequencer.submit(register())).receipt.id);
    const verifierKey = parseVerifierKey(ledger.sequencer.verifierKey);
    await ledger.close();
    // Work ids are hashes: ledger order and id order differ.
    expect([...order].sort()).not.toEqual(order);

    // As after a crash: the indexes saved at shutdown are gone, so the start refills them by work id.
    await rm(`${paths.dataDir}/fingerprint-index.state`);
    ledger = await openLedger(paths);
    const last = (await ledger.sequencer.submit(register())).receipt.id;
    const record = ledger.store.sync.work(last)!;
    await ledger.close();
    // Contested against the earliest registrations the caps keep, in ledger order, under the rules in force.
    expect(record.lookalikes).toEqual(order.slice(0, CURRENT_MATCHING.perFrame));
    expect(record.contest?.by).toBe(order[0]);
    expect(record.matching).toBe(matchingRulesAt(record.registeredAt).version);

    // After a clean shutdown the saved indexes are reopened, in the order they were filled: the same decision.
    ledger = await openLedger(paths);
    const again = ledger.store.sync.work((await ledger.sequencer.submit(register())).receipt.id)!;
    await ledger.close();
    expect(again.lookalikes).toEqual(order.slice(0, CURRENT_MATCHING.perFrame));

    const store = await openStore(paths.dataDir);
    try {
      expect(await auditLedger(store, verifierKey)).toMatchObject({ ok: true });
    } finally {
      await store.close();
    }
  });
});
