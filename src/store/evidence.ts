/**
 * Builds evidence bundles from the store: for a work (its whole chain of title, with every
 * registration of the same content), for a pre-publish check verdict, and for one entry
 * (prior existence). Claims are the store's current state; the offline verifier replays the
 * entries and accepts the bundle only if they match.
 */
import { signAttestation } from '../core/attestation.js';
import { toBase64, toHex } from '../core/bytes.js';
import type { Signer } from '../core/crypto.js';
import { checkUse, type CheckQuery, type CheckResult } from '../core/check.js';
import { CartularyError } from '../core/errors.js';
import { hashRanges, inclusionPlan } from '../core/merkle.js';
import type { LicenceRecord, WorkRecord } from '../core/records.js';
import { BUNDLE_FORMAT, type BundleClaims, type EvidenceBundle } from '../verify/bundle.js';
import type { LedgerStore } from './ledger-store.js';
import type { Sequencer } from './sequencer.js';

/** What witnesses add to checkpoints (src/witness/publisher.ts). */
export interface CosignedCheckpoints {
  /** the latest checkpoint that meets the quorum, with its cosignatures */
  quorumCheckpoint(): { size: number; note: string } | null;
  /** the latest checkpoint with the cosignatures collected for it so far */
  current(): string;
}

export class EvidenceBuilder {
  constructor(
    private readonly store: LedgerStore,
    private readonly sequencer: Sequencer,
    /** the ledger key, which attests each bundle's claims at its checkpoint */
    private readonly signer: Signer,
    private readonly origin: string,
    /** cosigned checkpoints, when the ledger has witnesses */
    private readonly witnessed?: CosignedCheckpoints,
  ) {}

  /** Every entry of the work's chain and every registration of the same content. */
  async forWork(workId: string): Promise<EvidenceBundle> {
    const work = this.store.work(workId);
    if (!work) throw new CartularyError('not-found', `work ${workId} is not in the ledger`);
    // Every registration that contests this one (same content or a lookalike), so the
    // offline replay reaches the same status.
    const rivals = [...new Set([...this.worksOf(work.sha256).map((w) => w.id), ...work.contestedBy])]
      .filter((id) => id !== work.id)
      .flatMap((id) => this.store.work(id) ?? []);
    const indices = [...work.history, ...rivals.map((w) => w.history[0] as number)];
    return this.bundle({ work: work.id }, indices, this.claims([work], await this.licencesOf([work])));
  }

  /** The verdict with the chains of every work registered with that content. */
  async forCheck(query: CheckQuery): Promise<{ result: CheckResult; bundle: EvidenceBundle | null }> {
    const result = checkUse(this.store, query);
    if (result.works.length === 0) return { result, bundle: null };
    const claims = { ...this.claims(result.works, await this.licencesOf(result.works)), verdict: result.verdict, licence: result.licence?.id ?? null };
    return { result, bundle: this.bundle({ check: query }, result.works.flatMap((w) => w.history), claims) };
  }

  /** One entry: that it was in the ledger at its time (prior existence). */
  forEntry(index: number): EvidenceBundle {
    if (index >= this.sequencer.size) throw new CartularyError('not-found', `no entry at index ${index}`);
    return this.bundle({ entry: index }, [index], { works: [], licences: [] });
  }

  /**
   * The checkpoint a proof of entries up to `lastIndex` cites: the latest one that meets the
   * witness quorum when it covers them, otherwise the latest, with what cosignatures it has.
   */
  citable(lastIndex: number): { note: string; size: number } {
    const cosigned = this.witnessed?.quorumCheckpoint() ?? null;
    if (cosigned && lastIndex < cosigned.size) return cosigned;
    return { note: this.witnessed?.current() ?? this.sequencer.checkpoint, size: this.sequencer.size };
  }

  private worksOf(sha256: string): WorkRecord[] {
    return this.store.worksBySha(sha256).flatMap((id) => this.store.work(id) ?? []);
  }

  /** Every licence of the works: a chain of title cites them all (its entries are in the bundle anyway). */
  private async licencesOf(works: WorkRecord[]): Promise<LicenceRecord[]> {
    const out: LicenceRecord[] = [];
    for (const w of works) {
      for (let page: string[], after = -1; (page = await this.store.licencesOf(w.id, { limit: 1000, after })).length > 0; ) {
        for (const id of page) {
          const licence = this.store.licence(id);
          if (!licence) throw new CartularyError('corrupt', `licence ${id} of work ${w.id} is missing from the store`);
          out.push(licence);
          after = licence.index;
        }
      }
    }
    return out;
  }

  private claims(works: WorkRecord[], licences: LicenceRecord[]): BundleClaims {
    return {
      works: works.map((w) => ({ id: w.id, sha256: w.sha256, owner: w.owner, status: w.status, contestedBy: w.contestedBy, head: w.history.at(-1) as number })),
      licences: licences.map((l) => ({ id: l.id, work: l.work, grantor: l.grantor, licensee: l.licensee, revoked: l.revokedAt !== null })),
    };
  }

  private bundle(subject: EvidenceBundle['subject'], indices: number[], claims: BundleClaims): EvidenceBundle {
    // Read the checkpoint first: its size is fixed, and every node below it is immutable.
    const sorted = [...new Set(indices)].sort((a, b) => a - b);
    const { note: checkpoint, size } = this.citable(sorted.at(-1) ?? 0);
    const entries = sorted.map((index) => {
        const leaf = this.store.leaf(index);
        if (!leaf) throw new CartularyError('corrupt', `leaf ${index} is missing`);
        return { index, leaf: toBase64(leaf), proof: hashRanges(inclusionPlan(index, size), this.store.readNodes).map(toHex) };
      });
    const attestation = signAttestation(this.origin, size, { subject, claims }, this.signer);
    return { format: BUNDLE_FORMAT, verifierKey: this.sequencer.verifierKey, checkpoint, subject, entries, claims, attestation };
  }
}
