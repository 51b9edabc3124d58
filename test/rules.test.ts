/** The rules of DESIGN §4, each accepted and refused, through the real sequencer and store. */
import { describe, expect, it } from 'vitest';
import { auditLedger } from '../src/store/audit.js';
import { parseVerifierKey } from '../src/core/checkpoint.js';
import { checkUse } from '../src/core/check.js';
import { sha256 } from '../src/core/crypto.js';
import { toHex } from '../src/core/bytes.js';
import { MAX_HELD_LICENCES, STATEMENT_RULES } from '../src/core/statement-rules.js';
import { openLedger } from '../src/store/ledger.js';
import { ledgerFixture, party, stmt, tempDir } from './helpers.js';

const DAY = 86_400_000;

describe('registrations', () => {
  it('refuses the same content again from the same party, naming the work', async () => {
    const f = await ledgerFixture();
    const alice = party();
    const w = await f.work(alice);
    const e = await f.refused(stmt.register(alice, w.file, { title: 'again' }), 'conflict', new RegExp(w.id));
    expect(e).toMatchObject({ info: { work: w.id } });
    await f.ledger.close();
  });

  it('accepts the same content from another party and marks both contested, the earlier first', async () => {
    const f = await ledgerFixture();
    const [alice, mallory] = [party(), party()];
    const w = await f.work(alice);
    const copy = await f.submit(stmt.register(mallory, w.file));
    const first = f.ledger.store.sync.work(w.id)!;
    const second = f.ledger.store.sync.work(copy.id)!;
    expect(first).toMatchObject({ status: 'contested', contest: { by: copy.id, since: second.registeredAt }, owner: alice.id });
    expect(second).toMatchObject({ status: 'contested', contest: { by: w.id, since: second.registeredAt }, owner: mallory.id });
    expect(await f.ledger.store.registrationsOf(toHex(sha256(w.file)))).toEqual([w.id, copy.id]);
    expect(f.ledger.store.sync.content(toHex(sha256(w.file)))).toEqual({ sha256: toHex(sha256(w.file)), first: w.id, count: 2 });
    expect(first.registeredAt).toBeLessThanOrEqual(second.registeredAt);
    await f.ledger.close();
  });

  it('refuses bad payload fields, naming them', async () => {
    const f = await ledgerFixture();
    const alice = party();
    await f.refused(stmt.register(alice, undefined, { title: 'x'.repeat(513) }), 'invalid', /payload\.title/);
    await f.refused(stmt.register(alice, undefined, { sha256: new Uint8Array(31) }), 'invalid', /payload\.sha256/);
    await f.refused(stmt.register(alice, undefined, { extra: 1 }), 'invalid', /extra/);
    await f.refused(stmt.register(alice, undefined, { mediaType: 'not a type' }), 'invalid', /mediaType/);
    await f.ledger.close();
  });
});

describe('transfers', () => {
  it('lets the owner transfer, and refuses a non-owner and the old owner afterwards', async () => {
    const f = await ledgerFixture();
    const [alice, bob, carol] = [party(), party(), party()];
    const w = await f.work(alice);
    await f.refused(stmt.transfer(bob, w.id, carol.id), 'unauthorised', /only the owner/);
    await f.submit(stmt.transfer(alice, w.id, bob.id));
    expect(f.ledger.store.sync.work(w.id)?.owner).toBe(bob.id);
    await f.refused(stmt.transfer(alice, w.id, carol.id, { issuedAt: Date.now() + 1 }), 'unauthorised');
    await f.refused(stmt.transfer(bob, w.id, bob.id), 'conflict', /already belongs/);
    await f.refused(stmt.transfer(bob, toHex(sha256(new Uint8Array([9]))), carol.id), 'not-found', /is not in the ledger/);
    await f.ledger.close();
  });

  it('replaying a transfer after the work moved on is idempotent, never applied twice', async () => {
    const f = await ledgerFixture();
    const [alice, bob, carol] = [party(), party(), party()];
    const w = await f.work(alice);
    const toBob = stmt.transfer(alice, w.id, bob.id);
    const first = await f.submit(toBob);
    await f.submit(stmt.transfer(bob, w.id, carol.id));
    const again = await f.ledger.sequencer.submit(toBob);
    expect(again).toMatchObject({ repeat: true, receipt: first });
    expect(f.ledger.store.sync.work(w.id)?.owner).toBe(carol.id);
    await f.ledger.close();
  });

  it('100 races of two concurrent transfers append exactly one each, consistent with a full replay', async () => {
    const f = await ledgerFixture();
    const alice = party();
    for (let i = 0; i < 100; i++) {
      const w = await f.work(alice);
      const [b, c] = [party(), party()];
      const results = await Promise.allSettled([f.submit(stmt.transfer(alice, w.id, b.id)), f.submit(stmt.transfer(alice, w.id, c.id))]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect([b.id, c.id]).toContain(f.ledger.store.sync.work(w.id)?.owner);
    }
    const audit = await auditLedger(f.ledger.store, parseVerifierKey(f.ledger.sequencer.verifierKey));
    expect(audit).toMatchObject({ ok: true, size: 200 });
    await f.ledger.close();
  });
});

describe('parties named by a statement (rules 2)', () => {
  it('refuses to hand title, a licence or an accreditation to a key of small order, under which anyone could act', async () => {
    const registrar = party();
    const f = await ledgerFixture({ registrar: registrar.id });
    const alice = party();
    const w = await f.work(alice);
    const identity = '01' + '00'.repeat(31);
    await f.refused(stmt.transfer(alice, w.id, identity), 'invalid', /payload\.to: not a usable Ed25519 public key/);
    await f.refused(stmt.license(alice, w.id, identity), 'invalid', /payload\.licensee: not a usable Ed25519 public key/);
    await f.refused(stmt.accredit(registrar, identity), 'invalid', /payload\.mediator: not a usable Ed25519 public key/);
    await f.submit(stmt.transfer(alice, w.id, party().id));
    await f.ledger.close();
  });
});

describe('licences', () => {
  it('lets one licensee hold at most 256 licences of one work from rules 2; a ledger that took more before keeps them and audits clean', async () => {
    const f = await ledgerFixture();
    const [alice, bob] = [party(), party()];
    const w = await f.work(alice);
    await Promise.all(Array.from({ length: MAX_HELD_LICENCES }, (_, i) => f.submit(stmt.license(alice, w.id, bob.id, { terms: `n${i}` }))));
    expect(f.ledger.store.sync.licencesHeld(w.id, bob.id)).toHaveLength(256);
    await f.refused(stmt.license(alice, w.id, bob.id, { terms: 'one more' }), 'conflict', /already holds 256 licences of work/);
    await f.submit(stmt.license(alice, w.id, party().id)); // another licensee is not held back
    await f.ledger.close();

    // Under rules 1 (every entry sequenced before rules 2 took effect) the 257th was taken: a replay judges it by its time.
    const before = (STATEMENT_RULES.find((r) => r.version === 2) as { from: number }).from - 60_000;
    const dir = await tempDir();
    const old = await openLedger({ dataDir: `${dir}/data`, keysDir: `${dir}/keys` }, { clock: () => before });
    const work = (await old.sequencer.submit(stmt.register(alice, undefined, { issuedAt: before }))).receipt.id;
    await Promise.all(Array.from({ length: MAX_HELD_LICENCES + 1 }, (_, i) => old.sequencer.submit(stmt.license(alice, work, bob.id, { issuedAt: before, terms: `n${i}` }))));
    expect(old.store.sync.licencesHeld(work, bob.id)).toHaveLength(257);
    expect(await auditLedger(old.store, parseVerifierKey(old.sequencer.verifierKey))).toMatchObject({ ok: true });
    await old.close();
  });

  it('lets only the current owner license; a grantor who transferred the work away cannot', async () => {
    const f = await ledgerFixture();
    const [alice, bob, carol] = [party(), party(), party()];
    const w = await f.work(alice);
    await f.refused(stmt.license(bob, w.id, carol.id), 'unauthorised', /only the owner/);
    await f.submit(stmt.license(alice, w.id, carol.id));
    await f.submit(stmt.transfer(alice, w.id, bob.id));
    await f.refused(stmt.license(alice, w.id, carol.id, { uses: ['stream'] }), 'unauthorised');
    await f.submit(stmt.license(bob, w.id, carol.id, { uses: ['stream'] }));
    await f.ledger.close();
  });

  it('refuses overlapping exclusives and accepts the non-overlapping cases', async () => {
    const f = await ledgerFixture();
    const [alice, bob, carol] = [party(), party(), party()];
    const w = await f.work(alice);
    const t0 = Date.now();
    const fr = await f.submit(stmt.license(alice, w.id, bob.id, { exclusive: true, territories: ['FR'], uses: ['stream'], validFrom: t0, validUntil: t0 + 30 * DAY }));
    // overlap in use, territory and time: refused, whoever the licensee, exclusive or not
    await f.refused(stmt.license(alice, w.id, carol.id, { territories: ['FR'], uses: ['stream', 'clip'], validFrom: t0 }), 'conflict', new RegExp(fr.id));
    await f.refused(stmt.license(alice, w.id, carol.id, { territories: ['*'], uses: ['stream'], exclusive: true, validFrom: t0 }), 'conflict');
    // disjoint territory, use, or time: accepted
    await f.submit(stmt.license(alice, w.id, carol.id, { territories: ['DE'], uses: ['stream'], exclusive: true, validFrom: t0 }));
    await f.submit(stmt.license(alice, w.id, carol.id, { territories: ['FR'], uses: ['clip'], validFrom: t0 }));
    await f.submit(stmt.license(alice, w.id, carol.id, { territories: ['FR'], uses: ['stream'], validFrom: t0 + 30 * DAY }));
    // a new exclusive may not overlap an existing non-exclusive one either
    await f.refused(stmt.license(alice, w.id, bob.id, { territories: ['FR'], uses: ['clip'], exclusive: true, validFrom: t0 }), 'conflict', /this licence is exclusive/);
    // once the exclusive is revoked, the overlapping grant goes through
    await f.submit(stmt.revoke(alice, fr.id));
    await f.submit(stmt.license(alice, w.id, carol.id, { territories: ['FR'], uses: ['stream'], validFrom: t0 }));
    await f.ledger.close();
  });

  it('sublicences: only under a sublicensable parent, by its licensee, inside its scope; they end with it', async () => {
    const f = await ledgerFixture();
    const [alice, bob, carol, dave] = [party(), party(), party(), party()];
    const w = await f.work(alice);
    const t0 = Date.now();
    const scope = { territories: ['FR', 'BE'], uses: ['stream', 'clip'], validFrom: t0, validUntil: t0 + 10 * DAY };
    const plain = await f.submit(stmt.license(alice, w.id, dave.id, { territories: ['US'], uses: ['clip'] }));
    const parent = await f.submit(stmt.license(alice, w.id, bob.id, { ...scope, exclusive: true, sublicensable: true }));
    const p = Uint8Array.from(Buffer.from(parent.id, 'hex'));
    await f.refused(stmt.license(dave, w.id, carol.id, { territories: ['US'], uses: ['clip'], parent: Uint8Array.from(Buffer.from(plain.id, 'hex')) }), 'unauthorised', /not sublicensable/);
    await f.refused(stmt.license(carol, w.id, dave.id, { ...scope, parent: p }), 'unauthorised', /not its licensee/);
    await f.refused(stmt.license(bob, w.id, carol.id, { ...scope, territories: ['FR', 'DE'], parent: p }), 'invalid', /territories DE/);
    await f.refused(stmt.license(bob, w.id, carol.id, { ...scope, uses: ['download'], parent: p }), 'invalid', /uses download/);
    await f.refused(stmt.license(bob, w.id, carol.id, { ...scope, validUntil: t0 + 11 * DAY, parent: p }), 'invalid', /ends after/);
    // inside the exclusive parent: allowed despite the exclusivity
    const sub = await f.submit(stmt.license(bob, w.id, carol.id, { ...scope, territories: ['FR'], parent: p }));
    const at = t0 + DAY;
    const check = (q: Partial<Parameters<typeof checkUse>[1]>) =>
      checkUse(f.ledger.store.sync, { sha256: toHex(sha256(w.file)), uploader: carol.id, use: 'stream', territory: 'FR', at, ...q });
    expect(check({})).toMatchObject({ verdict: 'licensed', licence: { id: sub.id } });
    // revoking the parent ends the sublicence
    await f.refused(stmt.revoke(bob, parent.id), 'unauthorised', /only the owner of work/);
    // a sublicence is its grantor's to revoke, not the owner's
    await f.refused(stmt.revoke(alice, sub.id), 'unauthorised', /only the grantor of licence/);
    await f.submit(stmt.revoke(alice, parent.id));
    expect(check({ at: Date.now() + 1000 })).toMatchObject({ verdict: 'unlicensed', reasons: [{ licence: sub.id, reason: 'parent-ended' }] });
    await f.refused(stmt.license(bob, w.id, carol.id, { ...scope, territories: ['BE'], parent: p }), 'unauthorised', /revoked/);
    await f.ledger.close();
  });

  it('revocation: licences survive a transfer, and from rules 3 the owner of the title revokes them, not the seller; only once, of a licence that exists', async () => {
    const f = await ledgerFixture();
    const [alice, bob, carol] = [party(), party(), party()];
    const w = await f.work(alice);
    const lic = await f.submit(stmt.license(alice, w.id, carol.id));
    await f.submit(stmt.transfer(alice, w.id, bob.id));
    expect(f.ledger.store.sync.licence(lic.id)?.revokedAt).toBeNull();
    // (a seller could revoke the licences on the work it sold, and the buyer none of them)
    await f.refused(stmt.revoke(alice, lic.id), 'unauthorised', /only the owner of work .* \(its grantor has since transferred the work\)/);
    await f.refused(stmt.revoke(carol, lic.id), 'unauthorised');
    await f.refused(stmt.revoke(bob, toHex(sha256(new Uint8Array([1])))), 'not-found', /licence/);
    await f.submit(stmt.revoke(bob, lic.id));
    await f.refused(stmt.revoke(bob, lic.id, { reason: 'again' }), 'conflict', /already revoked/);
    await f.ledger.close();

    // Before rules 3 the seller revoked: a ledger that took such a revocation replays it as taken.
    const before = (STATEMENT_RULES.find((r) => r.version === 3) as { from: number }).from - 60_000;
    const dir = await tempDir();
    const old = await openLedger({ dataDir: `${dir}/data`, keysDir: `${dir}/keys` }, { clock: () => before });
    const at = { issuedAt: before };
    const work = (await old.sequencer.submit(stmt.register(alice, undefined, at))).receipt.id;
    const granted = (await old.sequencer.submit(stmt.license(alice, work, carol.id, at))).receipt.id;
    await old.sequencer.submit(stmt.transfer(alice, work, bob.id, at));
    await old.sequencer.submit(stmt.revoke(alice, granted, at));
    expect(old.store.sync.licence(granted)?.revokedAt).toBe(before);
    expect(await auditLedger(old.store, parseVerifierKey(old.sequencer.verifierKey))).toMatchObject({ ok: true });
    await old.close();
  });
});

describe('pre-publish check', () => {
  it('gives each verdict and each reason', async () => {
    const f = await ledgerFixture();
    const [alice, bob, mallory] = [party(), party(), party()];
    const w = await f.work(alice);
    const sha = toHex(sha256(w.file));
    const t0 = Date.now();
    const q = (uploader: string, extra: Record<string, unknown> = {}) =>
      checkUse(f.ledger.store.sync, { sha256: sha, uploader, use: 'clip', territory: 'FR', at: t0 + DAY, ...extra });

    expect(q(bob.id, { sha256: toHex(sha256(new Uint8Array([7]))) }).verdict).toBe('unregistered');
    expect(q(alice.id).verdict).toBe('owner');
    expect(q(bob.id)).toMatchObject({ verdict: 'unlicensed', reasons: [{ licence: null, reason: 'no-licence' }] });

    const clip = await f.submit(stmt.license(alice, w.id, bob.id, { uses: ['clip'], territories: ['FR'], validFrom: t0, validUntil: t0 + 7 * DAY }));
    expect(q(bob.id)).toMatchObject({ verdict: 'licensed', licence: { id: clip.id } });
    expect(q(bob.id, { use: 'compilation' })).toMatchObject({ verdict: 'unlicensed', reasons: [{ reason: 'wrong-use' }] });
    expect(q(bob.id, { territory: 'US' })).toMatchObject({ verdict: 'unlicensed', reasons: [{ reason: 'wrong-territory' }] });
    expect(q(bob.id, { at: t0 + 8 * DAY })).toMatchObject({ verdict: 'unlicensed', reasons: [{ reason: 'expired' }] });
    const later = await f.submit(stmt.license(alice, w.id, bob.id, { uses: ['recap'], territories: ['FR'], validFrom: t0 + 10 * DAY }));
    expect(q(bob.id, { use: 'recap' })).toMatchObject({ verdict: 'unlicensed', reasons: expect.arrayContaining([{ licence: later.id, reason: 'not-yet-valid' }]) });
    await f.submit(stmt.revoke(alice, clip.id));
    expect(q(bob.id, { at: Date.now() + 1 })).toMatchObject({
      verdict: 'unlicensed',
      reasons: [{ licence: clip.id, reason: 'revoked' }, { licence: later.id, reason: 'not-yet-valid' }],
    });

    await f.submit(stmt.register(mallory, w.file));
    expect(q(bob.id).verdict).toBe('contested');
    await f.ledger.close();
  });
});

describe('a check judged at `at` (issue 10.6)', () => {
  const pause = () => new Promise((r) => setTimeout(r, 5));

  it('judges ownership, licences and revocations as they stood then', async () => {
    const f = await ledgerFixture();
    const [alice, bob, carol] = [party(), party(), party()];
    const registered = await f.submit(stmt.register(alice, w0));
    const sha = toHex(sha256(w0));
    const q = (uploader: string, at: number) => checkUse(f.ledger.store.sync, { sha256: sha, uploader, use: 'clip', territory: 'FR', at });
    await pause();
    const granted = await f.submit(stmt.license(alice, registered.id, carol.id));
    await pause();
    const moved = await f.submit(stmt.transfer(alice, registered.id, bob.id));
    await pause();
    const revoked = await f.submit(stmt.revoke(bob, granted.id));

    // Before the work existed, nobody owned it: not even its later owner.
    expect(q(bob.id, registered.time - DAY)).toMatchObject({ verdict: 'unregistered', works: [] });
    expect(q(alice.id, registered.time - 1).verdict).toBe('unregistered');
    // While Alice held title, she was the owner and Bob was not; after the transfer, the reverse.
    expect(q(alice.id, moved.time - 1).verdict).toBe('owner');
    expect(q(bob.id, moved.time - 1).verdict).toBe('unlicensed');
    expect(q(bob.id, moved.time).verdict).toBe('owner');
    expect(q(alice.id, moved.time).verdict).toBe('unlicensed');
    // Carol's licence did not exist before it was granted, stood until revoked, and not after.
    expect(q(carol.id, granted.time - 1)).toMatchObject({ verdict: 'unlicensed', reasons: [{ licence: null, reason: 'no-licence' }] });
    expect(q(carol.id, revoked.time - 1)).toMatchObject({ verdict: 'licensed', licence: { id: granted.id } });
    expect(q(carol.id, revoked.time)).toMatchObject({ verdict: 'unlicensed', reasons: [{ licence: granted.id, reason: 'revoked' }] });
    await f.ledger.close();
  });

  it('a rival registration contests the work only from when it was made', async () => {
    const f = await ledgerFixture();
    const [alice, mallory] = [party(), party()];
    const w = await f.work(alice);
    await pause();
    const copy = await f.submit(stmt.register(mallory, w.file));
    const q = (at: number) => checkUse(f.ledger.store.sync, { sha256: toHex(sha256(w.file)), uploader: alice.id, use: 'clip', territory: 'FR', at }).verdict;
    expect(q(copy.time - 1)).toBe('owner');
    expect(q(copy.time)).toBe('contested');
    await f.ledger.close();
  });

  it('refuses a licence that would start before its grantor held title', async () => {
    const f = await ledgerFixture();
    const [alice, bob, carol] = [party(), party(), party()];
    const w = await f.work(alice);
    await pause();
    const moved = await f.submit(stmt.transfer(alice, w.id, bob.id));
    const e = await f.refused(stmt.license(bob, w.id, carol.id, { validFrom: moved.time - DAY }), 'invalid', /before the signer held title/);
    expect(e).toMatchObject({ field: 'payload.validFrom', info: { ownerSince: moved.time } });
    await f.submit(stmt.license(bob, w.id, carol.id, { validFrom: moved.time }));
    await f.ledger.close();
  });
});

const w0 = new TextEncoder().encode(`a work for the at-time checks ${Math.random()}`);
