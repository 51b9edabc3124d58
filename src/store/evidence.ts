/**
 * Builds evidence bundles from the store: for a work (its whole chain of title, with every
 * registration of the same content), for a pre-publish check verdict, and for one entry
 * (prior existence). Claims are the store's current state; the offline verifier replays the
 * entries and accepts the bundle only if they match.
 */
import { signAttestation } from '../core/attestation.js';
import { parseVerifierKey } from '../core/checkpoint.js';
import { toBase64, toHex } from '../core/bytes.js';
import { parseStatement } from '../core/cose.js';
import { titleStatus } from '../core/disputes.js';
import { decodeLeaf } from '../core/leaf.js';
import type { Signer } from '../core/crypto.js';
import { checkUse, MAX_COPY_HOPS, type CheckQuery, type CheckResult } from '../core/check.js';
import { CartularyError } from '../core/errors.js';
import { inclusionPlan } from '../core/merkle.js';
import type { ContentRecord, LicenceRecord, ResolutionRecord, WorkRecord } from '../core/records.js';
import { BUNDLE_FORMAT, type BundleClaims, type EvidenceBundle } from '../verify/bundle.js';
import type { LedgerStorage, StoreView, StoredCheckpoint } from './storage.js';
import { checkRootInStore, openLatestCheckpoint, type LogHead } from './log-head.js';

/** What witnesses add to checkpoints (src/witness/publisher.ts). */
export interface CosignedCheckpoints {
  /** the latest checkpoint that meets the quorum, with its cosignatures */
  quorumCheckpoint(): { size: number; note: string } | null;
  /** the latest checkpoint with the cosignatures collected for it so far */
  current(): string;
}

/**
 * The most works one bundle carries whole: its subjects, the works awards bring in (each
 * ruling names one; check.ts follows at most 8) and the rivals whose owners a replay needs.
 */
const MAX_WHOLE_WORKS = 64;
/** Tries at reading a bundle's claims and entries on one state of the store (`consistently`). */
const GATHER_ATTEMPTS = 4;
// Index pages read at a time; a shorter page is the last (one range read less a work).
const PAGE = 1000;
// Entries (leaf and inclusion proof) read in one turn of the event loop: ~50 ms here. A
// bundle carries a work's whole chain, 10,000 entries for a work licensed 10,000 times, and
// other requests are served between its slices.
const SLICE = 256;

export class EvidenceBuilder {
  constructor(
    private readonly store: LedgerStorage,
    private readonly sequencer: LogHead,
    /** the ledger key, which attests each bundle's claims at its checkpoint */
    private readonly signer: Signer,
    private readonly origin: string,
    /** cosigned checkpoints, when the ledger has witnesses */
    private readonly witnessed?: CosignedCheckpoints,
  ) {}

  /** Every entry of the work's chain, and the registrations its contest and lookalikes cite. */
  async forWork(workId: string): Promise<EvidenceBundle> {
    return (await this.judgedWork(workId, () => null)).bundle;
  }

  /**
   * A work a check found by its fingerprints: its bundle (forWork), and the verdict its
   * content gets for `question`, judged on the state the bundle is read on. Judged before,
   * a licence landing in between made the answer and the bundle's replay differ.
   */
  forMatch(workId: string, question: Omit<CheckQuery, 'sha256'>): Promise<{ work: WorkRecord; result: CheckResult; bundle: EvidenceBundle }> {
    return this.judgedWork(workId, (view, work) => checkUse(view, { ...question, sha256: work.sha256 }));
  }

  /** forWork, with `verdict` judged on the state the bundle is read on. */
  private async judgedWork<R extends CheckResult | null>(workId: string, verdict: (view: StoreView, work: WorkRecord) => R): Promise<{ work: WorkRecord; result: R; bundle: EvidenceBundle }> {
    const { first, value, state } = await this.consistently(
      (view) => {
        const work = view.work(workId);
        if (!work) throw new CartularyError('not-found', `work ${workId} is not in the ledger`);
        const result = verdict(view, work);
        return { work, result, rests: result ? verdictRests(view, work.sha256, result, [work]).rests : restsOn(view, [work.id], [work.sha256]) };
      },
      async ({ work }) => {
        const licences = await this.licencesOf([work]);
        return { indices: await this.chainOf([work]), claims: await this.claims([work], licences) };
      },
    );
    return { work: first.work, result: first.result, bundle: await this.bundle({ work: first.work.id }, value.indices, value.claims, state) };
  }

  /**
   * The verdict with the chain of the registration that decides it (the content's earliest,
   * or the one an award gave title to), and for a content a mediator ruled a copy of a
   * lookalike, the chains of the registrations each such ruling was made on.
   */
  async forCheck(query: CheckQuery): Promise<{ result: CheckResult; bundle: EvidenceBundle | null }> {
    const { first, value, state } = await this.consistently(
      (view) => {
        const result = checkUse(view, query);
        return { result, ...verdictRests(view, query.sha256, result, []) };
      },
      async ({ result, copies }) => {
        if (result.works.length === 0) return null;
        const claims = { ...(await this.claims(result.works, await this.licencesOf(result.works))), verdict: result.verdict, licence: result.licence?.id ?? null };
        return { indices: await this.chainOf([...result.works, ...copies]), claims };
      },
    );
    return { result: first.result, bundle: value ? await this.bundle({ check: query }, value.indices, value.claims, state) : null };
  }

  /**
   * Runs `first`, then `gather`, on one state of the store, and names the checkpoint of that
   * state. A bundle's claims and entries are read in several steps, and commits land between
   * them. `first` judges what it must and returns, with that, the records the claims rest on
   * (`rests`): the works' and their contents'. Those records never return to an earlier
   * value (an entry about a work moves its head on, a contest once raised stays, a content
   * only gains registrations and awards), so `first` run again after the store's latest
   * checkpoint is read, and returning the same, shows that no entry about those works landed
   * from its first run until then: what was judged and gathered is that checkpoint's state.
   * Else all is read again. (Asking instead that no commit at all land while a much-licensed
   * work was read lost to two clients writing anything.) Its result is compared whole, not
   * its rests alone: a commit can land between two point reads of one run (LevelDB's are not
   * of one snapshot), and a work read at the start of the run was older than its record in
   * `rests`, read at the end (the bundle claimed a head before the last entry it carried).
   * Before returning, the head serves that tree, so the bundle cites a checkpoint this node
   * has signed or checked (the store shows a commit a moment before the writer's head
   * moves, and longer before a follower checks it).
   */
  private async consistently<F extends { rests: Rests }, T>(first: (view: StoreView) => F, gather: (first: F) => Promise<T>): Promise<{ first: F; value: T; state: StoredCheckpoint }> {
    for (let attempt = 0; attempt < GATHER_ATTEMPTS; attempt++) {
      const read = await this.store.read(first);
      const value = await gather(read);
      const at = await this.store.latestCheckpoint();
      if (!at) throw new CartularyError('corrupt', 'the store holds no checkpoint');
      if (JSON.stringify(await this.store.read(first)) !== JSON.stringify(read)) continue;
      await this.sequencer.reach(at.size);
      return { first: read, value, state: at };
    }
    throw new CartularyError('unavailable', `the works this evidence is about took new entries while it was read, ${GATHER_ATTEMPTS} times over; retry`);
  }

  /** One entry: that it was in the ledger at its time (prior existence). */
  forEntry(index: number): Promise<EvidenceBundle> {
    if (index >= this.sequencer.size) throw new CartularyError('not-found', `no entry at index ${index}`);
    return this.bundle({ entry: index }, [index], { works: [], licences: [] });
  }

  /**
   * The entries a replay needs to reach each work's state: its whole chain (DESIGN §8: no
   * entry can be left out of the middle), the registration of the work that first contested
   * it and of every lookalike it contested, so the replay raises the same contest. A content
   * with many rivals adds one registration, not all of them. If a mediator ended the
   * content's contest, also the chains of the work the decision named and of the work it
   * gave title to (and so on for the works those bring in); for every decision cited, the
   * accreditation it was made under, the registration it left title with, and the
   * registration that reopened it since, if one did. Then, whole, the chains of the rivals a
   * replayed registration's signer owned (ownedRivals) and of the registrations that hold the
   * decision standing when a registration, a dismissal or an act of title on a work the replay
   * would see superseded was replayed (standingDecisions), and what those need in turn: at most
   * MAX_WHOLE_WORKS chains in all.
   */
  private async chainOf(subjects: WorkRecord[]): Promise<number[]> {
    const carried: Carried = { whole: new Map(), registered: new Map(), decisions: [], acts: [], indices: [], searched: new Set(), searches: 0 };
    // (a store's reads may run more than once: what they find is added to `carried` after)
    for (let next = subjects; ; ) {
      const added = await this.store.read((view) => carryWhole(view, next, carried.whole));
      if (added.length === 0) break;
      const chains: number[] = [];
      for (const w of added) {
        carried.whole.set(w.id, w);
        for await (const page of this.entryPages(w)) chains.push(...page);
      }
      carried.indices.push(...chains);
      // (every entry's statement is read: a page of them a turn, as the standing decisions' search does)
      const cited = await this.store.read((view) => cite(view, added, []));
      for (let from = 0; from < chains.length; from += PAGE) {
        await new Promise((next) => setImmediate(next));
        const page = await this.store.read((view) => cite(view, [], chains.slice(from, from + PAGE)));
        cited.registered.push(...page.registered);
        cited.accreditations.push(...page.accreditations);
        cited.decided.push(...page.decided);
        cited.acts.push(...page.acts);
      }
      cited.registered.forEach((w) => carry(carried, w));
      carried.indices.push(...cited.accreditations);
      carried.decisions.push(...cited.decided);
      carried.acts.push(...cited.acts);
      // A later decision on a content holds only if the registration that reopened the earlier
      // one is replayed too (the first after it).
      const reopeners = (await Promise.all(cited.decided.map((d) => this.store.registrationsOf(d.sha256, { after: d.index, limit: 1 })))).flat();
      (await this.store.read((view) => reopeners.map((id) => existing(view, id, 'a registration of a decided content')))).forEach((w) => carry(carried, w));
      next = [...ownedRivals(carried.registered.values(), carried.whole), ...(await this.standingDecisions(carried))];
    }
    return carried.indices;
  }

  /** The indices of a work's entries after the ledger index `after`, a page at a time. */
  private async *entryPages(work: WorkRecord, after = -1): AsyncGenerator<number[]> {
    for (;;) {
      const page = await this.store.entriesOf(work, { limit: PAGE, after });
      yield page;
      if (page.length < PAGE) return;
      after = page.at(-1) as number;
    }
  }

  /**
   * The registrations whose chains hold a decision the replay misses: the one that stood on a
   * content when a replayed registration of it was made (it was contested by the registration
   * holding title then, rules.ts register), a replayed dismissal decided (title stayed with
   * it), or a transfer, licence, claim or protection of a work was made, or an award named a
   * lookalike of other content, while the latest decision the replay holds had superseded that
   * work (the ledger accepted it: a later decision had given it title back). Each such moment is asked about where its holder is not the content's first
   * registration, or a decision carried came before it: else the replay holds no decision
   * then and names the first, as the ledger did. The decision is the latest on the content
   * before the moment, after the carried ones, on the chain of an earlier registration of the
   * content: the holders and the content's first PAGE registrations are searched, those with
   * entries besides their registration, at most MAX_WHOLE_WORKS chains for one bundle, each
   * only between the moments' bounds.
   */
  private async standingDecisions(carried: Carried): Promise<WorkRecord[]> {
    const asked = await this.store.read((view) => momentsAsked(view, carried));
    const found: WorkRecord[] = [];
    for (const [sha256, moments] of asked) {
      const from = moments.reduce((min, m) => Math.min(min, m.after), Infinity);
      const to = moments.reduce((max, m) => Math.max(max, m.at), -Infinity);
      const decisions: Array<{ index: number; on: WorkRecord }> = [];
      const ids = await this.store.registrationsOf(sha256, { limit: PAGE });
      const earlier = await this.store.read((view) => [...new Set([...moments.map((m) => m.holder), ...ids])].map((id) => existing(view, id, `holding title to content ${sha256} or registered with it`)));
      for (const on of earlier) {
        // (a holder of other content, a lookalike a ruling named, holds none of this content's decisions)
        if (on.sha256 !== sha256 || on.registeredIndex >= to || on.entries === 1) continue;
        if (carried.searches >= MAX_WHOLE_WORKS) break;
        carried.searches++;
        for await (const page of this.entryPages(on, from)) {
          const within = page.filter((index) => index < to);
          const made = await this.store.read((view) => within.filter((index) => resolutionAt(view, index)?.claim === null));
          decisions.push(...made.map((index) => ({ index, on })));
          if (within.length < page.length) break;
        }
      }
      decisions.sort((a, b) => a.index - b.index);
      for (const m of moments) {
        carried.searched.add(`${sha256}:${m.at}`);
        let [lo, hi] = [0, decisions.length];
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if ((decisions[mid] as { index: number }).index < m.at) lo = mid + 1;
          else hi = mid;
        }
        const standing = decisions[lo - 1];
        if (standing && standing.index > m.after && !carried.whole.has(standing.on.id)) found.push(standing.on);
      }
    }
    return found;
  }

  /**
   * The checkpoint a proof of entries up to `lastIndex` cites: the latest one that meets the
   * witness quorum when it covers them, otherwise the latest, with what cosignatures it has.
   * With `state` (claims read at the store's checkpoint of that size), none larger than it:
   * a later tree's entries may have changed what the claims say; its own when the head has
   * moved past it since.
   */
  citable(lastIndex: number, state?: StoredCheckpoint): { note: string; size: number } {
    const cosigned = this.witnessed?.quorumCheckpoint() ?? null;
    const within = state?.size ?? this.sequencer.size;
    if (cosigned && lastIndex < cosigned.size && cosigned.size <= within) return cosigned;
    if (!state || state.size === this.sequencer.size) return { note: this.witnessed?.current() ?? this.sequencer.checkpoint, size: this.sequencer.size };
    return state;
  }

  /** Every licence of the works: a chain of title cites them all (its entries are in the bundle anyway). */
  private async licencesOf(works: WorkRecord[]): Promise<LicenceRecord[]> {
    const out: LicenceRecord[] = [];
    for (const w of works) {
      for (let after = -1; ; ) {
        const page = await this.store.licencesOf(w, { limit: PAGE, after });
        const licences = await this.store.read((view) =>
          page.map((id) => {
            const licence = view.licence(id);
            if (!licence) throw new CartularyError('corrupt', `licence ${id} of work ${w.id} is missing from the store`);
            return licence;
          }),
        );
        out.push(...licences);
        if (page.length < PAGE) break;
        after = (licences.at(-1) as LicenceRecord).index;
      }
    }
    return out;
  }

  private claims(works: WorkRecord[], licences: LicenceRecord[]): Promise<BundleClaims> {
    return this.store.read((view) => {
      const registrar = view.registrar();
      return {
        works: works.map((w) => ({ id: w.id, sha256: w.sha256, owner: w.owner, status: titleStatus(view, w), contest: w.contest, head: w.head })),
        licences: licences.map((l) => ({ id: l.id, work: l.work, grantor: l.grantor, licensee: l.licensee, revoked: l.revokedAt !== null })),
        ...(registrar ? { registrar } : {}),
      };
    });
  }

  private async bundle(subject: EvidenceBundle['subject'], indices: number[], claims: BundleClaims, state?: StoredCheckpoint): Promise<EvidenceBundle> {
    // Read the checkpoint first: its size is fixed, and every leaf and node below it is
    // immutable, so slices read in different turns belong to the same tree.
    const sorted = [...new Set(indices)].sort((a, b) => a - b);
    const cited = this.citable(sorted.at(-1) ?? 0, state);
    const { note: checkpoint, size } = cited;
    if ((sorted.at(-1) ?? -1) >= size) throw new CartularyError('corrupt', `entry ${sorted.at(-1)} of the evidence lies beyond the tree of ${size} entries it cites`);
    if (cited === state) {
      // A stored checkpoint the head has passed, not one it served itself: a follower that
      // skipped it checked only the trees on either side, so its root is checked here.
      await checkRootInStore(this.store, openLatestCheckpoint(state, parseVerifierKey(this.sequencer.verifierKey)));
    }
    const entries: EvidenceBundle['entries'] = [];
    for (let from = 0; from < sorted.length; from += SLICE) {
      if (from > 0) await new Promise((next) => setImmediate(next));
      const slice = await this.store.read((view) =>
        sorted.slice(from, from + SLICE).map((index) => {
          const leaf = view.leaf(index);
          if (!leaf) throw new CartularyError('corrupt', `leaf ${index} is missing`);
          return { index, leaf: toBase64(leaf), proof: view.hashRanges(inclusionPlan(index, size)).map(toHex) };
        }),
      );
      entries.push(...slice);
    }
    const attestation = signAttestation(this.origin, size, { subject, claims }, this.signer);
    return { format: BUNDLE_FORMAT, verifierKey: this.sequencer.verifierKey, checkpoint, subject, entries, claims, attestation };
  }
}

/** The records a bundle's claims rest on (EvidenceBuilder.consistently): the works', and their contents'. */
type Rests = [Array<WorkRecord | null>, Array<ContentRecord | null>];

/** The records of `works` and of `contents`, read from `view`. */
function restsOn(view: StoreView, works: readonly string[], contents: readonly string[]): Rests {
  return [works.map((id) => view.work(id) ?? null), contents.map((sha) => view.content(sha) ?? null)];
}

/**
 * What a verdict on content `sha256` rests on, besides `also`: the work that decides it, and
 * the registrations of the rulings followed to it (`copies`), with their contents.
 */
function verdictRests(view: StoreView, sha256: string, result: CheckResult, also: readonly WorkRecord[]): { copies: WorkRecord[]; rests: Rests } {
  const copies = copyRulings(view, sha256);
  const works = [...also, ...result.works, ...copies];
  return { copies, rests: restsOn(view, works.map((w) => w.id), [sha256, ...works.map((w) => w.sha256)]) };
}

/**
 * The registrations each ruling that made a content a copy of a lookalike was made on, from
 * the content checked to the one it is judged as (check.ts judge follows the same awards):
 * a replay of the verdict needs those rulings, which are on their chains.
 */
function copyRulings(view: StoreView, sha256: string): WorkRecord[] {
  const out: WorkRecord[] = [];
  for (let sha = sha256, hops = 0; hops <= MAX_COPY_HOPS; hops++) {
    const award = view.content(sha)?.award;
    const holder = award ? view.work(award.work) : undefined;
    if (!award || !holder || holder.sha256 === sha) break;
    const ruled = resolutionAt(view, award.index);
    const on = ruled ? view.work(ruled.work) : undefined;
    if (!on) throw new CartularyError('corrupt', `entry ${award.index}, the award on content ${sha}, is not a mediator's decision on a stored work`);
    out.push(on);
    sha = holder.sha256;
  }
  return out;
}

/** What a bundle's replay runs, as EvidenceBuilder.chainOf gathers it. */
interface Carried {
  /** the works whose every entry the bundle carries */
  whole: Map<string, WorkRecord>;
  /** every work whose registration the bundle carries: the replay runs its rules again */
  registered: Map<string, WorkRecord>;
  /** every decision on a contest the bundle carries */
  decisions: Decided[];
  indices: number[];
  /**
   * the entries of carried chains whose rules ask whether a work was superseded then (a
   * transfer, licence, claim or protection of it; an award naming it from other content), by
   * the work and its content
   */
  acts: Act[];
  /** the moments (`content:index`) whose standing decision was searched for */
  searched: Set<string>;
  /** the chains searched for standing decisions so far */
  searches: number;
}

/** An entry whose rules need `work` not superseded when it was made (rules.ts notSuperseded, disputes.ts resolve). */
interface Act {
  sha256: string;
  work: string;
  index: number;
}

/** A mediator's decision on a contest: on which content, at which entry, and the registration it left title with. */
interface Decided {
  sha256: string;
  index: number;
  holder: string;
  dismiss: boolean;
}

/** A stored work a record names, or the store is corrupt. */
function existing(view: StoreView, id: string, what: string): WorkRecord {
  const work = view.work(id);
  if (!work) throw new CartularyError('corrupt', `work ${id}, ${what}, is missing from the store`);
  return work;
}

/** Carries a work's registration: the replay runs its rules again. */
function carry(carried: Carried, work: WorkRecord): void {
  carried.registered.set(work.id, work);
  carried.indices.push(work.registeredIndex);
}

/**
 * What the chains of `added` (the entries `chains`) cite: the registrations of the rivals
 * that contested them or they contested, and for each decision in them its accreditation,
 * and for a decision on a contest the registration it left title with.
 */
function cite(view: StoreView, added: readonly WorkRecord[], chains: readonly number[]): { registered: WorkRecord[]; accreditations: number[]; decided: Decided[]; acts: Act[] } {
  const registered = added.flatMap((w) => [w, ...[...(w.contest ? [w.contest.by] : []), ...w.lookalikes].map((id) => existing(view, id, `cited by work ${w.id}`))]);
  const accreditations: number[] = [];
  const decided: Decided[] = [];
  const acts: Act[] = [];
  const named = new Map<string, WorkRecord>();
  for (const index of chains) {
    const { resolution, act } = entryAt(view, index);
    if (act) {
      const work = named.get(act) ?? existing(view, act, `named by the entry at ${index}`);
      named.set(act, work);
      acts.push({ sha256: work.sha256, work: work.id, index });
    }
    if (!resolution) continue;
    accreditations.push(resolution.accreditation);
    if (resolution.claim !== null || resolution.award === null) continue;
    const holder = existing(view, resolution.award, `given title by the decision at entry ${index}`);
    registered.push(holder);
    const sha256 = existing(view, resolution.work, `decided at entry ${index}`).sha256;
    decided.push({ sha256, index, holder: holder.id, dismiss: resolution.decision === 'dismiss' });
    // an award to a lookalike of other content was refused were the lookalike superseded then
    if (holder.sha256 !== sha256) acts.push({ sha256: holder.sha256, work: holder.id, index });
  }
  return { registered, accreditations, decided, acts };
}

/**
 * The moments not yet searched whose standing decision the replay may miss
 * (EvidenceBuilder.standingDecisions), by content: each with the entry it is at, the one
 * after which to search (the latest decision carried before it, or its holder's
 * registration), and the registration holding title then.
 */
function momentsAsked(view: StoreView, carried: Carried): Map<string, Array<{ at: number; after: number; holder: string }>> {
  // The carried decisions on each content in index order: the latest before a moment is found
  // by bisection (a content decided thousands of times made every moment scan them all).
  const decided = new Map<string, Decided[]>();
  for (const d of carried.decisions) (decided.get(d.sha256) ?? decided.set(d.sha256, []).get(d.sha256)!).push(d);
  for (const list of decided.values()) list.sort((a, b) => a.index - b.index);
  const latestBefore = (sha256: string, at: number): Decided | undefined => {
    const list = decided.get(sha256) ?? [];
    let [lo, hi] = [0, list.length];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((list[mid] as Decided).index < at) lo = mid + 1;
      else hi = mid;
    }
    return list[lo - 1];
  };
  // An act on a work (rules.ts notSuperseded) was accepted only while the work was not
  // superseded: where the latest decision the replay holds before it gave title to another,
  // the one that gave it back is asked for — for the first such act after each decision held
  // (once it is carried, the next act is asked about in the next round).
  const acts: Array<{ sha256: string; at: number; holder: string }> = [];
  const seen = new Set<string>();
  for (const a of [...carried.acts].sort((x, y) => x.index - y.index)) {
    const held = latestBefore(a.sha256, a.index);
    if (!held || held.holder === a.work) continue;
    const key = `${a.work}:${held.index}`;
    if (seen.has(key)) continue;
    seen.add(key);
    acts.push({ sha256: a.sha256, at: a.index, holder: a.work });
  }
  const moments = [
    ...[...carried.registered.values()].flatMap((w) => (w.contest && w.id !== view.content(w.sha256)?.first ? [{ sha256: w.sha256, at: w.registeredIndex, holder: w.contest.by }] : [])),
    ...carried.decisions.filter((d) => d.dismiss).map((d) => ({ sha256: d.sha256, at: d.index, holder: d.holder })),
    ...acts,
  ];
  const asked = new Map<string, Array<{ at: number; after: number; holder: string }>>();
  for (const m of moments) {
    if (carried.searched.has(`${m.sha256}:${m.at}`)) continue;
    const before = latestBefore(m.sha256, m.at);
    if (m.holder === view.content(m.sha256)?.first && !before) continue;
    const after = Math.max(existing(view, m.holder, `holding title to content ${m.sha256}`).registeredIndex, before?.index ?? -1);
    const moment = { at: m.at, after, holder: m.holder };
    const ofContent = asked.get(m.sha256);
    if (ofContent) ofContent.push(moment);
    else asked.set(m.sha256, [moment]);
  }
  return asked;
}

/**
 * The works to carry whole besides `whole`: `works`, with the works the awards on their
 * contents bring in, and so on for theirs, up to MAX_WHOLE_WORKS in all.
 * A lookalike ruling names a work of other content, whose own content may have been decided
 * (and reopened) since.
 */
function carryWhole(view: StoreView, works: readonly WorkRecord[], whole: ReadonlyMap<string, WorkRecord>): WorkRecord[] {
  const added: WorkRecord[] = [];
  const taken = new Set(whole.keys());
  const take = (w: WorkRecord) => {
    if (taken.has(w.id) || taken.size >= MAX_WHOLE_WORKS) return;
    taken.add(w.id);
    added.push(w);
  };
  works.forEach(take);
  const decided = new Set<string>();
  for (const w of added) {
    const award = view.content(w.sha256)?.award;
    if (!award || decided.has(w.sha256)) continue;
    decided.add(w.sha256);
    const decision = resolutionAt(view, award.index);
    if (!decision) throw new CartularyError('corrupt', `entry ${award.index}, the award on content ${w.sha256}, is not a mediator's decision in the store`);
    for (const id of [award.work, decision.work]) take(existing(view, id, `cited by the award at entry ${award.index}`));
  }
  return added;
}

/**
 * The works among `registered` that the bundle carries by their registration alone, but
 * whose transfers a replay needs: a registration's lookalike search passes over the works
 * its signer owned then (rules.ts lookalikes), and a replay without their transfers sees each
 * still with its registrant, and so contests it. Both must carry frames for the search to
 * find one. Bounded by the records in hand: each owner list is read once.
 */
function ownedRivals(registered: Iterable<WorkRecord>, whole: ReadonlyMap<string, WorkRecord>): WorkRecord[] {
  const printed = [...registered].filter((w) => w.matching !== undefined);
  const byRegistrant = new Map<string, WorkRecord[]>();
  for (const w of printed) {
    const theirs = byRegistrant.get(w.registrant);
    if (theirs) theirs.push(w);
    else byRegistrant.set(w.registrant, [w]);
  }
  return printed.filter((rival) => {
    if (whole.has(rival.id)) return false;
    // From a party's first hold on: a registration of theirs after it may have been made while
    // they held it, and carrying a chain the replay did not need costs only its size.
    const since = new Map<string, number>();
    for (const o of rival.owners) if (o.party !== rival.registrant && !since.has(o.party)) since.set(o.party, o.from);
    return [...since].some(([party, from]) => (byRegistrant.get(party) ?? []).some((w) => w.registeredIndex > rival.registeredIndex && w.registeredAt >= from));
  });
}

/** The mediator's decision at entry `index`, if it is one. */
function resolutionAt(view: StoreView, index: number): ResolutionRecord | undefined {
  return entryAt(view, index).resolution;
}

/** Statements whose rules refuse them on a superseded work (rules.ts notSuperseded): they name it as `work`. */
const ACTS_OF_TITLE = new Set(['transfer', 'license', 'claim', 'protect']);

/** The entry at `index`: the mediator's decision it is, if one, and the work it is an act of title on, if one. */
function entryAt(view: StoreView, index: number): { resolution?: ResolutionRecord; act?: string } {
  const leaf = view.leaf(index);
  if (!leaf) throw new CartularyError('corrupt', `leaf ${index} is missing`);
  const statement = parseStatement(decodeLeaf(leaf).statement, { stored: true });
  const { type, work } = statement.payload;
  if (type === 'resolve') {
    const resolution = view.resolution(toHex(statement.id));
    return resolution ? { resolution } : {};
  }
  return ACTS_OF_TITLE.has(type as string) && work instanceof Uint8Array ? { act: toHex(work) } : {};
}
