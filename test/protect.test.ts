/** Protection windows (DESIGN §4 `protect`, issue 13.5) on a real server: weak evidence blocks whoever may not use the work. */
import { afterEach, describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { parseVerifierKey } from '../src/core/checkpoint.js';
import { signStatement } from '../src/core/cose.js';
import { sha256 } from '../src/core/crypto.js';
import { auditLedger } from '../src/store/audit.js';
import { content, hexBytes, party, stmt, type Party } from './helpers.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';

let servers: ServerFixture[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

const protect = (signer: Party, work: string, until: number, extra: Record<string, unknown> = {}) =>
  signStatement({ type: 'protect', issuedAt: Date.now(), work: hexBytes(work), until, ...extra }, signer);

describe('a protection window', () => {
  it("opened on junk filed under another's title does not block that title's owner uploading her own work", async () => {
    const s = await serverFixture();
    servers.push(s);
    const [alice, mallory, bob] = [party(), party(), party()];
    const film = content();
    await s.submit(stmt.register(alice, film, { title: 'Moonlight Harbour' }));
    const junk = ((await (await s.submit(stmt.register(mallory, content(), { title: 'Moonlight Harbour' }))).json()) as { id: string }).id;
    expect((await s.submit(protect(mallory, junk, Date.now() + 86_400_000))).status).toBe(201);
    const check = async (uploader: Party, file: Uint8Array) =>
      (await (await s.post('/v1/check', JSON.stringify({ sha256: toHex(sha256(file)), uploader: uploader.id, use: 'publish', territory: 'FR', title: 'Moonlight Harbour' }), 'application/json')).json()) as { verdict: string; protected: unknown[] };
    // Alice's upload is her registered film, byte for byte: the title names it too, not only the junk.
    expect(await check(alice, film)).toMatchObject({ verdict: 'owner', protected: [] });
    // An upload nothing identifies is still held back by the window, as the title is all there is to go on.
    expect(await check(bob, content())).toMatchObject({ verdict: 'unlicensed', protected: [{ work: junk }] });
  });


  it('turns a title match into unlicensed for a stranger, not for the owner or a licensee, and only while it lasts', async () => {
    const s = await serverFixture();
    servers.push(s);
    const [alice, bob, carol] = [party(), party(), party()];
    const work = ((await (await s.submit(stmt.register(alice, content(), { title: 'Moonlight Harbour' }))).json()) as { id: string }).id;
    const check = async (uploader: Party, extra: Record<string, unknown> = {}) => {
      const res = await s.post('/v1/check', JSON.stringify({ sha256: toHex(sha256(content())), uploader: uploader.id, use: 'clip', territory: 'FR', title: '《Moonlight Harbour》3分钟看完', ...extra }), 'application/json');
      expect(res.status).toBe(200);
      return (await res.json()) as { verdict: string; protected: Array<{ work: string; until: number }>; titles: Array<{ work: { id: string } }> };
    };
    const before = await check(bob);
    expect(before).toMatchObject({ verdict: 'unregistered', protected: [] });
    expect(before.titles.map((t) => t.work.id)).toEqual([work]);
    const beforeProtection = Date.now() - 1;

    // Only the owner protects, and only into the future; refusals change nothing.
    expect((await s.submit(protect(bob, work, Date.now() + 86_400_000))).status).toBe(403);
    expect((await s.submit(protect(alice, work, Date.now() - 1))).status).toBe(400);
    const until = Date.now() + 30 * 86_400_000;
    expect((await s.submit(protect(alice, work, until, { territories: ['FR', 'DE'] }))).status).toBe(201);

    expect(await check(bob)).toMatchObject({ verdict: 'unlicensed', protected: [{ work, until }] });
    expect(await check(bob, { territory: 'US' })).toMatchObject({ verdict: 'unregistered', protected: [] });
    expect(await check(bob, { at: beforeProtection })).toMatchObject({ verdict: 'unregistered', protected: [] });
    expect(await check(bob, { at: until })).toMatchObject({ protected: [] });
    expect(await check(alice)).toMatchObject({ protected: [] });
    // A licensee is not blocked by the window (the licence's own scope decides a real match).
    expect((await s.submit(stmt.license(alice, work, carol.id, { uses: ['clip'], territories: ['FR'] }))).status).toBe(201);
    expect(await check(carol)).toMatchObject({ verdict: 'unregistered', protected: [] });

    // The protect entry is in the work's chain: audit replays it.
    const audit = await auditLedger(s.ledger.store, parseVerifierKey(s.verifierKey));
    expect(audit).toMatchObject({ ok: true });
    expect(s.ledger.store.sync.work(work)?.protection).toMatchObject({ until, territories: ['FR', 'DE'] });
  });
});
