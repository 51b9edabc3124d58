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
import { contestantSuperseded, titleStatus } from '../core/disputes.js';
import { decodeLeaf } from '../core/leaf.js';
import type { Signer } from '../core/crypto.js';
import { checkUse, type CheckQuery, type CheckResult } from '../core/check.js';
import { CartularyError } from '../core/errors.js';
import { inclusionPlan, rootHash } from '../core/merkle.js';
import type { LicenceRecord, ResolutionRecord, WorkRecord } from '../core/records.js';
import { BUNDLE_FORMAT, type BundleClaims, type EvidenceBundle } from '../verify/bundle.js';
import type { LedgerStorage, StoreView, StoredCheckpoint } from './storage.js';
import { checkStoredRoot, openLatestCheckpoint, type LogHead } from './log-head.js';

/** What witnesses add to checkpoints (src/witness/publisher.ts). */
export interface CosignedCheckpoints {
  /** the latest checkpoint that meets the quorum, with its cosignatures */
  quorumCheckpoint(): { size: number; note: string } | null;
  /** the latest checkpoint with the cosignatures collected for it so far */
  current(): string;
}

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
      const work = await this.store.read((view) => view.work(workId));
      if (!work) throw new CartularyError('not-found', `work ${workId} is not in the ledger`);
      const licences = await this.licencesOf([work]);
      return { subject: { work: work.id }, indices: await this.chainOf([work]), claims: await this.claims([work], licences) };
    });
    return this.bundle(value.subject, value.indices, value.claims, state);
  }

  /** The verdict with the chain of the content's earliest registration. */
  async forCheck(query: CheckQuery): Promise<{ result: CheckResult; bundle: EvidenceBundle | null }> {
    const { value, state } = await this.consistently(async () => {
      const result = await this.store.read((view) => checkUse(view, query));
      if (result.works.length === 0) return { result, found: null };
      const claims = { ...(await this.claims(result.works, await this.licencesOf(result.works))), verdict: result.verdict, licence: result.licence?.id ?? null };
      return { result, found: { indices: await this.chainOf(result.works), claims } };
    });
    const { result, found } = value;
    return { result, bundle: found ? await this.bundle({ check: query }, found.indices, found.claims, state) : null };
  }

  /**
   * Runs `gather` on one state of the store, and names the checkpoint of that state. A
   * bundle's claims and entries are read in several steps, and a commit may land between
   * them: the store's latest checkpoint is read before and after, and the reads are taken
   * only when it did not move (one writer, atomic appends: every read between saw that
   * state), else gathered again. Before they are returned the head serves that tree, so the
   * bundle cites a checkpoint this node has signed or checked (the store shows a commit a
   * moment before the writer's head moves, and longer before a follower checks it).
   */
  private async consistently<T>(gather: () => Promise<T>): Promise<{ value: T; state: StoredCheckpoint }> {
    for (let attempt = 0; attempt < GATHER_ATTEMPTS; attempt++) {
      const before = await this.store.latestCheckpoint();
      if (!before) throw new CartularyError('corrupt', 'the store holds no checkpoint');
      const value = await gather();
      const after = await this.store.latestCheckpoint();
      if (after?.size !== before.size) continue;
      await this.sequencer.reach(before.size);
      return { value, state: before };
    }
    throw new CartularyError('unavailable', `the ledger took new entries while this evidence was read, ${GATHER_ATTEMPTS} times over; retry`);
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
   * gave title to, and for a work whose contestant was ruled a copy of it, the contestant's
   * chain (where the ruling is); and for every decision cited, the accreditation it was made under.
   */
  private async chainOf(subjects: WorkRecord[]): Promise<number[]> {
    const works = await this.store.read((view) => {
      const works = new Map(subjects.map((w) => [w.id, w]));
      for (const w of subjects) {
        // A lookalike that contested it, since ruled a copy of it: the ruling is on its chain.
        const rival = w.contest ? view.work(w.contest.by) : undefined;
        if (rival && contestantSuperseded(view, w)) works.set(rival.id, rival);
        const award = view.content(w.sha256)?.award;
        if (!award) continue;
        const decision = resolutionAt(view, award.index);
        if (!decision) throw new CartularyError('corrupt', `entry ${award.index}, the award on content ${w.sha256}, is not a mediator's decision in the store`);
        for (const id of [award.work, decision.work]) {
          const other = view.work(id);
          if (!other) throw new CartularyError('corrupt', `work ${id}, cited by the award at entry ${award.index}, is missing from the store`);
          works.set(id, other);
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
    return this.store.read((view) => {
      const indices = [...chains];
      for (const w of works) {
        for (const id of [...(w.contest ? [w.contest.by] : []), ...w.lookalikes]) {
          const rival = view.work(id);
          if (!rival) throw new CartularyError('corrupt', `work ${id}, cited by work ${w.id}, is missing from the store`);
          indices.push(rival.registeredIndex);
        }
      }
      for (const index of [...indices]) {
        const resolution = resolutionAt(view, index);
        if (resolution) indices.push(resolution.accreditation);
      }
      return indices;
    });
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
      const cp = openLatestCheckpoint(state, parseVerifierKey(this.sequencer.verifierKey));
      checkStoredRoot(await this.store.read((view) => rootHash(size, view.readNodes)), cp);
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

/** The mediator's decision at entry `index`, if it is one. */
function resolutionAt(view: StoreView, index: number): ResolutionRecord | undefined {
  const leaf = view.leaf(index);
  if (!leaf) throw new CartularyError('corrupt', `leaf ${index} is missing`);
  const statement = parseStatement(decodeLeaf(leaf).statement, { stored: true });
  return statement.payload.type === 'resolve' ? view.resolution(toHex(statement.id)) : undefined;
}
