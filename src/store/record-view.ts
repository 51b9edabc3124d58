/**
 * The ledger's records as the rules, the proofs and the HTTP views read them: synchronous
 * reads decoded from keys of the layout (layout.ts), over whatever answers a key at once — a
 * LevelDB read, or what a planned fetch brought into memory (ledger-store.ts `read`).
 *
 * A `peek` that cannot answer yet returns `undefined` and notes the key; the caller fetches
 * every noted key and runs its reads again. So that a miss never stops that first run, the
 * view answers a missing tree node with a placeholder while anything is missing (the run's
 * result is thrown away), and names it as damage only when nothing is.
 */
import { readUintBE, toHex } from '../core/bytes.js';
import { CartularyError } from '../core/errors.js';
import { encodeFrames, type FrameHash } from '../core/fingerprint.js';
import { hashRanges, type LeafRange, type NodeReader, type RangeMemo } from '../core/merkle.js';
import type { NodeCache } from './node-cache.js';
import type {
  ClaimRecord,
  ContentRecord,
  HoldingRecord,
  LicenceRecord,
  MediatorRecord,
  OverlapQuery,
  PartyRecord,
  ResolutionRecord,
  WorkRecord,
} from '../core/records.js';
import type { MatchingRules, Probe, SimilarityIndex } from '../core/similarity.js';
import { key } from './layout.js';
import type { StoreView } from './storage.js';

/** Answers a key now, or `undefined` (absent, or not fetched yet: see `missing`). */
export type Peek = (key: Uint8Array) => Uint8Array | undefined;

/** What a batch's rules need beyond point reads, fetched before they run (ledger-store.ts `plan`). */
export interface PlannedReads {
  overlaps: Map<string, readonly string[]>;
  /** registrations' frame searches, by matching-rules version and frames */
  frames: Map<string, Probe>;
}

export const overlapKey = (q: OverlapQuery) => JSON.stringify([q.work, q.uses, q.territories, q.from, q.until, q.exclusiveOnly]);
export const frameSearchKey = (frames: readonly FrameHash[] | Uint8Array, rules: MatchingRules) =>
  `${rules.version}/${toHex(frames instanceof Uint8Array ? frames : encodeFrames(frames))}`;

// Derived records are never signed or hashed, so they need no deterministic CBOR: JSON is
// several times faster to write and read here, and the rules build every record with
// the same key order, so `audit` can still compare stored and replayed bytes.
export const encodeRecord = (record: unknown): Uint8Array => Buffer.from(JSON.stringify(record));
/** A stored derived record, decoded; 'corrupt' when it does not parse. */
export function decodeRecord<T>(k: Uint8Array, bytes: Uint8Array): T {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as T;
  } catch (e) {
    throw new CartularyError('corrupt', `stored record under key ${toHex(k)} does not parse`, { cause: e });
  }
}

const PLACEHOLDER_NODE = new Uint8Array(32);
const text = new TextDecoder();

export class RecordView implements StoreView {
  constructor(
    private readonly peek: Peek,
    private readonly similarity: SimilarityIndex,
    private readonly nodes: NodeCache,
    /** true once a read of this run was not answered (see above) */
    private readonly incomplete: () => boolean = () => false,
    private readonly planned?: PlannedReads,
  ) {}

  private record<T>(k: Uint8Array): T | undefined {
    const v = this.peek(k);
    return v === undefined ? undefined : decodeRecord<T>(k, v);
  }

  work(id: string): WorkRecord | undefined {
    return this.record(key.work(id));
  }
  licence(id: string): LicenceRecord | undefined {
    return this.record(key.licence(id));
  }
  content(sha256: string): ContentRecord | undefined {
    return this.record(key.sha(sha256));
  }
  holding(sha256: string, party: string): HoldingRecord | undefined {
    return this.record(key.holding(sha256, party));
  }
  party(party: string): PartyRecord | undefined {
    return this.record(key.party(party));
  }
  claim(id: string): ClaimRecord | undefined {
    return this.record(key.claim(id));
  }
  mediator(party: string): MediatorRecord | undefined {
    return this.record(key.mediator(party));
  }
  resolution(id: string): ResolutionRecord | undefined {
    return this.record(key.resolution(id));
  }
  sightings(work: string): number {
    return this.record<number>(key.sightingCount(work)) ?? 0;
  }
  registrar(): string | undefined {
    return this.meta('registrar');
  }
  meta(name: string): string | undefined {
    const v = this.peek(key.meta(name));
    return v === undefined ? undefined : text.decode(v);
  }
  licencesHeld(work: string, licensee: string): readonly string[] {
    return this.record<string[]>(key.heldOnWork(work, licensee)) ?? [];
  }

  /** A registration's search comes from the plan (made in slices); any other from the index. */
  frameProbes(frames: readonly FrameHash[], rules: MatchingRules): Probe[] {
    return [this.planned?.frames.get(frameSearchKey(frames, rules)) ?? this.similarity.probe(frames, { rules })];
  }
  /** Range reads are fetched before the rules run: only planned queries are answered. */
  overlapCandidates(q: OverlapQuery): readonly string[] {
    const found = this.planned?.overlaps.get(overlapKey(q));
    if (!found) throw new Error(`overlap candidates for work ${q.work} were not planned before the rules ran`);
    return found;
  }

  // --- the log and the tree ---
  leaf(index: number): Uint8Array | undefined {
    return this.peek(key.leaf(index));
  }
  indexOf(id: Uint8Array): number | undefined {
    const v = this.peek(key.id(id));
    return v === undefined ? undefined : readUintBE(v);
  }
  /** The entry whose statement has this signed content (any envelope, any signature). */
  indexOfSigned(signedHash: Uint8Array): number | undefined {
    const v = this.peek(key.signed(signedHash));
    return v === undefined ? undefined : readUintBE(v);
  }
  checkpoint(size: number): string | undefined {
    const v = this.peek(key.checkpoint(size));
    return v === undefined ? undefined : text.decode(v);
  }

  /**
   * The hashes of these ranges of the tree (merkle.ts `hashRanges`), with the ranges folded
   * before remembered; a run that missed nodes (its answer is discarded) remembers nothing.
   */
  hashRanges(ranges: readonly LeafRange[]): Uint8Array[] {
    return hashRanges(ranges, this.readNodes, this.memo);
  }
  private readonly memo: RangeMemo = {
    get: (key) => this.nodes.ranges.get(key),
    set: (key, hash) => {
      if (!this.incomplete()) this.nodes.ranges.set(key, hash);
    },
  };

  readonly readNodes: NodeReader = (ids) => {
    return ids.map((id) => {
      const cached = this.nodes.get(id);
      if (cached) return cached;
      const h = this.peek(key.node(id.level, id.index));
      if (h) {
        this.nodes.set(id, h);
        return h;
      }
      if (this.incomplete()) return PLACEHOLDER_NODE;
      throw new CartularyError('corrupt', `Merkle node at level ${id.level}, index ${id.index} is missing from the store`);
    });
  };
}
