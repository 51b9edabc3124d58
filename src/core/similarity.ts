/**
 * Near-duplicate search over frame fingerprints: the index, and the caps and total order
 * that bound and fix what a search returns (segments.ts groups the hits into segments).
 *
 * The index is multi-index hashing (Norouzi et al.): each 64-bit hash is cut into four
 * 16-bit chunks, each chunk indexing a bucket table. Two hashes within 10 bits agree to
 * within 2 bits on at least one chunk (pigeonhole), so a query probes, per chunk, every
 * value within 2 bits of its own (137 buckets) and checks the full distance of what it
 * finds: exact against a linear scan, in well under a millisecond at a million frames.
 * Both pHash and dHash are indexed; a frame's distance is the smaller of the two.
 */
import { toHex } from './bytes.js';
import { decodeFrames, type FrameHash } from './fingerprint.js';

/** A frame within this many bits (in pHash or dHash) is a candidate. */
export const RADIUS = 10;
const CHUNK_RADIUS = Math.floor(RADIUS / 4);

const NEIGHBOURS: number[] = (() => {
  const out = [0];
  for (let i = 0; i < 16; i++) out.push(1 << i);
  for (let i = 0; i < 16; i++) for (let j = i + 1; j < 16; j++) out.push((1 << i) | (1 << j));
  return CHUNK_RADIUS >= 2 ? out : out.slice(0, 17);
})();

/** A 16-byte hash as four big-endian 32-bit words. */
function toWords(hash: Uint8Array): Uint32Array {
  const v = new DataView(hash.buffer, hash.byteOffset, 16);
  return Uint32Array.of(v.getUint32(0), v.getUint32(4), v.getUint32(8), v.getUint32(12));
}

/** The bucket of chunk c (0–3, 16 bits each, high first) of hash kind 0 (pHash) or 1 (dHash). */
function bucketOf(words: Uint32Array, kind: number, c: number): number {
  const word = words[kind * 2 + (c >> 1)] as number;
  const chunk = c & 1 ? word & 0xffff : word >>> 16;
  return ((kind * 4 + c) << 16) | chunk;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export interface FrameHit {
  work: string;
  /** the ledger index of the work's registration: ties between works break by it */
  workIndex: number;
  /** the work's registered length (its last sampled frame), ms */
  workDurationMs: number;
  workMs: number;
  queryMs: number;
  distance: number;
}

/**
 * The matching rules, by version (issue 10.9). A registration's contest decision is replayed
 * by `audit` and the offline verifier, so the rules it was decided by must never change under
 * it: tuning the caps, the grouping into segments or the thresholds makes a new version, in
 * force for entries sequenced from its `from` (ledger ms), with the old code paths kept for
 * the old version; the work record names the version that decided it (`matching`).
 * Version 1 is this file's segmentsOf and capHits with the values below, and rules.ts's
 * contestThreshold; version 2 changes what the threshold is a share of and when a dHash counts.
 */
export interface MatchingRules {
  version: number;
  /** ledger time (ms) from which entries are judged by this version */
  from: number;
  /** hits kept per query frame, closest first, at most `perWork` of them in any one work */
  perFrame: number;
  perWork: number;
  /** hits kept per request, closest first */
  perRequest: number;
  /**
   * What a registration's contest threshold is a share of: its frame records (version 1), or
   * its sampled times (version 2, since registrations carry region hashes besides each whole
   * frame, several records at one time; issue 13.1).
   */
  contestShareOf: 'records' | 'times';
  /**
   * A dHash counts towards a frame's distance only with at least this many bits of each value
   * in both hashes (from version 2): a smooth ramp's dHash is nearly all ones or all zeros, and
   * so is that of any picture brightening one way, so such dHashes match without saying much.
   */
  dHashMinBits: number;
}

export const MATCHING_RULES: readonly MatchingRules[] = [
  { version: 1, from: 0, perFrame: 16, perWork: 3, perRequest: 4096, contestShareOf: 'records', dHashMinBits: 0 },
  { version: 2, from: Date.UTC(2026, 11, 4), perFrame: 16, perWork: 3, perRequest: 4096, contestShareOf: 'times', dHashMinBits: 8 },
];

/**
 * Frames of one work within this many bits in both hashes are one entry of the index. It is
 * part of the index of FINGERPRINT_KIND, not of a rules version: changing it means a new kind.
 */
export const COLLAPSE_BITS = 2;

/** The rules in force for an entry sequenced at `time`. */
export function matchingRulesAt(time: number): MatchingRules {
  let rules = MATCHING_RULES[0] as MatchingRules;
  for (const r of MATCHING_RULES) if (r.from <= time) rules = r;
  return rules;
}

export const CURRENT_MATCHING = MATCHING_RULES[MATCHING_RULES.length - 1] as MatchingRules;

/**
 * The total order of hits: closest first, then the earliest registration, then work time,
 * then upload time. Sorting by it makes every decision independent of the order in which an
 * index was filled (start-up refills in work-id order, replay in ledger order; issue 10.9).
 */
export function compareHits(a: FrameHit, b: FrameHit): number {
  return a.distance - b.distance || a.workIndex - b.workIndex || a.workMs - b.workMs || a.queryMs - b.queryMs;
}

/**
 * Bounds hits, whatever the index holds: per upload frame at most `perWork` of one work and
 * `perFrame` in all, and `perRequest` in all, each time the closest by `compareHits`. The
 * caps compose: capping the union of capped lists (a store and a batch overlay) keeps the
 * same hits as capping all at once, so the sequencer and a replay decide alike.
 */
export function capHits(hits: readonly FrameHit[], rules: MatchingRules = CURRENT_MATCHING): FrameHit[] {
  const sorted = [...hits].sort(compareHits);
  // upload frame → its hits kept so far, per work
  const kept = new Map<number, Map<number, number>>();
  const out: FrameHit[] = [];
  for (const h of sorted) {
    if (out.length === rules.perRequest) break;
    let works = kept.get(h.queryMs);
    if (!works) kept.set(h.queryMs, (works = new Map()));
    const inWork = works.get(h.workIndex) ?? 0;
    if (inWork >= rules.perWork) continue;
    let inFrame = 0;
    for (const n of works.values()) inFrame += n;
    if (inFrame >= rules.perFrame) continue;
    works.set(h.workIndex, inWork + 1);
    out.push(h);
  }
  return out;
}

/** A query frame: its time, its hash, and optionally the hash of the frame mirrored. */
export type QueryFrame = FrameHash & { mirrored?: Uint8Array };

export class SimilarityIndex {
  // Per frame, four 32-bit words: pHash high, pHash low, dHash high, dHash low.
  private words = new Uint32Array(4 * 1024);
  private times = new Uint32Array(1024);
  private owners = new Uint32Array(1024);
  // Which query last saw each frame, so a frame found through several buckets counts once.
  private stamps = new Uint32Array(1024);
  private query = 0;
  private count = 0;
  private readonly works: string[] = [];
  private readonly workIndices: number[] = [];
  private readonly workNumber = new Map<string, number>();
  /** work → its longest registered frame time, ms */
  readonly durations = new Map<string, number>();
  // 2 hash kinds × 4 chunks × 65536 buckets of frame numbers, only those in use: a batch's
  // overlay or a verifier's replay holds a few works, and a 4 MB table per batch cost ~40 ms.
  private readonly buckets = new Map<number, number[]>();
  // One bit a bucket (64 KB): whether it is in use, so a probe of an empty bucket, most of
  // them in a small index, costs a bit test rather than a map lookup.
  private readonly used = new Uint8Array((2 * 4 * 65536) / 8);

  get frames(): number {
    return this.count;
  }

  has(work: string): boolean {
    return this.workNumber.has(work);
  }

  /**
   * Indexes a work's frames. `index` is the ledger index of its registration. Frames within
   * COLLAPSE_BITS (in both hashes) of one already kept for the same work are one frame:
   * 750 copies of one picture cost one entry, and searching them costs one hit (issue 10.2).
   */
  add(work: string, index: number, frames: readonly FrameHash[]): void {
    if (frames.length === 0 || this.workNumber.has(work)) return;
    const w = this.works.push(work) - 1;
    this.workIndices.push(index);
    this.workNumber.set(work, w);
    const { buckets } = this;
    let duration = 0;
    const first = this.count;
    for (const f of frames) {
      duration = Math.max(duration, f.timeMs);
      const words = toWords(f.hash);
      if (this.isCollapsed(words, first)) continue;
      if (this.count === this.times.length) this.grow();
      const n = this.count++;
      this.words.set(words, n * 4);
      this.times[n] = f.timeMs;
      this.owners[n] = w;
      for (let kind = 0; kind < 2; kind++) {
        for (let c = 0; c < 4; c++) {
          const b = bucketOf(words, kind, c);
          const bucket = buckets.get(b);
          if (bucket) bucket.push(n);
          else buckets.set(b, [n]);
          this.used[b >>> 3] = (this.used[b >>> 3] as number) | (1 << (b & 7));
        }
      }
    }
    this.durations.set(work, duration);
  }

  /** Whether a frame kept since `first` (this work's) is within `collapse` bits of `q` in both hashes. */
  private isCollapsed(q: Uint32Array, first: number): boolean {
    const { words } = this;
    const limit = COLLAPSE_BITS;
    for (let n = first; n < this.count; n++) {
      const at = n << 2;
      const p = popcount(((q[0] as number) ^ (words[at] as number)) >>> 0) + popcount(((q[1] as number) ^ (words[at + 1] as number)) >>> 0);
      if (p > limit) continue;
      const d = popcount(((q[2] as number) ^ (words[at + 2] as number)) >>> 0) + popcount(((q[3] as number) ^ (words[at + 3] as number)) >>> 0);
      if (d <= limit) return true;
    }
    return false;
  }

  addEncoded(work: string, index: number, bytes: Uint8Array): void {
    this.add(work, index, decodeFrames(bytes));
  }

  private grow(): void {
    const size = this.times.length * 2;
    const widen = <T extends Uint32Array>(old: T, length: number) => {
      const next = new Uint32Array(length);
      next.set(old);
      return next;
    };
    this.words = widen(this.words, size * 4);
    this.times = widen(this.times, size);
    this.owners = widen(this.owners, size);
    this.stamps = widen(this.stamps, size);
  }

  /**
   * Every indexed frame within RADIUS of `hash` in pHash or dHash, with its distance. With
   * `budget`, at most that many candidates are examined (buckets are read in the order they
   * were filled): a bound on one query frame's work when buckets have been stuffed. With
   * `dHashMinBits`, a dHash with fewer ones or zeros than that, the query's or a frame's,
   * does not count (MatchingRules.dHashMinBits).
   */
  near(hash: Uint8Array, budget = Infinity, dHashMinBits = 0): Array<{ frame: number; distance: number }> {
    const { words, stamps, buckets, used } = this;
    const out: Array<{ frame: number; distance: number }> = [];
    if (buckets.size === 0) return out;
    const q = toWords(hash);
    const stamp = ++this.query;
    const [q0, q1, q2, q3] = q as unknown as [number, number, number, number];
    const informative = (high: number, low: number) => {
      const ones = popcount(high >>> 0) + popcount(low >>> 0);
      return ones >= dHashMinBits && 64 - ones >= dHashMinBits;
    };
    const queryDHash = informative(q2, q3);
    let examined = 0;
    // Without a dHash that counts, only frames near in pHash can be found, all through its tables.
    for (let kind = 0; kind < (queryDHash ? 2 : 1); kind++) {
      for (let c = 0; c < 4; c++) {
        const own = bucketOf(q, kind, c);
        const table = own & ~0xffff;
        const value = own & 0xffff;
        for (let f = 0; f < NEIGHBOURS.length; f++) {
          const b = table | (value ^ (NEIGHBOURS[f] as number));
          if (((used[b >>> 3] as number) & (1 << (b & 7))) === 0) continue;
          const bucket = buckets.get(b) as number[];
          for (let i = 0; i < bucket.length; i++) {
            const n = bucket[i] as number;
            if (stamps[n] === stamp) continue;
            if (++examined > budget) return out;
            stamps[n] = stamp;
            const at = n << 2;
            const p = popcount((q0 ^ (words[at] as number)) >>> 0) + popcount((q1 ^ (words[at + 1] as number)) >>> 0);
            const d =
              queryDHash && informative(words[at + 2] as number, words[at + 3] as number)
                ? popcount((q2 ^ (words[at + 2] as number)) >>> 0) + popcount((q3 ^ (words[at + 3] as number)) >>> 0)
                : 64;
            const distance = p < d ? p : d;
            if (distance <= RADIUS) out.push({ frame: n, distance });
          }
        }
      }
    }
    return out;
  }

  /**
   * Hits for query frames (each, and its mirror when given, against the index), capped by
   * `capHits`. Identical query frames are searched once. `budget` bounds the candidates
   * examined per query hash (see `near`).
   */
  hits(query: readonly QueryFrame[], opts: { budget?: number; rules?: MatchingRules } = {}): FrameHit[] {
    const rules = opts.rules ?? CURRENT_MATCHING;
    const found = new Map<string, Map<number, number>>();
    const search = (hash: Uint8Array) => {
      const key = toHex(hash);
      let best = found.get(key);
      if (!best) {
        best = new Map();
        for (const { frame, distance } of this.near(hash, opts.budget, rules.dHashMinBits)) best.set(frame, distance);
        found.set(key, best);
      }
      return best;
    };
    const out: FrameHit[] = [];
    for (const q of query) {
      const best = new Map(search(q.hash));
      if (q.mirrored) for (const [frame, distance] of search(q.mirrored)) best.set(frame, Math.min(distance, best.get(frame) ?? Infinity));
      const frameHits: FrameHit[] = [];
      for (const [frame, distance] of best) {
        const w = this.owners[frame] as number;
        const work = this.works[w] as string;
        frameHits.push({ work, workIndex: this.workIndices[w] as number, workDurationMs: this.durations.get(work) ?? 0, workMs: this.times[frame] as number, queryMs: q.timeMs, distance });
      }
      // Capped frame by frame, so an upload frame near thousands of indexed ones costs little.
      for (const h of capHits(frameHits, rules)) out.push(h);
    }
    return capHits(out, rules);
  }
}
