/** Disputes (DESIGN §4, issue 14): the registrar, mediators, awards, claims and sightings, through the real sequencer and store. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { parseVerifierKey } from '../src/core/checkpoint.js';
import { checkUse } from '../src/core/check.js';
import { sha256 } from '../src/core/crypto.js';
import { encodeFrames, FINGERPRINT_KIND } from '../src/core/fingerprint.js';
import { titleStatus } from '../src/core/disputes.js';
import { licenceStanding } from '../src/core/rules.js';
import { auditLedger } from '../src/store/audit.js';
import { EvidenceBuilder } from '../src/store/evidence.js';
import { verifyBundle } from '../src/verify/index.js';
import { loadSecretKey } from '../src/store/key-files.js';
import { openLedger } from '../src/store/ledger.js';
import { signStatement } from '../src/core/cose.js';
import { protectedAgainst } from '../src/core/protection.js';
import { content, ledgerFixture, party, stmt, tempDir, type Party } from './helpers.js';

const protectStatement = (owner: Party, work: string) =>
  signStatement({ type: 'protect', issuedAt: Date.now(), work: Uint8Array.from(Buffer.from(work, 'hex')), until: Date.now() + 86_400_000 }, owner);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A ledger whose registrar is a party the test holds, with one accredited mediator. */
async function withMediator() {
  const registrar = party();
  const f = await ledgerFixture({ registrar: registrar.id });
  const mediator = party();
  const accreditation = await f.submit(stmt.accredit(registrar, mediator.id));
  return { f, registrar, mediator, accreditation };
}

const check = (f: Awaited<ReturnType<typeof ledgerFixture>>, file: Uint8Array, uploader: string, use = 'publish') =>
  checkUse(f.ledger.store.sync, { sha256: toHex(sha256(file)), uploader, use, territory: 'FR', at: Date.now() + 1000 }).verdict;

describe('the registrar', () => {
  it('is a key made at keys/registrar.key (0600) by default, fixed at init like the origin, and alone accredits mediators', async () => {
    const f = await ledgerFixture();
    const registrar = await loadSecretKey(`${f.dir}/keys/registrar.key`);
    expect(execFileSync('stat', ['-c', '%a', `${f.dir}/keys/registrar.key`]).toString().trim()).toBe('600');
    expect(f.ledger.registrar).toBe(toHex(registrar.publicKey));
    const [mediator, someone] = [party(), party()];
    await f.refused(stmt.accredit(someone, mediator.id), 'unauthorised', /only the ledger's registrar/);
    await f.refused(stmt.accredit(f.ledger.signer, mediator.id), 'unauthorised', /only the ledger's registrar/); // not even the ledger's own key
    const contested = await f.work(party());
    await f.submit(stmt.register(someone, contested.file));
    await f.refused(stmt.resolve(registrar, contested.id, 'dismiss'), 'unauthorised', /not accredited/); // the registrar accredits, it does not decide
    await f.refused(stmt.accredit(registrar, mediator.id, { until: Date.now() - 1000 }), 'invalid', /payload\.until/);
    await f.submit(stmt.accredit(registrar, mediator.id, { until: Date.now() + 86_400_000 }));
    expect(f.ledger.store.sync.mediator(mediator.id)).toMatchObject({ party: mediator.id, index: 2 });
    await f.ledger.close();
    await expect(openLedger({ dataDir: `${f.dir}/data`, keysDir: `${f.dir}/keys`, registrar: someone.id })).rejects.toThrow(/registrar is .* fixed when the ledger is created/);
    // So is the origin, and the refusal names the store.
    await expect(openLedger({ dataDir: `${f.dir}/data`, keysDir: `${f.dir}/keys`, origin: 'another.example/log' })).rejects.toThrow(/^LevelDB in .*\/data belongs to origin ".+", not "another\.example\/log"$/);
  });

  it('may be named at init, and is then kept without a key being made', async () => {
    const dir = await tempDir();
    const named = party();
    const ledger = await openLedger({ dataDir: `${dir}/data`, keysDir: `${dir}/keys`, registrar: named.id });
    expect(ledger.registrar).toBe(named.id);
    await ledger.close();
    expect(execFileSync('ls', [`${dir}/keys`]).toString()).not.toMatch(/registrar/);
    const again = await openLedger({ dataDir: `${dir}/data`, keysDir: `${dir}/keys` });
    expect(again.registrar).toBe(named.id);
    await again.close();
    await expect(openLedger({ dataDir: `${dir}/x`, keysDir: `${dir}/keys`, registrar: 'bob' })).rejects.toThrow(/64 lowercase hex/);
  });
});

describe('a mediator ends a contest', () => {
  it('awards title: the winner answers as an uncontested owner, the loser is superseded and its licences stop standing', async () => {
    const { f, mediator } = await withMediator();
    const [alice, mallory, bob, carol] = [party(), party(), party(), party()];
    const copy = await f.work(mallory); // mallory registered first, alice contests
    const mine = await f.submit(stmt.register(alice, copy.file));
    await f.submit(protectStatement(mallory, copy.id));
    const loserLicence = await f.submit(stmt.license(mallory, copy.id, bob.id, { uses: ['publish'] }));
    expect(check(f, copy.file, alice.id)).toBe('contested');

    const stranger = party();
    await f.refused(stmt.resolve(stranger, mine.id, 'award', { award: hexOf(mine.id) }), 'unauthorised', /not accredited/);
    await f.refused(stmt.resolve(mediator, mine.id, 'award', { award: hexOf((await f.work(carol)).id) }), 'invalid', /other content/);
    await f.refused(stmt.resolve(mediator, mine.id, 'award'), 'invalid', /payload\.award/);
    const size = f.ledger.sequencer.size;
    const award = await f.submit(stmt.resolve(mediator, mine.id, 'award', { award: hexOf(mine.id), reason: 'earlier drafts shown' }));
    expect(award.index).toBe(size);

    const store = f.ledger.store.sync;
    expect(store.content(toHex(sha256(copy.file)))?.award).toMatchObject({ work: mine.id, decision: 'award', index: award.index, reopened: null });
    expect(titleStatus(store, store.work(mine.id)!)).toBe('registered');
    expect(titleStatus(store, store.work(copy.id)!)).toBe('superseded');
    // the award is stored once, on the content: the loser's record is not rewritten
    expect(store.work(copy.id)).toMatchObject({ owner: mallory.id, status: 'contested', head: loserLicence.index });
    expect(check(f, copy.file, alice.id)).toBe('owner');
    expect(check(f, copy.file, mallory.id)).toBe('unlicensed');
    expect(check(f, copy.file, bob.id)).toBe('unlicensed');
    expect(licenceStanding(store, store.licence(loserLicence.id)!, Date.now() + 1000)).toBe('superseded');
    // a check about the time before the award still answers as things stood then
    expect(checkUse(store, { sha256: toHex(sha256(copy.file)), uploader: alice.id, use: 'publish', territory: 'FR', at: award.time - 1 }).verdict).toBe('contested');

    await f.refused(stmt.license(mallory, copy.id, carol.id), 'conflict', /superseded .* can no longer license/);
    // Rules 2: the loser can no longer protect it, and a window it opened before protects nothing since the award.
    expect(protectedAgainst(store, store.work(copy.id)!, { uploader: carol.id, territory: 'FR', at: award.time - 1 })).toBe(true);
    expect(protectedAgainst(store, store.work(copy.id)!, { uploader: carol.id, territory: 'FR', at: award.time })).toBe(false);
    await f.refused(protectStatement(mallory, copy.id), 'conflict', /superseded .* can no longer protect/);
    await f.refused(stmt.transfer(mallory, copy.id, carol.id), 'conflict', /superseded/);
    await f.refused(stmt.claim(mallory, copy.id), 'conflict', /superseded/);
    await f.refused(stmt.resolve(mediator, mine.id, 'dismiss'), 'conflict', /not contested/);
    await f.submit(stmt.license(alice, mine.id, carol.id, { uses: ['publish'] }));
    expect(check(f, copy.file, carol.id)).toBe('licensed');

    // Another party registering the content again reopens the contest; a dismissal leaves title where it was.
    await f.submit(stmt.register(party(), copy.file));
    expect(check(f, copy.file, alice.id)).toBe('contested');
    await f.submit(stmt.resolve(mediator, copy.id, 'dismiss', { reason: 'nothing new' }));
    expect(check(f, copy.file, alice.id)).toBe('owner');
    expect(store.content(toHex(sha256(copy.file)))?.award).toMatchObject({ work: mine.id, decision: 'dismiss', reopened: null });

    expect(await auditLedger(f.ledger.store, parseVerifierKey(f.ledger.sequencer.verifierKey))).toMatchObject({ ok: true });
    await f.ledger.close();
  });

  it('refuses a mediator whose accreditation ended, one who is a party, and an uncontested work', async () => {
    const registrar = party();
    const f = await ledgerFixture({ registrar: registrar.id });
    const [alice, mallory, mediator] = [party(), party(), party()];
    const w = await f.work(alice);
    const rival = await f.submit(stmt.register(mallory, w.file));
    await f.submit(stmt.accredit(registrar, mediator.id, { until: Date.now() + 300 }));
    await f.submit(stmt.accredit(registrar, alice.id));
    await f.refused(stmt.resolve(alice, w.id, 'award', { award: hexOf(w.id) }), 'unauthorised', /party to/);
    await f.refused(stmt.resolve(alice, rival.id, 'award', { award: hexOf(w.id) }), 'unauthorised', /party to/);
    await f.refused(stmt.resolve(alice, rival.id, 'dismiss'), 'unauthorised', /party to/); // title would stay with alice's
    await f.refused(stmt.resolve(mediator, (await f.work(party())).id, 'dismiss'), 'conflict', /not contested/);
    await sleep(400);
    await f.refused(stmt.resolve(mediator, w.id, 'dismiss'), 'unauthorised', /accreditation as a mediator ended/);
    expect(f.ledger.store.sync.content(toHex(sha256(w.file)))?.award).toBeUndefined();
    await f.ledger.close();
  });
});

describe('claims', () => {
  it('are made by the owner or an exclusive licensee, and closed once by a mediator', async () => {
    const { f, mediator } = await withMediator();
    const [alice, bob, carol] = [party(), party(), party()];
    const w = await f.work(alice);
    await f.refused(stmt.claim(carol, w.id), 'unauthorised', /owner .* or an exclusive licensee/);
    await f.submit(stmt.license(alice, w.id, carol.id)); // not exclusive
    await f.refused(stmt.claim(carol, w.id), 'unauthorised');
    await f.submit(stmt.license(alice, w.id, bob.id, { exclusive: true, uses: ['stream'], territories: ['FR'] }));
    await f.refused(stmt.claim(alice, w.id, { subject: { platform: 'VideoSite' } }), 'invalid', /payload\.subject/);
    await f.refused(stmt.claim(alice, w.id, { capture: { sha256: new Uint8Array(32), mediaType: 'video/webm', size: 1, capturedAt: Date.now() + 3_600_000 } }), 'invalid', /capturedAt/);
    const byOwner = await f.submit(stmt.claim(alice, w.id));
    const byLicensee = await f.submit(stmt.claim(bob, w.id, { text: 'a full re-upload' }));
    const work = f.ledger.store.sync.work(w.id)!;
    expect(work).toMatchObject({ head: byLicensee.index, entries: 5 });
    expect(f.ledger.store.sync.claim(byOwner.id)).toMatchObject({ work: w.id, claimant: alice.id, status: 'open', resolvedIndex: null });

    await f.refused(stmt.resolve(mediator, w.id, 'uphold'), 'invalid', /payload\.claim/);
    await f.refused(stmt.resolve(mediator, (await f.work(party())).id, 'uphold', { claim: hexOf(byOwner.id) }), 'invalid', /is about work/);
    const upheld = await f.submit(stmt.resolve(mediator, w.id, 'uphold', { claim: hexOf(byOwner.id) }));
    await f.refused(stmt.resolve(mediator, w.id, 'settle', { claim: hexOf(byOwner.id) }), 'conflict', /already closed \(upheld\)/);
    await f.submit(stmt.resolve(mediator, w.id, 'settle', { claim: hexOf(byLicensee.id), reason: 'paid' }));
    expect(f.ledger.store.sync.claim(byOwner.id)).toMatchObject({ status: 'upheld', resolvedIndex: upheld.index });
    expect(f.ledger.store.sync.claim(byLicensee.id)).toMatchObject({ status: 'settled' });
    expect(f.ledger.store.sync.resolution(upheld.id)).toMatchObject({ mediator: mediator.id, decision: 'uphold', claim: byOwner.id, award: null, accreditation: 0 });
    expect(check(f, w.file, alice.id)).toBe('owner'); // a claim changes no title
    await f.ledger.close();
  });

  it('are refused to an exclusive sublicensee once a licence above it was revoked (rules 2)', async () => {
    const f = await ledgerFixture();
    const [alice, carol, dave] = [party(), party(), party()];
    const w = await f.work(alice);
    const top = await f.submit(stmt.license(alice, w.id, carol.id, { exclusive: true, sublicensable: true }));
    await f.submit(stmt.license(carol, w.id, dave.id, { exclusive: true, parent: hexOf(top.id) }));
    await f.submit(stmt.claim(dave, w.id));
    await f.submit(stmt.revoke(alice, top.id));
    await f.refused(stmt.claim(dave, w.id, { text: 'after the revocation' }), 'unauthorised', /owner .* or an exclusive licensee/);
    await f.ledger.close();
  });
});

describe('sightings', () => {
  it("are kept out of the work's chain, counted, and listed newest first, a page at a time", async () => {
    const f = await ledgerFixture();
    const [alice, platform] = [party(), party()];
    const w = await f.work(alice);
    await f.refused(stmt.sighting(platform, toHex(sha256(new Uint8Array([1])))), 'not-found', /is not in the ledger/);
    await f.refused(stmt.sighting(platform, w.id, { verdict: 'maybe' }), 'invalid', /payload\.verdict/);
    const seen = [];
    for (let i = 0; i < 5; i++) seen.push((await f.submit(stmt.sighting(platform, w.id, { reference: `post-${i}`, segments: [{ upload: [0, 8000], work: [12000, 20000] }] }))).index);
    const store = f.ledger.store;
    expect(store.sync.work(w.id)).toMatchObject({ entries: 1, head: 0 });
    expect(store.sync.sightings(w.id)).toBe(5);
    const first = await store.sightingsOf(w.id, { limit: 2 });
    expect(first).toEqual([seen[4], seen[3]]);
    expect(await store.sightingsOf(w.id, { limit: 10, before: first[1]! })).toEqual([seen[2], seen[1], seen[0]]);
    expect(await auditLedger(f.ledger.store, parseVerifierKey(f.ledger.sequencer.verifierKey))).toMatchObject({ ok: true });
    await f.ledger.close();
  });
});

describe('evidence of a decision', () => {
  it('replays the accreditation in force at the time, even after it ended, and fails without it', async () => {
    const registrar = party();
    const f = await ledgerFixture({ registrar: registrar.id });
    const [alice, mallory, mediator] = [party(), party(), party()];
    const w = await f.work(alice);
    await f.submit(stmt.register(mallory, w.file));
    const accreditation = await f.submit(stmt.accredit(registrar, mediator.id, { until: Date.now() + 400 }));
    const claimed = await f.submit(stmt.claim(alice, w.id));
    await f.submit(stmt.resolve(mediator, w.id, 'dismiss', { claim: hexOf(claimed.id) }));
    await f.submit(stmt.resolve(mediator, w.id, 'award', { award: hexOf(w.id) }));
    await sleep(500); // the accreditation has ended since: the decisions were made under it all the same
    await f.refused(stmt.resolve(mediator, w.id, 'dismiss'), 'unauthorised', /ended/);
    const builder = new EvidenceBuilder(f.ledger.store, f.ledger.sequencer, f.ledger.signer, f.ledger.origin);
    const bundle = await builder.forWork(w.id);
    expect(bundle.entries.map((e) => e.index)).toContain(accreditation.index);
    const result = verifyBundle(JSON.parse(JSON.stringify(bundle)), f.ledger.sequencer.verifierKey);
    expect(result.failure).toBeUndefined();
    expect(result.resolutions.map((r) => [r.decision, r.accreditation, r.mediator])).toEqual([
      ['dismiss', accreditation.index, mediator.id],
      ['award', accreditation.index, mediator.id],
    ]);
    expect(result.claims).toMatchObject([{ id: claimed.id, status: 'dismissed' }]);

    const without = { ...bundle, entries: bundle.entries.filter((e) => e.index !== accreditation.index) };
    expect(verifyBundle(without, f.ledger.sequencer.verifierKey).failure).toMatchObject({ code: 'rule-refused', detail: expect.stringMatching(/not accredited/) });
    await f.ledger.close();
  });

  // Bob bought Alice's film, then registered his remaster of it: his own film, no rival to
  // it. A replay that had the film's registration but not its sale saw Alice's film, and had
  // the remaster contest it: the check of a copy ruled the remaster's failed offline.
  it("a check's evidence carries the transfer of a lookalike its judged work's registrant owned when registering, and its verdict replays offline", async () => {
    const { f, mediator } = await withMediator();
    const [alice, bob, carol] = [party(), party(), party()];
    const frames = Array.from({ length: 12 }, (_, i) => ({ timeMs: i * 1000, hash: sha256(content('frame')).subarray(0, 16) }));
    const printed = { fingerprints: [{ kind: FINGERPRINT_KIND, value: encodeFrames(frames) }] };
    const film = await f.submit(stmt.register(alice, content('film'), printed));
    const sale = await f.submit(stmt.transfer(alice, film.id, bob.id));
    const remaster = await f.submit(stmt.register(bob, content('remaster'), printed));
    const store = f.ledger.store.sync;
    expect(store.work(remaster.id)).toMatchObject({ contest: null, lookalikes: [] });
    const copyBytes = content('copy');
    const copy = await f.submit(stmt.register(carol, copyBytes, printed));
    expect(store.work(copy.id)).toMatchObject({ contest: { by: film.id }, lookalikes: [film.id, remaster.id] });
    await f.submit(stmt.resolve(mediator, copy.id, 'award', { award: hexOf(remaster.id) }));
    await f.submit(stmt.resolve(mediator, remaster.id, 'dismiss'));

    const builder = new EvidenceBuilder(f.ledger.store, f.ledger.sequencer, f.ledger.signer, f.ledger.origin);
    const { result, bundle } = await builder.forCheck({ sha256: toHex(sha256(copyBytes)), uploader: bob.id, use: 'publish', territory: 'FR', at: Date.now() + 1000 });
    expect(result.verdict).toBe('owner');
    const replayed = verifyBundle(JSON.parse(JSON.stringify(bundle)), f.ledger.sequencer.verifierKey);
    expect(replayed.failure).toBeUndefined();
    expect(replayed).toMatchObject({ ok: true, verdict: 'owner' });
    expect(bundle!.entries.map((e) => e.index)).toContain(sale.index);
    await f.ledger.close();
  });

  // An award on a content gives title to one registration: a registration of it made while
  // the award stands is contested by that one, not by the first. A bundle that carried a
  // later decision but not that award had the replay name the first.
  it("a work's evidence carries the award that stood when it was registered, made on a chain it carries nothing else of, and replays its contest by that award's winner", async () => {
    const { f, mediator } = await withMediator();
    const [alice, bob, carol] = [party(), party(), party()];
    const film = content('film');
    const first = await f.work(alice, film);
    const second = await f.submit(stmt.register(bob, film));
    const earlier = await f.submit(stmt.resolve(mediator, second.id, 'award', { award: hexOf(second.id) }));
    const third = await f.submit(stmt.register(carol, film));
    expect(f.ledger.store.sync.work(third.id)?.contest?.by).toBe(second.id);
    await f.submit(stmt.resolve(mediator, first.id, 'award', { award: hexOf(first.id) }));

    const builder = new EvidenceBuilder(f.ledger.store, f.ledger.sequencer, f.ledger.signer, f.ledger.origin);
    const bundle = await builder.forWork(third.id);
    const replayed = verifyBundle(JSON.parse(JSON.stringify(bundle)), f.ledger.sequencer.verifierKey);
    expect(replayed.failure).toBeUndefined();
    expect(replayed.works.find((w) => w.id === third.id)).toMatchObject({ status: 'superseded', contest: { by: second.id } });
    expect(bundle.entries.map((e) => e.index)).toContain(earlier.index);
    await f.ledger.close();
  });

  // A dismissal leaves title where the decision before it had put it: a bundle that carried
  // the dismissal but not that decision had the replay leave title with the first registration.
  it("a work's evidence carries the award a later dismissal kept title with, made on a chain it carries nothing else of, and replays the same holder", async () => {
    const { f, mediator } = await withMediator();
    const [alice, bob, carol, dave] = [party(), party(), party(), party()];
    const film = content('film');
    const first = await f.work(alice, film);
    const second = await f.submit(stmt.register(bob, film));
    await f.submit(stmt.resolve(mediator, first.id, 'dismiss'));
    const third = await f.submit(stmt.register(carol, film));
    const award = await f.submit(stmt.resolve(mediator, third.id, 'award', { award: hexOf(second.id) }));
    await f.submit(stmt.register(dave, film));
    await f.submit(stmt.resolve(mediator, second.id, 'dismiss'));
    expect(f.ledger.store.sync.content(toHex(sha256(film)))?.award).toMatchObject({ work: second.id, decision: 'dismiss' });

    const builder = new EvidenceBuilder(f.ledger.store, f.ledger.sequencer, f.ledger.signer, f.ledger.origin);
    const bundle = await builder.forWork(first.id);
    const replayed = verifyBundle(JSON.parse(JSON.stringify(bundle)), f.ledger.sequencer.verifierKey);
    expect(replayed.failure).toBeUndefined();
    expect(replayed.works.find((w) => w.id === first.id)).toMatchObject({ status: 'superseded', award: { work: second.id, decision: 'dismiss' } });
    expect(bundle.entries.map((e) => e.index)).toContain(award.index);
    await f.ledger.close();
  });

  // Each history is drawn from its seed: who registers which of three lookalike contents, who
  // transfers what to whom, and what a mediator decides on which registration (refusals are
  // part of it). Every work's bundle and every party's check of each content must replay.
  it("every work's and every check's evidence verifies offline after 12 seeded histories of 30 steps: registrations of three lookalike contents, transfers, awards, lookalike rulings, dismissals", async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const draw = seeded(seed);
      const { f, mediator } = await withMediator();
      const frames = Array.from({ length: 12 }, (_, i) => ({ timeMs: i * 1000, hash: sha256(content('frame')).subarray(0, 16) }));
      const printed = { fingerprints: [{ kind: FINGERPRINT_KIND, value: encodeFrames(frames) }] };
      const files = [content('A'), content('B'), content('C')];
      const parties = Array.from({ length: 5 }, () => party());
      const works: Array<{ id: string; owner: number }> = [];
      const story: string[] = [];
      for (let step = 0; step < 30; step++) {
        const move = draw(10);
        const done = await (async () => {
          if (works.length < 2 || move < 4) {
            const [owner, file] = [draw(parties.length), draw(files.length)];
            works.push({ id: (await f.submit(stmt.register(parties[owner]!, files[file]!, printed))).id, owner });
            return `P${owner} registers W${works.length} (${'ABC'[file]})`;
          }
          if (move < 6) {
            const [w, to] = [draw(works.length), draw(parties.length)];
            await f.submit(stmt.transfer(parties[works[w]!.owner]!, works[w]!.id, parties[to]!.id));
            works[w]!.owner = to;
            return `W${w + 1} to P${to}`;
          }
          const [on, holder, dismiss] = [draw(works.length), draw(works.length), draw(3) === 0];
          await f.submit(stmt.resolve(mediator, works[on]!.id, dismiss ? 'dismiss' : 'award', dismiss ? {} : { award: hexOf(works[holder]!.id) }));
          return dismiss ? `dismissal on W${on + 1}` : `award on W${on + 1} to W${holder + 1}`;
        })().catch(() => null);
        if (done) story.push(done);
      }
      const builder = new EvidenceBuilder(f.ledger.store, f.ledger.sequencer, f.ledger.signer, f.ledger.origin);
      const key = f.ledger.sequencer.verifierKey;
      for (const [i, w] of works.entries()) {
        expect(verifyBundle(JSON.parse(JSON.stringify(await builder.forWork(w.id))), key).failure, `W${i + 1}'s bundle, seed ${seed}: ${story.join(', ')}`).toBeUndefined();
      }
      for (const [i, file] of files.entries()) {
        for (const [p, uploader] of parties.entries()) {
          const { bundle } = await builder.forCheck({ sha256: toHex(sha256(file)), uploader: uploader.id, use: 'publish', territory: 'FR', at: Date.now() + 1000 });
          if (bundle) expect(verifyBundle(JSON.parse(JSON.stringify(bundle)), key).failure, `P${p}'s check of ${'ABC'[i]}, seed ${seed}: ${story.join(', ')}`).toBeUndefined();
        }
      }
      await f.ledger.close();
    }
  }, 60_000);
});

const hexOf = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

/** Numbers below `n` drawn from a seed (mulberry32): the same seed draws the same history. */
function seeded(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}
