/** 50 clients racing on the same works: the served state is what a replay gives, and exclusivity holds. */
import { afterAll, describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../src/core/checkpoint.js';
import { auditLedger } from '../src/store/audit.js';
import { race } from '../scripts/lib/races.js';
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
