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
import { CURRENT_MATCHING, SimilarityIndex, matchingRulesAt, probeHits } from '../src/core/similarity.js';
import { parseStatement } from '../src/core/cose.js';
import type { WorkRecord } from '../src/core/records.js';
import { applyStatement, contestThreshold } from '../src/core/rules.js';
import { MemoryState } from '../src/core/state.js';
import { auditLedger } from '../src/store/audit.js';
import { openStore } from '../src/store/open-store.js';
import { openLedger } from '../src/store/ledger.js';
import { crowdingFrames, party, stmt, tempDir } from './helpers.js';

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

describe('the works a registration searches whole (matching rules 6 on)', () => {
  // Forty upload frames; a work's frame is one of them with bits flipped. Three bits in one
  // pHash chunk leave three chunks for the probe to find it by; one bit in each chunk leave
  // none, so only a search of its work whole finds it. Every dHash is drawn apart.
  const shots = Array.from({ length: 40 }, (_, j) => ({ timeMs: j * 1000, hash: sha256(randomSeed()).slice(0, 16) }));
  const flipped = (j: number, bits: readonly number[]): FrameHash => {
    const hash = (shots[j] as FrameHash).hash.slice();
    for (const bit of bits) hash[bit >> 3]! ^= 0x80 >> (bit & 7);
    hash.set(sha256(randomSeed()).slice(0, 8), 8);
    return { timeMs: j * 1000, hash };
  };
  const probed = (j: number) => flipped(j, [50, 55, 61]);
  const hidden = (j: number) => flipped(j, [3, 20, 37, 52]);
  // The rules in force now, which bound the search as version 6 began to.
  const rules = matchingRulesAt(Date.now());
  const registration = (frames: readonly FrameHash[]) => stmt.register(party(), undefined, { fingerprints: [{ kind: FINGERPRINT_KIND, value: encodeFrames(frames) }] });

  it('are chosen from the store and the batch together, so the sequencer decides as one index, a flat replay and audit do', async () => {
    expect(rules.version).toBeGreaterThanOrEqual(6);
    expect(rules.maxExtended).toBe(32);
    // 32 decoys the probe finds six frames of, nothing more to find when searched whole; then,
    // in one batch with the registration, three works the probe finds two frames of, and
    // twenty-five more when searched whole.
    const decoys = Array.from({ length: rules.maxExtended }, () => registration(Array.from({ length: 6 }, (_, j) => probed(j))));
    const found = Array.from({ length: 3 }, () => registration([0, 1].map(probed).concat(Array.from({ length: 25 }, (_, k) => hidden(k + 2)))));
    const upload = registration(shots);

    const dir = await tempDir();
    const paths = { dataDir: `${dir}/data`, keysDir: `${dir}/keys` };
    const ledger = await openLedger(paths);
    const verifierKey = parseVerifierKey(ledger.sequencer.verifierKey);
    const ids: string[] = [];
    for (const s of decoys) ids.push((await ledger.sequencer.submit(s)).receipt.id);
    // Queued in one turn of the event loop: one batch, the three works in its overlay.
    const batch = await Promise.all([...found, upload].map((s) => ledger.sequencer.enqueue(parseStatement(s))));
    ids.push(...batch.map((r) => r.receipt.id));
    const records = ids.map((id) => ledger.store.sync.work(id) as WorkRecord);
    await ledger.close();
    const last = records[records.length - 1] as WorkRecord;
    expect(records.slice(-4).map((w) => w.registeredAt)).toEqual(Array(4).fill(last.registeredAt));
    expect(last.matching).toBe(rules.version);
    // The decoys have the most frames found: they are searched whole, the three works are not.
    expect(last.lookalikes).toEqual([]);
    expect(last.status).toBe('registered');

    // One index holding every work, replayed in order: the same decision.
    const flat = new MemoryState();
    [...decoys, ...found, upload].forEach((bytes, index) => {
      flat.apply(applyStatement(flat, { statement: parseStatement(bytes), index, time: (records[index] as WorkRecord).registeredAt }));
    });
    expect(flat.work(last.id)).toMatchObject({ lookalikes: [], status: 'registered' });
    // Searched whole, the three works would be contested: the bound is what decided.
    const unbounded = { ...rules, maxExtended: Infinity };
    const matched = segmentsOf(probeHits(flat.frameProbes(shots, unbounded), unbounded)).filter(
      (m) => m.segments.reduce((n, s) => n + (s.strength === 'match' ? s.frames : 0), 0) >= contestThreshold(shots.length),
    );
    expect(matched.map((m) => m.work).sort()).toEqual([...ids.slice(-4, -1), last.id].sort());

    const store = await openStore(paths.dataDir);
    try {
      expect(await auditLedger(store, verifierKey)).toMatchObject({ ok: true });
    } finally {
      await store.close();
    }
  });

  it('file a work\'s frames by the rules it was registered under, when it is indexed and when the index is refilled', async () => {
    const { query, frames } = crowdingFrames();
    const dir = await tempDir();
    const paths = { dataDir: `${dir}/data`, keysDir: `${dir}/keys` };
    let ledger = await openLedger(paths);
    const work = ledger.store.sync.work((await ledger.sequencer.submit(registration(frames))).receipt.id) as WorkRecord;
    expect(work.matching).toBe(rules.version);
    const probed = () => {
      const seeds = new Map<number, number>();
      ledger.store.similarity.hits([{ timeMs: 0, hash: query }], { rules, seeds });
      return seeds.get(work.registeredIndex) as number;
    };
    // 750 frames near the query; the probe reaches only those filed in its buckets.
    const indexed = probed();
    expect(indexed).toBeLessThanOrEqual(4 * rules.perBucket);
    await ledger.close();
    await rm(`${paths.dataDir}/fingerprint-index.state`);
    ledger = await openLedger(paths);
    expect(probed()).toBe(indexed);
    expect(ledger.store.similarity.frames).toBe(750);
    await ledger.close();
  });
});
