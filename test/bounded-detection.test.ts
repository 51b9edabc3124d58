/**
 * The fingerprint search's work is bounded whatever the input (issue 10.2, 10.3): stuffed
 * registrations, a 1,000-frame check and the largest check the API takes (frames, mirrors and
 * keypoint patches against crowded indexes, and sound against works of one soundtrack), on a
 * real server,
 * with its event loop watched; and checks have their own per-client rate limit.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runDetectionAttacks, watchEventLoop } from '../scripts/lib/detection-attacks.js';
import { toBase64 } from '../src/core/bytes.js';
import { verifyBundle } from '../src/verify/index.js';
import { party, stmt } from './helpers.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';

const servers: ServerFixture[] = [];
afterAll(() => Promise.all(servers.map((s) => s.close())));

describe('bounded fingerprint search', () => {
  it('stuffed registrations, a 1,000-frame check, maximal checks of frames, of patches and of sound: no 5xx, and the server never held up', async () => {
    const s = await serverFixture();
    servers.push(s);
    // The probe's wall time also counts waiting for a core on a loaded machine: a generous
    // bound for it (the attack used to stall the server for 9–12 s), the strict one on CPU.
    const results = await runDetectionAttacks(s.url, { watchEventLoop, loopLimitMs: 100, healthLimitMs: 1000 });
    if (process.env.SHOW_ATTACKS) console.log(results.map((r) => `${r.name}: ${r.detail}`).join("\n"));
    expect(results.map((r) => r.name)).toHaveLength(9);
    expect(results.filter((r) => !r.held), JSON.stringify(results, null, 1)).toEqual([]);
    // 750 identical frames are one frame in the index, for each of the four works; the
    // crowding works' frames are all distinct.
    expect(s.ledger.store.similarity.frames).toBe(4 + 12 * 750);
    expect(s.ledger.store.patches.frames).toBe(12 * 750);
    expect(s.ledger.store.sound.size).toBe(32);
    // The wall time is not what this test bounds (the maximal frame check alone took 7–9 s
    // on 2 cores until matching rules 6 filed a crowding work's frames at most 8 to a bucket,
    // 0.5–2.1 s since; 35–59 s while tests ran through Vite's module runner, when CI once ran
    // out at 90).
  }, 180_000);

  it("serves a much-licensed work's whole chain in slices that never hold the event loop long, and rate-limits such bundles per client", async () => {
    const s = await serverFixture({ checkRateLimit: 2, rateLimit: 1_000_000 });
    servers.push(s);
    const alice = party();
    const work = ((await (await s.submit(stmt.register(alice))).json()) as { id: string }).id;
    for (let b = 0; b < 3; b++) {
      const statements = Array.from({ length: 1000 }, () => toBase64(stmt.license(alice, work, party().id)));
      expect((await s.post('/v1/statements/batch', JSON.stringify({ statements }), 'application/json')).status).toBe(200);
    }
    const watch = watchEventLoop();
    const res = await s.get(`/v1/works/${work}/evidence`);
    const heldMs = watch();
    expect(res.status).toBe(200);
    const bundle = (await res.json()) as { entries: unknown[] };
    expect(bundle.entries).toHaveLength(3001);
    expect(verifyBundle(bundle, s.verifierKey)).toMatchObject({ ok: true });
    // The loop thread's longest run of CPU without a turn: ~320 ms when all 3,001 leaves and
    // proofs were read in one go, ~110 ms in slices of 256 (the rest is the answer's JSON).
    expect(heldMs).toBeLessThan(200);
    expect((await s.get(`/v1/works/${work}/evidence`)).status).toBe(200);
    expect((await s.get(`/v1/works/${work}/evidence`)).status).toBe(429);
    expect((await s.get(`/v1/entries/0/evidence`)).status).toBe(200); // one entry's bundle is not limited
  }, 120_000);

  it('rate-limits checks per client with 429, apart from submissions', async () => {
    const s = await serverFixture({ checkRateLimit: 2 });
    servers.push(s);
    const body = JSON.stringify({ sha256: '11'.repeat(32), uploader: '22'.repeat(32), use: 'clip', territory: 'FR' });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await s.post('/v1/check', body, 'application/json')).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect((await s.get('/healthz')).status).toBe(200);
  });
});
