/** Clients racing on the same works and on a commit: the served state is what a replay gives, exclusivity holds, reads racing a commit are whole, a check's verdicts are what its evidence replays to. */
import { afterAll, describe, expect, it } from 'vitest';
import { toBase64, toHex } from '../src/core/bytes.js';
import { parseVerifierKey } from '../src/core/checkpoint.js';
import { randomSeed, sha256 } from '../src/core/crypto.js';
import { encodeFrames, FINGERPRINT_KIND } from '../src/core/fingerprint.js';
import { verifyBundle } from '../src/verify/index.js';
import { auditLedger } from '../src/store/audit.js';
import { race } from '../scripts/lib/races.js';
import { content, party, stmt } from './helpers.js';
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

describe('reads of a much-licensed work under steady writes', () => {
  // Evidence was taken only when no commit at all landed while it was read: two clients
  // writing anything, one entry at a time, kept a 3,000-licence work's evidence and checks at
  // 503 for good (an 800-licence one here). Now only entries about the work itself send it back to be read again.
  it("answer 200 with evidence that verifies while other works' entries keep landing", async () => {
    const r = await serverFixture();
    try {
      const alice = party();
      const content = randomSeed();
      const work = (await r.ledger.sequencer.submit(stmt.register(alice, content))).receipt.id;
      const licensees = Array.from({ length: 8 }, () => party());
      await Promise.all(Array.from({ length: 800 }, (_, i) => r.ledger.sequencer.submit(stmt.license(alice, work, licensees[i % 8]!.id, { terms: `n${i}` }))));
      let writing = true;
      const writes = [0, 1].map(async () => {
        while (writing) await fetch(`${r.url}/v1/statements`, { method: 'POST', body: Buffer.from(stmt.party(party(), 'busy')), headers: { 'content-type': 'application/cose' } });
      });
      const before = r.ledger.sequencer.size;
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const [evidence, check] = await Promise.all([
          fetch(`${r.url}/v1/works/${work}/evidence`),
          fetch(`${r.url}/v1/check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sha256: toHex(sha256(content)), uploader: licensees[0]!.id, use: 'publish', territory: 'FR' }) }),
        ]);
        statuses.push(evidence.status, check.status);
        if (evidence.status === 200) expect(verifyBundle(await evidence.json(), r.verifierKey, { about: { work } })).toMatchObject({ ok: true });
      }
      writing = false;
      await Promise.all(writes);
      expect(r.ledger.sequencer.size - before).toBeGreaterThan(8); // the writes really landed meanwhile
      expect(statuses).toEqual(Array(8).fill(200));
    } finally {
      await r.close();
    }
  }, 60_000);
});

describe('a check racing licences', () => {
  // A fingerprint match's verdict was judged on the store as it stood before its evidence was
  // read, so a licence or a revocation landing between them made the answer say one verdict
  // and its bundle replay to the other: `check --ledger-key` refused the server. And a commit
  // landing within one read of the store made an exact match's bundle claim the work's
  // previous head beside a chain that held the new entry (incomplete).
  it("a check's bundles, of an exact match and of a fingerprint match, verify and replay to the verdicts it answers, while the uploader's licence is granted and revoked 30 times", async () => {
    const r = await serverFixture();
    try {
      const [alice, bob] = [party(), party()];
      const frames = Array.from({ length: 12 }, (_, i) => ({ timeMs: i * 1000, hash: sha256(content('frame')).subarray(0, 16) }));
      const film = content();
      const work = (await r.ledger.sequencer.submit(stmt.register(alice, film, { fingerprints: [{ kind: FINGERPRINT_KIND, value: encodeFrames(frames) }] }))).receipt.id;
      // Licences that do not cover the use asked about: each is read when the verdict is
      // judged, which gives commits time to land within that read.
      await Promise.all(Array.from({ length: 40 }, (_, i) => r.ledger.sequencer.submit(stmt.license(alice, work, bob.id, { terms: `de${i}`, territories: ['DE'] }))));
      // The file itself (an exact match), and seconds 4–9 of it re-encoded (a frame match).
      const upload = toBase64(encodeFrames(frames.slice(4, 10).map((f) => ({ timeMs: f.timeMs - 4000, hash: f.hash }))));
      // Judged a minute ahead, every licence and revocation that lands while a check runs
      // counts (judged now, only those sequenced before the check came in would).
      const at = Date.now() + 60_000;
      let writing = true;
      const writes = (async () => {
        // (a licensee may hold 256 licences of a work)
        for (let i = 0; i < 30; i++) {
          const { id } = (await (await r.submit(stmt.license(alice, work, bob.id, { terms: `t${i}` }))).json()) as { id: string };
          expect((await r.submit(stmt.revoke(alice, id))).status).toBe(201);
        }
      })().finally(() => (writing = false));
      const verdicts: Record<string, number> = {};
      const differing: string[] = [];
      const checks = [0, 1].map(async () => {
        while (writing) {
          const res = await r.post('/v1/check', JSON.stringify({ sha256: toHex(sha256(film)), fingerprints: { kind: FINGERPRINT_KIND, frames: upload }, uploader: bob.id, use: 'clip', territory: 'FR', at }), 'application/json');
          expect(res.status).toBe(200);
          const answer = (await res.json()) as { verdict: string; evidence: unknown; matches: Array<{ work: { id: string }; use: string; verdict: string; evidence: unknown }> };
          expect(answer.matches.map((m) => m.work.id)).toEqual([work]);
          verdicts[answer.verdict] = (verdicts[answer.verdict] ?? 0) + 1;
          const exact = verifyBundle(answer.evidence, r.verifierKey);
          expect(exact.failure).toBeUndefined();
          if (exact.verdict !== answer.verdict) differing.push(`the answer says ${answer.verdict}, its evidence ${exact.verdict}`);
          for (const m of answer.matches) {
            const replayed = verifyBundle(m.evidence, r.verifierKey, { about: { work: m.work.id }, question: { uploader: bob.id, use: m.use, territory: 'FR', at } });
            expect(replayed.failure).toBeUndefined();
            if (replayed.verdict !== m.verdict) differing.push(`the match says ${m.verdict}, its evidence ${replayed.verdict}`);
          }
        }
      });
      await Promise.all([writes, ...checks]);
      expect(differing).toEqual([]);
      expect(Object.keys(verdicts).sort()).toEqual(['licensed', 'unlicensed']); // the licence really came and went under the checks
    } finally {
      await r.close();
    }
  }, 60_000);
});
