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
import type { LicenceRecord, ResolutionRecord, WorkRecord } from '../core/records.js';
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

/** The most works awards bring into one bundle's chains (each ruling names one; check.ts follows at most 8). */
const MAX_AWARD_WORKS = 64;
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
    const { value, state } = await this.consistently(async () => {
      const { work, rests } = await this.store.read((view) => {
        const work = view.work(workId);
        return { work, rests: work ? restsOn(view, [work.id], [work.sha256]) : undefined };
      });
      if (!work || !rests) throw new CartularyError('not-found', `work ${workId} is not in the ledger`);
      const licences = await this.licencesOf([work]);
      return { rests, value: { subject: { work: work.id }, indices: await this.chainOf([work]), claims: await this.claims([work], licences) } };
    });
    return this.bundle(value.subject, value.indices, value.claims, state);
  }

  /**
   * The verdict with the chain of the registration that decides it (the content's earliest,
   * or the one an award gave title to), and for a content a mediator ruled a copy of a
   * lookalike, the chains of the registrations each such ruling was made on.
   */
  async forCheck(query: CheckQuery): Promise<{ result: CheckResult; bundle: EvidenceBundle | null }> {
    const { value, state } = await this.consistently<{ result: CheckResult; found: { indices: number[]; claims: BundleClaims } | null }>(async () => {
      const { result, copies, rests } = await this.store.read((view) => {
        const result = checkUse(view, query);
        const copies = copyRulings(view, query.sha256);
        const works = [...result.works, ...copies];
        return { result, copies, rests: restsOn(view, works.map((w) => w.id), [query.sha256, ...works.map((w) => w.sha256)]) };
      });
      if (result.works.length === 0) return { rests, value: { result, found: null } };
      const claims = { ...(await this.claims(result.works, await this.licencesOf(result.works))), verdict: result.verdict, licence: result.licence?.id ?? null };
      return { rests, value: { result, found: { indices: await this.chainOf([...result.works, ...copies]), claims } } };
    });
    const { result, found } = value;
    return { result, bundle: found ? await this.bundle({ check: query }, found.indices, found.claims, state) : null };
  }

  /**
   * Runs `gather` on one state of the store, and names the checkpoint of that state. A
   * bundle's claims and entries are read in several steps, and commits land between them.
   * Every entry about a work rewrites its record, and every award or registration of a
   * content its content record: `gather` says, from its first read, which records its
   * claims rest on (`rests`). Read again at a checkpoint after the gather, unchanged, they
   * show that no entry about those works landed meanwhile, so what was read is that
   * checkpoint's state; else it is gathered again. (Asking instead that no commit at all
   * land while a much-licensed work was read lost to two clients writing anything.)
   * Before returning, the head serves that tree, so the bundle cites a checkpoint this node
   * has signed or checked (the store shows a commit a moment before the writer's head
   * moves, and longer before a follower checks it).
   */
  private async consistently<T>(gather: () => Promise<{ value: T; rests: Rests }>): Promise<{ value: T; state: StoredCheckpoint }> {
    for (let attempt = 0; attempt < GATHER_ATTEMPTS; attempt++) {
      const { value, rests } = await gather();
      const at = await this.store.latestCheckpoint();
      if (!at) throw new CartularyError('corrupt', 'the store holds no checkpoint');
      const now = await this.store.read((view) => restsOn(view, rests.works, rests.contents));
      const still = await this.store.latestCheckpoint();
      if (still?.size !== at.size || now.key !== rests.key) continue;
      await this.sequencer.reach(at.size);
      return { value, state: at };
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
   * accreditation it was made under, and for every decision on a content, the registration
   * that reopened it since, if one did.
   */
  private async chainOf(subjects: WorkRecord[]): Promise<number[]> {
    const works = await this.store.read((view) => {
      const works = new Map(subjects.map((w) => [w.id, w]));
      // The works an award brings in are followed too: a lookalike ruling names a work of
      // other content, whose own content may have been decided (and reopened) since.
      const queue = [...subjects];
      const decided = new Set<string>();
      for (let i = 0; i < queue.length && i < MAX_AWARD_WORKS; i++) {
        const w = queue[i] as WorkRecord;
        const award = view.content(w.sha256)?.award;
        if (!award || decided.has(w.sha256)) continue;
        decided.add(w.sha256);
        const decision = resolutionAt(view, award.index);
        if (!decision) throw new CartularyError('corrupt', `entry ${award.index}, the award on content ${w.sha256}, is not a mediator's decision in the store`);
        for (const id of [award.work, decision.work]) {
          const other = view.work(id);
          if (!other) throw new CartularyError('corrupt', `work ${id}, cited by the award at entry ${award.index}, is missing from the store`);
          if (works.has(id)) continue;
          works.set(id, other);
          queue.push(other);
        }
      }
      return [...works.values()];
    });
    const chains: number[] = [];
    for (const w of works) {
      for (let after = -1; ; ) {
        const page = await this.store.entriesOf(w, { limit: PAGE, after });
        chains.push(...page);
        if (page.length < PAGE) break;
        after = page.at(-1) as number;
      }
    }
    const cited = await this.store.read((view) => {
      const indices = [...chains];
      for (const w of works) {
        for (const id of [...(w.contest ? [w.contest.by] : []), ...w.lookalikes]) {
          const rival = view.work(id);
          if (!rival) throw new CartularyError('corrupt', `work ${id}, cited by work ${w.id}, is missing from the store`);
          indices.push(rival.registeredIndex);
        }
      }
      const decisions: Array<{ sha256: string; after: number }> = [];
      for (const index of [...indices]) {
        const resolution = resolutionAt(view, index);
        if (!resolution) continue;
        indices.push(resolution.accreditation);
        const on = resolution.claim === null ? view.work(resolution.work) : undefined;
        if (on) decisions.push({ sha256: on.sha256, after: index });
      }
      return { indices, decisions };
    });
    // Every decision on a content the chains carry is replayed: a later decision on it holds
    // only if the registration that reopened the earlier one is there too (the first after it).
    const reopeners = (await Promise.all(cited.decisions.map((d) => this.store.registrationsOf(d.sha256, { after: d.after, limit: 1 })))).flat();
    const more = await this.store.read((view) => reopeners.flatMap((id) => view.work(id)?.registeredIndex ?? []));
    return [...cited.indices, ...more];
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
interface Rests {
  works: string[];
  contents: string[];
  key: string;
}

/** The records of `works` (read from `view`) and of `contents`, as one comparable key. */
function restsOn(view: StoreView, works: readonly string[], contents: readonly string[]): Rests {
  return { works: [...works], contents: [...contents], key: JSON.stringify([works.map((id) => view.work(id) ?? null), contents.map((sha) => view.content(sha) ?? null)]) };
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

/** The mediator's decision at entry `index`, if it is one. */
function resolutionAt(view: StoreView, index: number): ResolutionRecord | undefined {
  const leaf = view.leaf(index);
  if (!leaf) throw new CartularyError('corrupt', `leaf ${index} is missing`);
  const statement = parseStatement(decodeLeaf(leaf).statement, { stored: true });
  return statement.payload.type === 'resolve' ? view.resolution(toHex(statement.id)) : undefined;
}
