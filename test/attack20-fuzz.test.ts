/**
 * Attack 20: seeded random histories wider than disputes.test.ts's — licences (exclusive,
 * sublicensable, sublicences, windows), revocations, claims and their decisions, protections,
 * sightings, a second mediator, accreditations that end (`until`) — through the real sequencer
 * and LevelDB store. Every work's and every check's evidence must verify offline; a work's
 * bundle asked a question (as `check --ledger-key` asks of a fingerprint match) must replay the
 * server's verdict; and what a verified bundle states (owners, statuses, awards, licences'
 * standing) must be the server's.
 *
 * ATTACK_SEEDS=from:count ATTACK_STEPS=n widen the run.
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { judge } from '../src/core/check.js';
import { sha256 } from '../src/core/crypto.js';
import { contestOpen, supersededBy, titled } from '../src/core/disputes.js';
import { encodeFrames, FINGERPRINT_KIND } from '../src/core/fingerprint.js';
import { signStatement } from '../src/core/cose.js';
import { licenceStanding } from '../src/core/rules.js';
import { EvidenceBuilder } from '../src/store/evidence.js';
import { verifyBundle } from '../src/verify/index.js';
import { content, hexBytes, ledgerFixture, party, stmt, type Party } from './helpers.js';

const [from, count] = (process.env.ATTACK_SEEDS ?? '1:8').split(':').map(Number) as [number, number];
const STEPS = Number(process.env.ATTACK_STEPS ?? 40);
const QUESTIONS = process.env.ATTACK_QUESTIONS !== '0';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function seeded(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

export interface Failure {
  seed: number;
  kind: string;
  what: string;
  detail: string;
  story: string;
}

export async function runHistory(seed: number, steps: number): Promise<Failure[]> {
  const draw = seeded(seed);
  const registrar = party();
  const f = await ledgerFixture({ registrar: registrar.id });
  const mediators = [party(), party()];
  for (const m of mediators) await f.submit(stmt.accredit(registrar, m.id));
  const frames = Array.from({ length: 12 }, (_, i) => ({ timeMs: i * 1000, hash: sha256(content('frame')).subarray(0, 16) }));
  const printed = { fingerprints: [{ kind: FINGERPRINT_KIND, value: encodeFrames(frames) }] };
  const files = [content('A'), content('B'), content('C')];
  const parties: Party[] = Array.from({ length: process.env.ATTACK_PROFILE === 'decisions' ? 7 : 5 }, () => party());
  const byId = new Map(parties.map((p) => [p.id, p]));
  const works: string[] = [];
  const licences: string[] = [];
  const claims: string[] = [];
  const story: string[] = [];
  const times: number[] = [];
  const store = f.ledger.store.sync;
  const W = (id: string) => `W${works.indexOf(id) + 1}`;
  const P = (id: string) => `P${parties.findIndex((p) => p.id === id)}`;
  const L = (id: string) => `L${licences.indexOf(id) + 1}`;
  const pick = <T>(xs: T[]) => xs[draw(xs.length)] as T;
  const usesOf = () => pick([['publish'], ['clip'], ['publish', 'clip']]);
  const terrOf = () => pick([['*'], ['FR'], ['DE']]);
  for (let step = 0; step < steps; step++) {
    // ATTACK_PROFILE=decisions: many registrations of few contents and decisions between acts of title
    const move = process.env.ATTACK_PROFILE === 'decisions' ? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 12, 14, 18, 18, 18, 18, 18, 19][draw(20)]! : draw(20);
    const done = await (async (): Promise<string | null> => {
      if (works.length < 2 || move < 5) {
        const [owner, file] = [draw(parties.length), process.env.ATTACK_PROFILE === 'decisions' ? draw(4) % 2 : draw(files.length)];
        works.push((await f.submit(stmt.register(parties[owner]!, files[file]!, printed))).id);
        return `P${owner} registers W${works.length} (${'ABC'[file]})`;
      }
      const standing = works.filter((id) => !supersededBy(store, store.work(id)!));
      const w = standing.length > 0 && draw(5) > 0 ? pick(standing) : pick(works);
      const owner = byId.get(store.work(w)!.owner)!;
      if (move < 7) {
        const to = pick(parties);
        await f.submit(stmt.transfer(owner, w, to.id));
        return `${W(w)} to ${P(to.id)}`;
      }
      if (move < 10) {
        const to = pick(parties);
        const extra: Record<string, unknown> = { uses: usesOf(), territories: terrOf() };
        if (draw(3) === 0) extra.exclusive = true;
        if (draw(2) === 0) extra.sublicensable = true;
        if (draw(4) === 0) extra.validUntil = Date.now() + 200 + draw(1500);
        const id = (await f.submit(stmt.license(owner, w, to.id, extra))).id;
        licences.push(id);
        return `${P(owner.id)} licenses ${W(w)} to ${P(to.id)} as L${licences.length} ${JSON.stringify(extra)}`;
      }
      if (move < 11 && licences.length > 0) {
        const parent = store.licence(pick(licences))!;
        const to = pick(parties);
        const id = (await f.submit(stmt.license(byId.get(parent.licensee)!, parent.work, to.id, { uses: parent.uses, territories: parent.territories, parent: hexBytes(parent.id), ...(parent.exclusive ? { exclusive: true } : {}) }))).id;
        licences.push(id);
        return `${P(parent.licensee)} sublicenses ${L(parent.id)} to ${P(to.id)} as L${licences.length}`;
      }
      if (move < 12 && licences.length > 0) {
        const l = store.licence(pick(licences))!;
        const signer = l.parent ? byId.get(l.grantor)! : byId.get(store.work(l.work)!.owner)!;
        await f.submit(stmt.revoke(signer, l.id));
        return `${P(signer.id)} revokes ${L(l.id)}`;
      }
      if (move < 13) {
        // the owner, or an exclusive licensee
        const held = licences.map((id) => store.licence(id)!).filter((l) => l.work === w && l.exclusive);
        const claimant = held.length > 0 && draw(2) === 0 ? byId.get(pick(held).licensee)! : owner;
        claims.push((await f.submit(stmt.claim(claimant, w))).id);
        return `${P(claimant.id)} claims on ${W(w)} (C${claims.length})`;
      }
      if (move < 14 && claims.length > 0) {
        const c = store.claim(pick(claims))!;
        const decision = pick(['uphold', 'settle', 'dismiss']);
        const m = pick(mediators);
        await f.submit(stmt.resolve(m, c.work, decision, { claim: hexBytes(c.id) }));
        return `M${mediators.indexOf(m)} ${decision}s C${claims.indexOf(c.id) + 1}`;
      }
      if (move < 15) {
        await f.submit(signStatement({ type: 'protect', issuedAt: Date.now(), work: hexBytes(w), until: Date.now() + 400 + draw(4000), ...(draw(2) ? { territories: ['FR'] } : {}) }, owner));
        return `${P(owner.id)} protects ${W(w)}`;
      }
      if (move < 16) {
        await f.submit(stmt.sighting(pick(parties), w));
        return `sighting of ${W(w)}`;
      }
      if (move < 17) {
        const m = draw(2);
        const until = draw(2) === 0 ? {} : { until: Date.now() + 150 + draw(600) };
        await f.submit(stmt.accredit(registrar, mediators[m]!.id, until));
        return `M${m} accredited ${JSON.stringify(until)}`;
      }
      if (move < 18) {
        await sleep(100 + draw(400));
        return null;
      }
      // (smart: a work whose contest is open, and mostly a registration of its own content)
      const open = works.filter((id) => contestOpen(store, store.work(id)!));
      const on = open.length > 0 && draw(4) > 0 ? pick(open) : pick(works);
      const same = works.filter((id) => store.work(id)!.sha256 === store.work(on)!.sha256);
      const [holder, dismiss] = [draw(3) > 0 ? pick(same) : pick(works), draw(3) === 0];
      const m = pick(mediators);
      await f.submit(stmt.resolve(m, on, dismiss ? 'dismiss' : 'award', dismiss ? {} : { award: hexBytes(holder) }));
      return dismiss ? `M${mediators.indexOf(m)} dismisses on ${W(on)}` : `M${mediators.indexOf(m)} awards on ${W(on)} to ${W(holder)}`;
    })().catch(() => null);
    if (done) {
      story.push(done);
      times.push(Date.now());
    }
  }
  if (process.env.ATTACK_VERBOSE) console.log(`seed ${seed}: ${story.length} steps: ${story.join('; ')}`);
  const failures: Failure[] = [];
  const fail = (kind: string, what: string, detail: string) => failures.push({ seed, kind, what, detail, story: story.join('; ') });
  const builder = new EvidenceBuilder(f.ledger.store, f.ledger.sequencer, f.ledger.signer, f.ledger.origin);
  const key = f.ledger.sequencer.verifierKey;
  const now = Date.now() + 1000;
  // Instants a check may ask about: the present, and after some steps of the story.
  const instants = [now, ...times.filter((_, i) => i % 5 === 4).map((t) => t + 1)];
  for (const w of works) {
    const bundle = JSON.parse(JSON.stringify(await builder.forWork(w)));
    const r = verifyBundle(bundle, key, { standingAt: now });
    if (r.failure) {
      fail('work-bundle', W(w), `${r.failure.code}: ${r.failure.detail}`);
      continue;
    }
    // what the verified bundle states, against the server
    for (const rw of r.works) {
      const served = titled(store, store.work(rw.id)!);
      const mine = { owner: rw.owner, status: rw.status, award: rw.award, contest: rw.contest, protection: rw.protection ?? null };
      const theirs = { owner: served.owner, status: served.status, award: served.award, contest: served.contest, protection: served.protection ?? null };
      if (JSON.stringify(mine) !== JSON.stringify(theirs)) fail('states-false', `${W(w)}'s bundle about ${W(rw.id)}`, `replay ${JSON.stringify(mine)} server ${JSON.stringify(theirs)}`);
    }
    for (const l of r.licences) {
      const s = licenceStanding(store, store.licence(l.id)!, now);
      if ((l.standing ?? null) !== s) fail('states-false', `${W(w)}'s bundle about ${L(l.id)}`, `replay standing ${l.standing} server ${s}`);
    }
    if (!QUESTIONS) continue;
    const sha = store.work(w)!.sha256;
    for (const at of instants) {
      for (const p of parties) {
        for (const use of ['publish', 'clip']) {
          const q = { uploader: p.id, use, territory: 'FR', at };
          const served = judge(store, sha, q).verdict;
          const replayed = verifyBundle(bundle, key, { question: q }).verdict;
          if (served !== replayed) fail('question', `${W(w)} for ${P(p.id)} ${use} at step-time ${at}`, `server ${served}, replay ${replayed}`);
        }
      }
    }
  }
  for (const [i, file] of files.entries()) {
    for (const at of instants) {
      for (const p of parties) {
        for (const use of ['publish', 'clip']) {
          const { result, bundle } = await builder.forCheck({ sha256: toHex(sha256(file)), uploader: p.id, use, territory: 'FR', at });
          if (!bundle) continue;
          const r = verifyBundle(JSON.parse(JSON.stringify(bundle)), key);
          if (r.failure) fail('check-bundle', `${P(p.id)} ${use} of ${'ABC'[i]} at ${at === now ? 'now' : at}`, `${r.failure.code}: ${r.failure.detail}`);
          else if (r.verdict !== result.verdict) fail('check-states-false', `${P(p.id)} ${use} of ${'ABC'[i]}`, `server ${result.verdict} replay ${r.verdict}`);
        }
      }
    }
  }
  await f.ledger.close();
  return failures;
}

describe('attack 20: random histories with licences, revocations, claims, protections, sightings, accreditations', () => {
  it('every bundle verifies and states what the server does', async () => {
    const all: Failure[] = [];
    for (let seed = from; seed < from + count; seed++) {
      const failures = await runHistory(seed, STEPS);
      // one line per kind and seed
      const kinds = new Map<string, Failure>();
      for (const x of failures) if (!kinds.has(x.kind)) kinds.set(x.kind, x);
      for (const x of kinds.values()) console.log(`seed ${seed} ${x.kind} (${failures.filter((y) => y.kind === x.kind).length}): ${x.what}: ${x.detail}\n  story: ${x.story}`);
      all.push(...failures);
    }
    expect(all.map((x) => `${x.seed} ${x.kind} ${x.what}: ${x.detail}`)).toEqual([]);
  }, 3_600_000);
});
