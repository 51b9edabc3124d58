/**
 * An in-memory LedgerView that applies Effects, optionally layered over another view.
 * It is the whole state for the offline verifier and for tests, and the per-batch overlay
 * on top of the store in the sequencer (reads fall through to the base).
 */
import { decodeFrames, type FrameHash } from './fingerprint.js';
import type { Effects, LedgerView, LicenceRecord, OverlapQuery, PartyRecord, WorkRecord } from './records.js';
import { scopesOverlap } from './scope.js';
import type { Use } from './statements.js';
import { capHits, SimilarityIndex, type FrameHit, type MatchingRules } from './similarity.js';

export class MemoryState implements LedgerView {
  readonly works = new Map<string, WorkRecord>();
  readonly licences = new Map<string, LicenceRecord>();
  readonly shas = new Map<string, string[]>();
  readonly parties = new Map<string, PartyRecord>();
  readonly fingerprints = new Map<string, Uint8Array>();
  /** `${work}/${licensee}` → the licences held, as the store keeps them */
  readonly held = new Map<string, string[]>();
  /** the licences granted in this state (not the base), by work */
  private readonly byWork = new Map<string, string[]>();
  private readonly similarity = new SimilarityIndex();

  constructor(private readonly base?: LedgerView) {}

  work(id: string): WorkRecord | undefined {
    return this.works.get(id) ?? this.base?.work(id);
  }
  licence(id: string): LicenceRecord | undefined {
    return this.licences.get(id) ?? this.base?.licence(id);
  }
  worksBySha(sha256: string): readonly string[] {
    return this.shas.get(sha256) ?? this.base?.worksBySha(sha256) ?? [];
  }
  party(party: string): PartyRecord | undefined {
    return this.parties.get(party) ?? this.base?.party(party);
  }

  frameHits(frames: readonly FrameHash[], rules?: MatchingRules): FrameHit[] {
    const own = this.similarity.hits(frames, rules ? { rules } : {});
    // The caps compose (see capHits), so base and overlay together decide as one index would.
    return this.base ? capHits([...this.base.frameHits(frames, rules), ...own], rules) : own;
  }

  licencesHeld(work: string, licensee: string): readonly string[] {
    return this.held.get(`${work}/${licensee}`) ?? this.base?.licencesHeld(work, licensee) ?? [];
  }

  // The licences granted here are scanned whole: an overlay holds one batch, and the offline
  // verifier only the entries of one bundle.
  overlapCandidates(q: OverlapQuery): readonly string[] {
    const own = (this.byWork.get(q.work) ?? []).filter((id) => {
      const l = this.licences.get(id) as LicenceRecord;
      return (!q.exclusiveOnly || l.exclusive) && scopesOverlap(l, { uses: q.uses as Use[], territories: q.territories as string[], validFrom: q.from, validUntil: q.until });
    });
    return [...(this.base?.overlapCandidates(q) ?? []), ...own];
  }

  apply(effects: Effects): void {
    if (effects.frames) {
      this.fingerprints.set(effects.frames.work, effects.frames.bytes);
      const registration = effects.works.find((w) => w.after.id === effects.frames?.work)?.after.history[0] ?? 0;
      this.similarity.add(effects.frames.work, registration, decodeFrames(effects.frames.bytes));
    }
    for (const { after } of effects.works) this.works.set(after.id, after);
    for (const { before, after } of effects.licences) {
      this.licences.set(after.id, after);
      if (!before) (this.byWork.get(after.work) ?? this.byWork.set(after.work, []).get(after.work)!).push(after.id);
    }
    if (effects.held) this.held.set(`${effects.held.work}/${effects.held.licensee}`, effects.held.licences);
    if (effects.sha) this.shas.set(effects.sha.sha256, effects.sha.works);
    if (effects.party) this.parties.set(effects.party.party, effects.party);
  }
}
