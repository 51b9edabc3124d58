/**
 * An in-memory LedgerView that applies Effects, optionally layered over another view.
 * It is the whole state for the offline verifier and for tests, and the per-batch overlay
 * on top of the store in the sequencer (reads fall through to the base).
 */
import { decodeFrames, type FrameHash } from './fingerprint.js';
import type { Effects, LedgerView, LicenceRecord, PartyRecord, WorkRecord } from './records.js';
import { SimilarityIndex, type FrameHit } from './similarity.js';

export class MemoryState implements LedgerView {
  readonly works = new Map<string, WorkRecord>();
  readonly licences = new Map<string, LicenceRecord>();
  readonly shas = new Map<string, string[]>();
  readonly parties = new Map<string, PartyRecord>();
  readonly fingerprints = new Map<string, Uint8Array>();
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

  frameHits(frames: readonly FrameHash[]): FrameHit[] {
    return [...(this.base?.frameHits(frames) ?? []), ...this.similarity.hits(frames)];
  }

  apply(effects: Effects): void {
    if (effects.frames) {
      this.fingerprints.set(effects.frames.work, effects.frames.bytes);
      this.similarity.add(effects.frames.work, decodeFrames(effects.frames.bytes));
    }
    for (const { after } of effects.works) this.works.set(after.id, after);
    for (const { after } of effects.licences) this.licences.set(after.id, after);
    if (effects.sha) this.shas.set(effects.sha.sha256, effects.sha.works);
    if (effects.party) this.parties.set(effects.party.party, effects.party);
  }
}
