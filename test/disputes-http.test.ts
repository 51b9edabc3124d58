/** The dispute story of issue 14 on a real server: contest, claim, accreditation, award, sightings; audited and verified offline. */
import { afterEach, describe, expect, it } from 'vitest';
import { fromBase64, toBase64, toHex } from '../src/core/bytes.js';
import { decodeCbor } from '../src/core/cbor.js';
import { parseVerifierKey } from '../src/core/checkpoint.js';
import { signStatement } from '../src/core/cose.js';
import { sha256 } from '../src/core/crypto.js';
import { encodeFrames, FINGERPRINT_KIND } from '../src/core/fingerprint.js';
import { auditLedger } from '../src/store/audit.js';
import { loadSecretKey } from '../src/store/key-files.js';
import { verifyBundle, type EvidenceBundle } from '../src/verify/index.js';
import { readFile, writeFile } from 'node:fs/promises';
import { runCli } from '../scripts/lib/child-server.js';
import { titleStatusText } from '../src/verify/timeline.js';
import { content, party, stmt, tempDir } from './helpers.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';

let servers: ServerFixture[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

const json = async <T = Record<string, unknown>>(res: Response | Promise<Response>): Promise<T> => (await (await res).json()) as T;
const hexOf = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

describe('disputes over HTTP', () => {
  it('contest → claim → accreditation → award → checks, licences, sightings; every step audited and verified offline', async () => {
    const s = await serverFixture();
    servers.push(s);
    const registrar = await loadSecretKey(`${s.dir}/keys/registrar.key`);
    const [alice, mallory, bob, mediator, forger, platform] = [party(), party(), party(), party(), party(), party()];
    expect(await json(s.get('/v1/log'))).toMatchObject({ registrar: toHex(registrar.publicKey) });
    await s.submit(stmt.party(platform, 'VideoSite'));
    await s.submit(stmt.party(mediator, 'Mediation Centre'));

    // Two registrations of one content: contested.
    const film = content('film');
    const sha = toHex(sha256(film));
    const early = await json<{ id: string }>(s.submit(stmt.register(mallory, film, { title: 'Stolen' })));
    const late = await json<{ id: string }>(s.submit(stmt.register(alice, film, { title: 'My film' })));
    const malloryLicence = await json<{ id: string }>(s.submit(stmt.license(mallory, early.id, bob.id, { uses: ['publish'] })));
    const ask = (uploader: string, extra: Record<string, unknown> = {}) =>
      json<{ verdict: string; evidence: EvidenceBundle | null; sighting: { payload: Record<string, unknown>; cbor: string } | null }>(
        s.post('/v1/check', JSON.stringify({ sha256: sha, uploader, use: 'publish', territory: 'FR', ...extra }), 'application/json'),
      );
    expect((await ask(alice.id)).verdict).toBe('contested');

    // Alice claims an infringement with the hash of her screen recording.
    const claim = await s.submit(stmt.claim(alice, late.id, { subject: { url: 'https://video.example/v/1', platform: 'VideoSite', reference: 'v1' } }));
    expect(claim.status).toBe(201);
    const claimId = ((await claim.json()) as { id: string }).id;
    const notOwner = await s.submit(stmt.claim(bob, late.id));
    expect(notOwner.status).toBe(403);

    // A resolve before any accreditation, and one by a forger, are refused and change nothing.
    const size = (await json<{ size: number }>(s.get('/v1/log'))).size;
    const forged = await s.submit(stmt.resolve(forger, late.id, 'award', { award: hexOf(late.id) }));
    expect(forged.status).toBe(403);
    expect(forged.headers.get('content-type')).toMatch(/problem\+json/);
    expect(((await forged.json()) as { detail: string }).detail).toMatch(/not accredited/);
    expect((await s.submit(stmt.accredit(forger, forger.id))).status).toBe(403);
    expect((await json<{ size: number }>(s.get('/v1/log'))).size).toBe(size);

    // The registrar accredits the mediator, who awards title to Alice's registration.
    expect((await s.submit(stmt.accredit(registrar, mediator.id, { until: Date.now() + 86_400_000 }))).status).toBe(201);
    expect(await json(s.get(`/v1/parties/${mediator.id}`))).toMatchObject({ profile: { name: 'Mediation Centre' }, accreditation: { until: expect.any(Number) } });
    const other = await json<{ id: string }>(s.submit(stmt.register(party())));
    const wrong = await s.submit(stmt.resolve(mediator, late.id, 'award', { award: hexOf(other.id) }));
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { detail: string }).detail).toMatch(/other content/);
    expect((await s.submit(stmt.resolve(mediator, late.id, 'award', { award: hexOf(late.id), reason: 'drafts predate the other registration' }))).status).toBe(201);
    expect((await s.submit(stmt.resolve(mediator, late.id, 'uphold', { claim: hexOf(claimId) }))).status).toBe(201);

    // Checks answer as for an uncontested work: owner for the winner, not for the loser.
    const winner = await ask(alice.id);
    expect(winner.verdict).toBe('owner');
    expect(verifyBundle(winner.evidence, s.verifierKey)).toMatchObject({ ok: true, verdict: 'owner' });
    expect((await ask(mallory.id)).verdict).toBe('unlicensed');
    expect((await ask(bob.id)).verdict).toBe('unlicensed');
    expect(await json(s.get(`/v1/works/${early.id}`))).toMatchObject({ status: 'superseded', owner: mallory.id, award: { work: late.id, decision: 'award' } });
    expect(await json(s.get(`/v1/works/${late.id}`))).toMatchObject({ status: 'registered', owner: alice.id });
    expect(await json(s.get(`/v1/works?sha256=${sha}`))).toMatchObject([
      { id: early.id, status: 'superseded' },
      { id: late.id, status: 'registered', award: { work: late.id } },
    ]);
    expect(await json(s.get(`/v1/works/${early.id}/licences`))).toMatchObject({ licences: [{ id: malloryLicence.id, standing: 'superseded' }] });
    expect((await s.submit(stmt.license(mallory, early.id, party().id))).status).toBe(409);

    // A platform's check with a report gets a sighting to sign; it submits it with its own key.
    const sightings: number[] = [];
    for (const ref of ['post-1', 'post-2', 'post-3']) {
      const answer = await ask(bob.id, { report: ref });
      expect(answer.sighting?.payload).toMatchObject({ type: 'sighting', work: late.id, reference: ref, uploader: bob.id, verdict: 'unlicensed', sha256: sha });
      const payload = decodeCbor(fromBase64(answer.sighting!.cbor, 'cbor'), { maxBytes: 16384 }) as Record<string, unknown>;
      const receipt = await json<{ index: number }>(s.submit(signStatement(payload, platform)));
      sightings.push(receipt.index);
    }
    expect((await ask(alice.id, { report: 'post-4' })).sighting).toBeNull(); // a positive verdict is no sighting
    const page1 = await json<{ count: number; sightings: Array<{ index: number; platform: string; payload: { reference: string } }>; next: number }>(s.get(`/v1/works/${late.id}/sightings?limit=2`));
    expect(page1).toMatchObject({ count: 3, next: sightings[1] });
    expect(page1.sightings.map((x) => [x.index, x.platform, x.payload.reference])).toEqual([
      [sightings[2], 'VideoSite', 'post-3'],
      [sightings[1], 'VideoSite', 'post-2'],
    ]);
    const page2 = await json<{ sightings: Array<{ index: number }>; next: number | null }>(s.get(`/v1/works/${late.id}/sightings?limit=2&before=${page1.next}`));
    expect(page2).toMatchObject({ sightings: [{ index: sightings[0] }], next: null });
    // A mediator reads them from the command line, newest first, a page at a time.
    const listed = await runCli(['sightings', late.id, '--limit', '2', '--server', s.url]);
    expect(listed.code, listed.output).toBe(0);
    expect(listed.output).toContain(`work ${late.id}: 3 sightings by platforms, newest first`);
    expect(listed.output).toMatch(new RegExp(`#${sightings[2]}  \\S+Z  by "VideoSite" \\([0-9a-f]{12}…\\): "post-3", uploaded by ${bob.id}, answered unlicensed`));
    expect(listed.output).toContain(`more: --before ${sightings[1]}`);
    expect((await s.get(`/v1/works/${late.id}/sightings?before=x`)).status).toBe(400);
    expect((await s.get(`/v1/works/${'0'.repeat(64)}/sightings`)).status).toBe(404);
    expect((await s.submit(stmt.sighting(platform, '1'.repeat(64)))).status).toBe(404);

    // The evidence of both works replays the claim, the accreditation and the award offline.
    for (const [id, status] of [[late.id, 'registered'], [early.id, 'superseded']] as const) {
      const bundle = await json<EvidenceBundle>(s.get(`/v1/works/${id}/evidence`));
      const result = verifyBundle(bundle, s.verifierKey);
      expect(result.failure).toBeUndefined();
      // (the loser's bundle holds the winner's chain too: the award is replayed on it)
      expect(result.resolutions.map((r) => [r.mediator, r.decision, r.award])).toEqual([
        [mediator.id, 'award', late.id],
        [mediator.id, 'uphold', null],
      ]);
      expect(result.holds.join('\n')).toMatch(new RegExp(`mediator ${mediator.id}, accredited by the registrar at entry \\d+, decided award: title to work ${late.id}`));
      expect(bundle.claims.works[0]).toMatchObject({ id, status });
      // A bundle that names another registrar cannot stand: the ledger attested the real one.
      const forgedRegistrar = { ...bundle, claims: { ...bundle.claims, registrar: forger.id } };
      expect(verifyBundle(forgedRegistrar, s.verifierKey).failure?.code).toBe('bad-attestation');
    }
    const winnerBundle = verifyBundle(await json(s.get(`/v1/works/${late.id}/evidence`)), s.verifierKey);
    expect(winnerBundle.claims).toMatchObject([{ id: claimId, status: 'upheld' }]);

    // What the bundles prove says what the award made of each work and licence, as the server
    // does: the verifier, its certificate and the CLI read the record's contest as if still
    // open (the loser "contested", Mallory's licence to Bob "standing").
    const loser = verifyBundle(await json(s.get(`/v1/works/${early.id}/evidence`)), s.verifierKey, { about: { work: early.id }, standingAt: Date.now() });
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(loser.works.find((w) => w.id === early.id)).toMatchObject({ status: 'superseded', award: { work: late.id, decision: 'award' } });
    expect(loser.licences).toMatchObject([{ id: malloryLicence.id, standing: 'superseded' }]);
    expect(titleStatusText(loser.works.find((w) => w.id === early.id)!, iso, (id) => id)).toMatch(new RegExp(`^superseded: a mediator's award \\(entry #\\d+, .*Z\\) gave title to the registration ${late.id}$`));
    expect(titleStatusText(winnerBundle.works.find((w) => w.id === late.id)!, iso)).toMatch(/^registered: a mediator awarded it title \(entry #\d+, /);
    const dir = await tempDir();
    const certified = await runCli(['certificate', early.id, '--out', `${dir}/loser.html`, '--ledger-key', s.verifierKey, '--server', s.url]);
    expect(certified.code, certified.output).toBe(0);
    const html = await readFile(`${dir}/loser.html`, 'utf8');
    expect(html).toContain('<tr><th>Status</th><td>superseded: a mediator');
    expect(html).toMatch(/<td>superseded<\/td><\/tr>/);
    expect(html).not.toMatch(/<td>standing<\/td>/);
    expect(html).toContain(`<td class="id">${malloryLicence.id.slice(0, 12)}…</td>`);
    await writeFile(`${dir}/loser.json`, JSON.stringify(await json(s.get(`/v1/works/${early.id}/evidence`))));
    const verified = await runCli(['verify', `${dir}/loser.json`, '--ledger-key', s.verifierKey]);
    expect(verified.code, verified.output).toBe(0);
    expect(verified.output).toContain(`work ${early.id}: owner ${mallory.id}, superseded: a mediator's award`);
    expect(verified.output).toMatch(new RegExp(`licence ${malloryLicence.id}: .* — now superseded`));

    const audit = await auditLedger(s.ledger.store, parseVerifierKey(s.verifierKey));
    expect(audit).toMatchObject({ ok: true });
  });

  // A re-encoded re-upload registered as someone's own work is a lookalike: it contests the
  // film and the film it. The only decision a mediator had on it was to dismiss the contest,
  // which gave the re-uploader clean title (and her licensees a pass at every check).
  it("a mediator rules a lookalike a copy of the film it matched: the copy is superseded and its bytes are judged as the film's, contest and all; the film's own contest ends only by a decision on it; verified offline and audited", async () => {
    const s = await serverFixture();
    servers.push(s);
    const registrar = await loadSecretKey(`${s.dir}/keys/registrar.key`);
    const [alice, carol, dave, mediator] = [party(), party(), party(), party()];
    const frames = Array.from({ length: 12 }, (_, i) => ({ timeMs: i * 1000, hash: sha256(content('frame')).subarray(0, 16) }));
    const [filmBytes, copyBytes] = [content('film'), content('re-encode')];
    const printed = { fingerprints: [{ kind: FINGERPRINT_KIND, value: encodeFrames(frames) }] };
    const film = await json<{ id: string }>(s.submit(stmt.register(alice, filmBytes, { title: 'Fractal dreams', ...printed })));
    const copy = await json<{ id: string }>(s.submit(stmt.register(carol, copyBytes, { title: 'My own work', ...printed })));
    const licence = await json<{ id: string }>(s.submit(stmt.license(carol, copy.id, dave.id, { uses: ['publish'] })));
    expect(await json(s.get(`/v1/works/${copy.id}`))).toMatchObject({ status: 'contested', lookalikes: [film.id] });
    expect(await json(s.get(`/v1/works/${film.id}`))).toMatchObject({ status: 'contested', contest: { by: copy.id } });
    const asked = async (bytes: Uint8Array, uploader: string) =>
      json<{ verdict: string; evidence: EvidenceBundle | null }>(s.post('/v1/check', JSON.stringify({ sha256: toHex(sha256(bytes)), uploader, use: 'publish', territory: 'FR' }), 'application/json'));
    const ask = async (bytes: Uint8Array, uploader: string) => (await asked(bytes, uploader)).verdict;
    expect([await ask(filmBytes, alice.id), await ask(copyBytes, carol.id)]).toEqual(['contested', 'contested']);

    expect((await s.submit(stmt.accredit(registrar, mediator.id))).status).toBe(201);
    const unrelated = await json<{ id: string }>(s.submit(stmt.register(party())));
    const astray = await s.submit(stmt.resolve(mediator, copy.id, 'award', { award: hexOf(unrelated.id) }));
    expect(astray.status).toBe(400);
    expect(((await astray.json()) as { detail: string }).detail).toMatch(/no lookalike of work/);
    expect((await s.submit(stmt.resolve(mediator, copy.id, 'award', { award: hexOf(film.id), reason: 're-encode of the film' }))).status).toBe(201);

    expect(await json(s.get(`/v1/works/${copy.id}`))).toMatchObject({ status: 'superseded', owner: carol.id, award: { work: film.id, decision: 'award' } });
    expect(await json(s.get(`/v1/works/${copy.id}/licences`))).toMatchObject({ licences: [{ id: licence.id, standing: 'superseded' }] });
    expect((await s.submit(stmt.license(carol, copy.id, party().id))).status).toBe(409);
    // The film's own contest is not ended by a ruling on one contestant (another lookalike, a
    // copy of its bytes may contest it too): the copy's bytes are judged as the film's, contested.
    expect(await json(s.get(`/v1/works/${film.id}`))).toMatchObject({ status: 'contested' });
    expect([await ask(copyBytes, alice.id), await ask(copyBytes, carol.id)]).toEqual(['contested', 'contested']);
    expect((await s.submit(stmt.resolve(mediator, film.id, 'dismiss', { reason: 'its contestant was ruled a copy' }))).status).toBe(201);
    expect(await json(s.get(`/v1/works/${film.id}`))).toMatchObject({ status: 'registered', owner: alice.id });
    // The copy's bytes are judged as the film: Alice owns them, Carol and her licensee do not.
    expect([await ask(filmBytes, alice.id), await ask(copyBytes, alice.id), await ask(copyBytes, carol.id), await ask(copyBytes, dave.id)]).toEqual(['owner', 'owner', 'unlicensed', 'unlicensed']);
    // A check of the copy's bytes carries the rulings it is judged through: its verdict replays offline.
    const judged = await asked(copyBytes, alice.id);
    expect(verifyBundle(judged.evidence, s.verifierKey)).toMatchObject({ ok: true, verdict: 'owner' });

    for (const [id, status] of [[film.id, 'registered'], [copy.id, 'superseded']] as const) {
      const bundle = await json<EvidenceBundle>(s.get(`/v1/works/${id}/evidence`));
      const result = verifyBundle(bundle, s.verifierKey, { about: { work: id }, standingAt: Date.now() });
      expect(result.failure).toBeUndefined();
      expect(result.works.find((w) => w.id === id)).toMatchObject({ status });
    }
    // The film's certificate tells the copy's registration for what it is: not the same bytes.
    const dir = await tempDir();
    expect((await runCli(['certificate', film.id, '--out', `${dir}/film.html`, '--ledger-key', s.verifierKey, '--server', s.url])).code).toBe(0);
    const html = await readFile(`${dir}/film.html`, 'utf8');
    expect(html).toContain('registered &quot;My own work&quot;');
    expect(html).toContain('<em>(a lookalike: other content, whose fingerprints matched)</em>');
    expect(html).not.toContain('another registration of the same content');
    // Another party registering the film's own bytes reopens the film's contest, and the copy's
    // bytes, judged as the film's, are contested with it (their evidence says so too).
    await s.submit(stmt.register(party(), filmBytes));
    expect(await ask(filmBytes, alice.id)).toBe('contested');
    const reopened = await asked(copyBytes, alice.id);
    expect(reopened.verdict).toBe('contested');
    expect(verifyBundle(reopened.evidence, s.verifierKey).failure).toBeUndefined();
    expect(verifyBundle(reopened.evidence, s.verifierKey)).toMatchObject({ ok: true, verdict: "contested" });
    // So does the copy's own bundle, as a check that found the copy by its fingerprints replays
    // it: it follows the ruling to the film, and the film's decided and reopened contest.
    const question = { uploader: alice.id, use: 'publish' as const, territory: 'FR', at: Date.now() };
    expect(verifyBundle(await json(s.get(`/v1/works/${copy.id}/evidence`)), s.verifierKey, { about: { work: copy.id }, question })).toMatchObject({ ok: true, verdict: 'contested' });
    // A ruling cannot give title to a registration an award superseded: the copy is no holder.
    const third = await json<{ id: string }>(s.submit(stmt.register(party(), content('another re-encode'), printed)));
    const toCopy = await s.submit(stmt.resolve(mediator, third.id, 'award', { award: hexOf(copy.id) }));
    expect([toCopy.status, ((await toCopy.json()) as { detail: string }).detail]).toEqual([409, expect.stringMatching(/was itself superseded by work/)]);
    expect(await auditLedger(s.ledger.store, parseVerifierKey(s.verifierKey))).toMatchObject({ ok: true });
  });

  // Each ruling names a work not yet superseded, but a chain grows after: X1 a copy of X2, then
  // X2 of X3… Past the hops a check follows, X1's bytes were judged by the work at the cut,
  // answering "owner" to a superseded work's owner, with evidence that verified.
  it('a chain of copy rulings longer than a check follows is judged contested, never by a work on the way, and its evidence says so', async () => {
    const s = await serverFixture();
    servers.push(s);
    const registrar = await loadSecretKey(`${s.dir}/keys/registrar.key`);
    const mediator = party();
    expect((await s.submit(stmt.accredit(registrar, mediator.id))).status).toBe(201);
    const frames = Array.from({ length: 12 }, (_, i) => ({ timeMs: i * 1000, hash: sha256(content('frame')).subarray(0, 16) }));
    const printed = { fingerprints: [{ kind: FINGERPRINT_KIND, value: encodeFrames(frames) }] };
    const owners = Array.from({ length: 11 }, () => party());
    const bytes = owners.map((_, i) => content(`cut ${i}`));
    const works: string[] = [];
    for (const [i, owner] of owners.entries()) works.push((await json<{ id: string }>(s.submit(stmt.register(owner, bytes[i], printed)))).id);
    for (let i = 0; i < 10; i++) expect((await s.submit(stmt.resolve(mediator, works[i]!, 'award', { award: hexOf(works[i + 1]!) }))).status).toBe(201);
    const answer = (i: number) => json<{ verdict: string; evidence: EvidenceBundle | null }>(s.post('/v1/check', JSON.stringify({ sha256: toHex(sha256(bytes[0]!)), uploader: owners[i]!.id, use: 'publish', territory: 'FR' }), 'application/json'));
    for (const i of [9, 10]) {
      const a = await answer(i);
      expect(a.verdict, `owner of X${i + 1}`).toBe('contested');
      expect(verifyBundle(a.evidence, s.verifierKey)).toMatchObject({ ok: true, verdict: 'contested' });
    }
    // Within the hops, a copy's bytes are the end work's: X3's, ruled through X4… to X11, contested as X11 is.
    const near = await json<{ verdict: string }>(s.post('/v1/check', JSON.stringify({ sha256: toHex(sha256(bytes[8]!)), uploader: owners[10]!.id, use: 'publish', territory: 'FR' }), 'application/json'));
    expect(near.verdict).toBe('contested');
    expect((await s.submit(stmt.resolve(mediator, works[10]!, 'dismiss'))).status).toBe(201);
    expect((await json<{ verdict: string }>(s.post('/v1/check', JSON.stringify({ sha256: toHex(sha256(bytes[8]!)), uploader: owners[10]!.id, use: 'publish', territory: 'FR' }), 'application/json'))).verdict).toBe('owner');
    expect((await answer(10)).verdict).toBe('contested');
    expect(await auditLedger(s.ledger.store, parseVerifierKey(s.verifierKey))).toMatchObject({ ok: true });
  });

  // A later decision replays only if the registration that reopened the earlier one is in the
  // bundle too: a work's evidence failed ("not contested") once its contest was decided twice.
  it('a contest decided, reopened and decided again: the evidence of the work and of a check replays both decisions', async () => {
    const s = await serverFixture();
    servers.push(s);
    const registrar = await loadSecretKey(`${s.dir}/keys/registrar.key`);
    const [alice, bob, carol, mediator] = [party(), party(), party(), party()];
    expect((await s.submit(stmt.accredit(registrar, mediator.id))).status).toBe(201);
    const film = content('decided twice');
    const first = await json<{ id: string }>(s.submit(stmt.register(alice, film)));
    await s.submit(stmt.register(bob, film));
    expect((await s.submit(stmt.resolve(mediator, first.id, 'dismiss'))).status).toBe(201);
    await s.submit(stmt.register(carol, film));
    expect((await s.submit(stmt.resolve(mediator, first.id, 'award', { award: hexOf(first.id) }))).status).toBe(201);
    const bundle = await json<EvidenceBundle>(s.get(`/v1/works/${first.id}/evidence`));
    expect(verifyBundle(bundle, s.verifierKey, { about: { work: first.id } })).toMatchObject({ ok: true });
    const checked = await json<{ verdict: string; evidence: EvidenceBundle }>(s.post('/v1/check', JSON.stringify({ sha256: toHex(sha256(film)), uploader: alice.id, use: 'publish', territory: 'FR' }), 'application/json'));
    expect(checked.verdict).toBe('owner');
    expect(verifyBundle(checked.evidence, s.verifierKey)).toMatchObject({ ok: true, verdict: 'owner' });
  });

  it('a check by fingerprints with a report prepares a sighting of the matched work with its segments', async () => {
    const s = await serverFixture();
    servers.push(s);
    const [alice, bob, platform] = [party(), party(), party()];
    const frames = Array.from({ length: 12 }, (_, i) => ({ timeMs: i * 1000, hash: sha256(content('frame')).subarray(0, 16) }));
    const work = await json<{ id: string }>(s.submit(stmt.register(alice, content(), { fingerprints: [{ kind: FINGERPRINT_KIND, value: encodeFrames(frames) }] })));
    // The upload is seconds 4–9 of the work, re-encoded: no SHA-256 match, a frame match.
    const upload = frames.slice(4, 10).map((f) => ({ timeMs: f.timeMs - 4000, hash: f.hash }));
    const answer = await json<{ verdict: string; sighting: { payload: Record<string, unknown>; cbor: string } | null }>(
      s.post('/v1/check', JSON.stringify({ fingerprints: { kind: FINGERPRINT_KIND, frames: toBase64(encodeFrames(upload)) }, uploader: bob.id, territory: 'FR', report: 'https://video.example/v/7' }), 'application/json'),
    );
    expect(answer.verdict).toBe('unlicensed');
    expect(answer.sighting?.payload).toMatchObject({ work: work.id, reference: 'https://video.example/v/7', verdict: 'unlicensed', segments: [{ upload: [0, 5000], work: [4000, 9000] }] });
    expect(answer.sighting?.payload).not.toHaveProperty('sha256');
    const payload = decodeCbor(fromBase64(answer.sighting!.cbor, 'cbor'), { maxBytes: 16384 }) as Record<string, unknown>;
    expect((await s.submit(signStatement(payload, platform))).status).toBe(201);
    expect(await json(s.get(`/v1/works/${work.id}`))).toMatchObject({ sightings: 1, entries: 1 });
  });
});
