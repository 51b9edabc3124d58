/** Clients racing on the same works and on a commit: the served state is what a replay gives, exclusivity holds, reads racing a commit are whole. */
import { afterAll, describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { parseVerifierKey } from '../src/core/checkpoint.js';
import { randomSeed, sha256 } from '../src/core/crypto.js';
import { verifyBundle } from '../src/verify/index.js';
import { auditLedger } from '../src/store/audit.js';
import { race } from '../scripts/lib/races.js';
import { party, stmt } from './helpers.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';

let s: ServerFixture;
afterAll(() => s?.close());

describe('concurrency', () => {
  it('50 clients racing transfers, exclusive licences and revocations for 3 s', async () => {
    s = await serverFixture();
    const r = await race(s.url, { clients: 50, works: 4, durationMs: 3000 });
    expect(r.accepted).toBeGreaterThan(20);
    expect(r.refused[403] ?? 0).toBeGreaterThan(0); // the races really happened: stale owners were refused
    expect(r.mismatches).toEqual([]);
    expect(r.overlaps).toEqual([]);
    const audit = await auditLedger(s.ledger.store, parseVerifierKey(s.verifierKey));
    expect(audit).toMatchObject({ ok: true });
  });
});

describe('reads racing a commit', () => {
  // The store shows a commit's records a moment before the sequencer's checkpoint moves (the
  // watermark is written between): a check or a work's evidence read then cited the older
  // checkpoint, which lacks the entry, and answered 500.
  it("checks and a work's evidence asked while the work is being committed answer 200 (or 404 before it lands), and every bundle verifies", async () => {
    const r = await serverFixture();
    try {
      const alice = party();
      const statuses: Record<string, number> = {};
      let bundles = 0;
      for (let i = 0; i < 25; i++) {
        const content = randomSeed();
        const registration = stmt.register(alice, content);
        const id = toHex(sha256(registration));
        const submitted = fetch(`${r.url}/v1/statements`, { method: 'POST', body: Buffer.from(registration), headers: { 'content-type': 'application/cose' } });
        const asked = Array.from({ length: 12 }, (_, k) =>
          new Promise((wait) => setTimeout(wait, k % 6)).then(async () => {
            const res =
              k % 2 === 0
                ? await fetch(`${r.url}/v1/check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sha256: toHex(sha256(content)), uploader: alice.id, use: 'publish', territory: 'FR' }) })
                : await fetch(`${r.url}/v1/works/${id}/evidence`);
            const key = `${k % 2 === 0 ? 'check' : 'evidence'} ${res.status}`;
            statuses[key] = (statuses[key] ?? 0) + 1;
            if (res.status !== 200) return;
            const body = (await res.json()) as { evidence?: unknown; verdict?: string };
            const bundle = k % 2 === 0 ? body.evidence : body;
            if (!bundle) return;
            bundles++;
            expect(verifyBundle(bundle, r.verifierKey, k % 2 === 0 ? {} : { about: { work: id } })).toMatchObject({ ok: true });
          }),
        );
        expect((await submitted).status).toBe(201);
        await Promise.all(asked);
      }
      expect(Object.keys(statuses).filter((k) => !['check 200', 'evidence 200', 'evidence 404'].includes(k))).toEqual([]);
      expect(bundles).toBeGreaterThan(10); // (fewer on a loaded machine: more asked before the commit landed)
    } finally {
      await r.close();
    }
  });
});
