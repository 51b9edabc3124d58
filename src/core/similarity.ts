/**
 * Near-duplicate search over frame fingerprints: the index, and the caps and total order
 * that bound and fix what a search returns (segments.ts groups the hits into segments).
 *
 * The index is multi-index hashing (Norouzi et al.): each 64-bit hash is cut into four
 * 16-bit chunks, each chunk indexing a bucket table. Two hashes within 10 bits agree to
 * within 2 bits on at least one chunk (pigeonhole), so a query that probes, per chunk, every
 * value within 2 bits of its own (137 buckets) and checks the full distance of what it finds
 * is exact against a linear scan (matching rules 1 and 2). That reads 1,096 buckets a query
 * hash, ~15 frames each at a million frames and ~150 at ten million: the search grew with
 * the index (issue 13.7). From version 3 a query probes only its own value of each chunk
 * (8 buckets): every frame within 3 bits is still found, and a farther one when one of its
 * chunks came through unchanged (and the other half of that hash is within RADIUS). A work of
 * which two frames are so found is then searched whole, every one of its frames against
 * every query hash (a few hundred records), so two frames that came through find all of
 * that work's hits: a clip needs two such frames among its dozens, not each. From version 4
 * a candidate must also agree with the query to within 4 bits on the other chunk of its
 * word, which each bucket entry now carries instead of the whole other word (6 bytes an
 * entry, not 8).
 * Both pHash and dHash are indexed; a frame's distance is the smaller of the two.
 */
import { popcount, toHex } from './bytes.js';
import { decodeFrames, type FrameHash } from './fingerprint.js';
import { heapPages, PAGE_MASK, PAGE_SHIFT, U32Pages, type PagedImage, type PageSource } from './u32-pages.js';

/** A frame within this many bits (in pHash or dHash) is a candidate. */
export const RADIUS = 10;

// Chunk values in order of distance from 0: 1 at 0 bits, 16 at 1, 120 at 2.
const NEIGHBOURS: number[] = (() => {
  const out = [0];
  for (let i = 0; i < 16; i++) out.push(1 << i);
  for (let i = 0; i < 16; i++) for (let j = i + 1; j < 16; j++) out.push((1 << i) | (1 << j));
  return out;
})();
/** How many of NEIGHBOURS lie within r bits (r ≤ 2). */
const WITHIN = [1, 17, 137];

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

/** Which of a hash's four words is the other word of hash kind `kind` than the one chunk c is in: a candidate far in it is not the probe's to find (`near`). */
function otherWordAt(kind: number, c: number): number {
  return kind * 2 + 1 - (c >> 1);
}


/** What makes a dHash count (MatchingRules). */
type DHashRule = Pick<MatchingRules, 'dHashMinBits' | 'dHashMinRowChange'>;

/**
 * Whether a dHash (as two words, a row of 8 bits a byte) has at least `dHashMinBits` ones and
 * zeros, and its rows differ from the row above by `dHashMinRowChange` bits in all.
 */
function informative(high: number, low: number, rule: DHashRule): boolean {
  const ones = popcount(high >>> 0) + popcount(low >>> 0);
  if (ones < rule.dHashMinBits || 64 - ones < rule.dHashMinBits) return false;
  if (rule.dHashMinRowChange === 0) return true;
  const change = popcount(((high ^ (high >>> 8)) & 0xffffff) >>> 0) + popcount(((low ^ (low >>> 8)) & 0xffffff) >>> 0) + popcount(((high & 0xff) ^ (low >>> 24)) >>> 0);
  return change >= rule.dHashMinRowChange;
}

/**
 * A frame's distance from a query hash (q0–q3: its four words): the smaller of the pHash and
 * the dHash distances, the dHash counting only when both are informative (`queryDHash` says
 * whether the query's is); any value beyond RADIUS when neither is within it (no caller
 * needs how far). `page[at…at + 3]` is the frame's record.
 */
function frameDistance(page: Uint32Array, at: number, q0: number, q1: number, q2: number, q3: number, queryDHash: boolean, rule: DHashRule): number {
  // A word alone beyond RADIUS settles its hash: most frames are far in both high words.
  const high = popcount((q0 ^ (page[at] as number)) >>> 0);
  const p = high > RADIUS ? high : high + popcount((q1 ^ (page[at + 1] as number)) >>> 0);
  if (!queryDHash) return p;
  const dHigh = popcount((q2 ^ (page[at + 2] as number)) >>> 0);
  if (dHigh > RADIUS) return p;
  const d = dHigh + popcount((q3 ^ (page[at + 3] as number)) >>> 0);
  // Whether the frame's dHash counts is asked only when it would decide.
  return d < p && d <= RADIUS && informative(page[at + 2] as number, page[at + 3] as number, rule) ? d : p;
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
  /**
   * A dHash counts only when its rows, each 8 bits, differ from the row above by at least this
   * many bits in all (from version 5; 0 before): a picture that varies only across, as a
   * vignette, an underwater haze or a flat cartoon background do, has eight alike rows
   * (`0f0f0f0f…`), and such dHashes of unrelated footage came within 8 bits of each other (an
   * animation cropped was found as underwater footage in the evaluation on real footage).
   */
  dHashMinRowChange: number;
  /**
   * The bits a query's chunk may differ from a bucket's and the bucket still be read: 2 makes
   * the search exact within RADIUS (versions 1 and 2); 0 reads 8 buckets instead of 1,096,
   * and a work found is then searched whole (from version 3; see the head of this file and
   * `SimilarityIndex.search`).
   */
  chunkRadius: 0 | 1 | 2;
  /**
   * Below chunk radius 2, the frames of a work the probe must find (counted once per query
   * hash that finds each) before the work is searched whole: at ten million frames, a random
   * hash lies within RADIUS of some frame about once in twenty, so one found frame says
   * little, and searching each such work whole cost seconds a check; two in one work rarely
   * happen by chance.
   */
  extendAfter: number;
  /**
   * Below chunk radius 2, a bucket's entry is a candidate only when the other 16-bit chunk of
   * its 32-bit word, which the entry carries, is within this many bits of the query's (16:
   * always, versions 1–3). From version 4 (4 bits) the entry carries those 16 bits instead of
   * the whole other word, so an entry costs 6 bytes, not 8, and the index ~20 % less memory;
   * a random entry passes 4 % of the time, the chunk of a frame within RADIUS most of the time
   * (a work needs two such frames, `extendAfter`).
   */
  partnerBits: number;
  /**
   * The works a registration's search may search whole (from version 6; unbounded before):
   * those with the most frames found, then the earliest registered, chosen over every index
   * searched together (`probeHits`), so a store and a batch's overlay choose as one index
   * would. Works whose frames crowd the same buckets were each searched whole once the probe
   * found two of their frames (750 × 750 frame pairs a work: 80 such works made a
   * registration's search take most of a second). Checks search by the current rules, so
   * by this bound too: an upload holds a few works, a compilation a dozen.
   */
  maxExtended: number;
  /**
   * How many of one work's frames are filed in any one bucket (from version 6, for works
   * registered under it; unbounded before): the rest are found when the work is searched
   * whole. A work's 750 distinct frames that share a chunk made every later query hash with
   * that chunk examine all 750; filed at most this many times, a bucket grows with the works
   * in it, not their frames. Decided by the work's own frames alone, so every index holds a
   * work's frames alike however it was filled.
   */
  perBucket: number;
  /**
   * What `extendAfter` counts (`seeds`). To version 6, the frames found for each distinct
   * query hash of one call: identical upload frames (a still shot) counted once in a call
   * and again in the next, so a store searched in steps of two frames, a batch's overlay
   * searched at once and a flat replay could count a work differently, and choose to search
   * it whole or not. From version 7, for each upload frame (its mirror's finds merged): the
   * same however the query or the ledger is split.
   */
  seedsPer: 'hash' | 'upload frame';
}

export const MATCHING_RULES: readonly MatchingRules[] = [
  { version: 1, from: 0, perFrame: 16, perWork: 3, perRequest: 4096, contestShareOf: 'records', dHashMinBits: 0, dHashMinRowChange: 0, chunkRadius: 2, extendAfter: 0, partnerBits: 16, maxExtended: Infinity, perBucket: Infinity, seedsPer: 'hash' },
  { version: 2, from: Date.UTC(2026, 11, 4), perFrame: 16, perWork: 3, perRequest: 4096, contestShareOf: 'times', dHashMinBits: 8, dHashMinRowChange: 0, chunkRadius: 2, extendAfter: 0, partnerBits: 16, maxExtended: Infinity, perBucket: Infinity, seedsPer: 'hash' },
  { version: 3, from: Date.UTC(2026, 11, 4, 15), perFrame: 16, perWork: 3, perRequest: 4096, contestShareOf: 'times', dHashMinBits: 8, dHashMinRowChange: 0, chunkRadius: 0, extendAfter: 2, partnerBits: 16, maxExtended: Infinity, perBucket: Infinity, seedsPer: 'hash' },
  { version: 4, from: Date.UTC(2026, 11, 4, 19), perFrame: 16, perWork: 3, perRequest: 4096, contestShareOf: 'times', dHashMinBits: 8, dHashMinRowChange: 0, chunkRadius: 0, extendAfter: 2, partnerBits: 4, maxExtended: Infinity, perBucket: Infinity, seedsPer: 'hash' },
  { version: 5, from: Date.UTC(2026, 11, 4, 19, 30), perFrame: 16, perWork: 3, perRequest: 4096, contestShareOf: 'times', dHashMinBits: 8, dHashMinRowChange: 6, chunkRadius: 0, extendAfter: 2, partnerBits: 4, maxExtended: Infinity, perBucket: Infinity, seedsPer: 'hash' },
  { version: 6, from: Date.UTC(2026, 11, 5, 14, 30), perFrame: 16, perWork: 3, perRequest: 4096, contestShareOf: 'times', dHashMinBits: 8, dHashMinRowChange: 6, chunkRadius: 0, extendAfter: 2, partnerBits: 4, maxExtended: 32, perBucket: 8, seedsPer: 'hash' },
  { version: 7, from: Date.UTC(2026, 11, 5, 18, 30), perFrame: 16, perWork: 3, perRequest: 4096, contestShareOf: 'times', dHashMinBits: 8, dHashMinRowChange: 6, chunkRadius: 0, extendAfter: 2, partnerBits: 4, maxExtended: 32, perBucket: 8, seedsPer: 'upload frame' },
];

/**
 * Frames of one work within this many bits in both hashes are one entry of the index. It is
 * part of the index of FINGERPRINT_KIND, not of a rules version: changing it means a new kind.
 */
export const COLLAPSE_BITS = 2;

/** How many frames of a work registered under matching rules `version` (none: before they were versioned) are filed in one bucket. */
export function perBucketOf(version: number | undefined): number {
  return MATCHING_RULES.find((r) => r.version === version)?.perBucket ?? Infinity;
}

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

/**
 * What one index finds of a query before the works to search whole are chosen: a store's
 * and a batch overlay's probes (or those of any split of the works between indexes) decide
 * together as one index's would (`probeHits`).
 */
export interface Probe {
  /** what the probe reached, each upload frame's capped */
  hits: FrameHit[];
  /** the frames the probe found of each work (by ledger index), counted before the caps */
  seeds: Map<number, number>;
  /**
   * The hits of each work (by ledger index) that the search of every index together may
   * choose to search whole, searched whole: the index's own first `rules.maxExtended` by
   * `wholeWorks`, since a work among the first of all indexes is among the first of its own.
   */
  whole: Map<number, FrameHit[]>;
}

/**
 * The works (by ledger index) to search whole: none under an exact search (chunk radius 2),
 * else those the probe found `rules.extendAfter` frames of, the most first, then the
 * earliest registered; at most `rules.maxExtended`.
 */
export function wholeWorks(seeds: ReadonlyMap<number, number>, rules: MatchingRules): number[] {
  if (rules.chunkRadius === 2) return [];
  const order = [...seeds.keys()].filter((w) => (seeds.get(w) as number) >= rules.extendAfter).sort((a, b) => (seeds.get(b) as number) - (seeds.get(a) as number) || a - b);
  return order.slice(0, rules.maxExtended);
}

/**
 * The hits of a search over several indexes (a store and a batch's overlay), from each one's
 * probe: the works to search whole chosen from all their seeds together, those works' whole
 * hits in place of what the probe found of them (a subset), capped. A work searched whole
 * finds again what the probe found of it, so dropping its probed hits from a capped list and
 * capping again with its whole hits keeps what capping everything at once would (a cap never
 * keeps a hit that it dropped from a smaller list).
 */
export function probeHits(probes: readonly Probe[], rules: MatchingRules): FrameHit[] {
  const seeds = new Map<number, number>();
  for (const p of probes) for (const [w, n] of p.seeds) seeds.set(w, (seeds.get(w) ?? 0) + n);
  const whole = new Set(wholeWorks(seeds, rules));
  if (whole.size === 0 && probes.length === 1) return (probes[0] as Probe).hits;
  const out: FrameHit[] = [];
  for (const p of probes) {
    for (const h of p.hits) if (!whole.has(h.workIndex)) out.push(h);
    for (const [w, hits] of p.whole) if (whole.has(w)) for (const h of hits) out.push(h);
  }
  return capHits(out, rules);
}

/** Works to search whole (`SimilarityIndex.wholeOf`): their ledger indices, and each one's first record number and records. */
export interface WholeWorks {
  works: readonly number[];
  first: number[];
  records: Uint32Array[];
}

/** A query frame: its time, its hash, and optionally the hash of the frame mirrored. */
export type QueryFrame = FrameHash & { mirrored?: Uint8Array };

// A frame's record in the index: pHash high, pHash low, dHash high, dHash low (4 values, so
// a record is one aligned run in one page); its time is kept apart, its work found from the
// works' first records.
const FRAME = 4;
// Bucket lists are chains of BLOCK-value blocks in one pool: the next block's address, then
// up to ENTRIES frame numbers (EMPTY after the last). Beside each block, at half its address
// in `partners`, each entry's partner chunk: the other 16 bits of the 32-bit word the
// bucket's chunk is in, two to a value. From matching rules 4 a candidate whose partner is
// more than `partnerBits` away is passed over without reading its record: reading the
// record is a random access for each of the ~1,200 candidates of a query hash at ten
// million frames, and was the search's whole cost. (Rules 3 carried the whole other word
// in each entry, 8 bytes an entry against 6; its filter now reads the record, which only
// its replays pay.) Blocks of 15 entries: at ten million frames a bucket holds ~150, so a
// probe follows ~10 scattered blocks; blocks of 7 took 1.7× the time, and blocks of 31
// held half as much again at 100 k frames (`npm run bench:fingerprints`).
const BLOCK = 16;
const ENTRIES = 15;
const EMPTY = 0xffffffff;
/** 2 hash kinds × 4 chunks × 65,536 values */
const BUCKETS = 2 * 4 * 65536;

/**
 * Everything a SimilarityIndex holds, as it holds it (no copies): what a store keeps to
 * reopen the index without rebuilding it (store/saved-indexes.ts). Works are in the order added.
 */
export interface SimilarityImage {
  records: PagedImage;
  times: PagedImage;
  pool: PagedImage;
  partners: PagedImage;
  heads: Uint32Array | null;
  tails: Uint32Array | null;
  fill: Uint8Array | null;
  count: number;
  works: string[];
  workIndices: number[];
  workFirst: number[];
  workEnd: number[];
  durations: number[];
}

/**
 * Refuses (RangeError) an image whose parts do not fit together as `add` leaves them: a
 * saved index is read back only if every frame, block and work it names is within it, so a
 * search never reads past its pages. (The pages' contents are the store's to vouch for.)
 */
function checkImage(i: SimilarityImage): void {
  const fail = (what: string) => {
    throw new RangeError(`a fingerprint index image with ${what}`);
  };
  const { count, records, times, pool, partners, heads, tails, fill, works } = i;
  if (!Number.isSafeInteger(count) || count < 0 || records.length !== count * FRAME || times.length !== count) fail('frames that are not its records');
  if (pool.length % BLOCK !== 0 || partners.length !== pool.length / 2) fail('bucket blocks out of step');
  if ((heads === null) !== (pool.length === 0) || (heads === null) !== (tails === null) || (heads === null) !== (fill === null)) fail('bucket lists but no blocks, or blocks but no lists');
  if (heads && tails && fill) {
    if (heads.length !== BUCKETS || tails.length !== BUCKETS || fill.length !== BUCKETS) fail('bucket heads of the wrong size');
    for (let b = 0; b < BUCKETS; b++) {
      const [head, tail] = [heads[b] as number, tails[b] as number];
      if (head % BLOCK !== 0 || tail % BLOCK !== 0 || head >= pool.length || tail >= pool.length || (head === 0) !== (tail === 0) || (fill[b] as number) > ENTRIES) fail('a bucket outside its blocks');
    }
  }
  const n = works.length;
  if (i.workIndices.length !== n || i.workFirst.length !== n || i.workEnd.length !== n || i.durations.length !== n) fail('works out of step');
  for (let w = 0; w < n; w++) if (!((i.workFirst[w] as number) <= (i.workEnd[w] as number) && (i.workEnd[w] as number) <= count && (w === 0 || (i.workEnd[w - 1] as number) === i.workFirst[w]))) fail('a work outside its frames');
}

export class SimilarityIndex {
  private readonly records: U32Pages;
  private readonly times: U32Pages;
  private readonly pool: U32Pages;
  private readonly partners: U32Pages;
  // Each bucket's first and last block (0: empty; the pool's first block is never one). Made
  // at the first frame (4.5 MB, zeroed lazily by the system): a batch's overlay without
  // fingerprints never pays for them.
  private heads: Uint32Array | null = null;
  private tails: Uint32Array | null = null;
  // How many entries each bucket's last block holds, so filing one reads no block.
  private fill: Uint8Array | null = null;
  // Scratch for `add` (one byte a bucket: MatchingRules.perBucket is below 256).
  private filedCounts: Uint8Array | null = null;
  private count = 0;
  private readonly works: string[] = [];
  private readonly workIndices: number[] = [];
  // Each work's frames are the records [workFirst, workEnd): added together, never moved.
  private readonly workFirst: number[] = [];
  private readonly workEnd: number[] = [];
  private readonly workNumber = new Map<string, number>();
  /** a work's ledger index → its number */
  private readonly workNumberByIndex = new Map<number, number>();
  /** work → its longest registered frame time, ms */
  readonly durations = new Map<string, number>();

  /**
   * `pages`: where the frames and bucket lists are kept (the heap unless a store maps a
   * file). With `image`, the index it was taken of, going on from there.
   */
  constructor(pages: PageSource = heapPages, image?: SimilarityImage) {
    this.records = new U32Pages(pages, image?.records);
    this.times = new U32Pages(pages, image?.times);
    this.pool = new U32Pages(pages, image?.pool);
    this.partners = new U32Pages(pages, image?.partners);
    if (!image) return;
    checkImage(image);
    this.heads = image.heads;
    this.tails = image.tails;
    this.fill = image.fill;
    this.count = image.count;
    image.works.forEach((work, w) => {
      this.works.push(work);
      this.workNumber.set(work, w);
      this.workNumberByIndex.set(image.workIndices[w] as number, w);
      this.workIndices.push(image.workIndices[w] as number);
      this.workFirst.push(image.workFirst[w] as number);
      this.workEnd.push(image.workEnd[w] as number);
      this.durations.set(work, image.durations[w] as number);
    });
  }

  get image(): SimilarityImage {
    const { records, times, pool, partners, heads, tails, fill, count, works, workIndices, workFirst, workEnd } = this;
    return { records: records.image, times: times.image, pool: pool.image, partners: partners.image, heads, tails, fill, count, works, workIndices, workFirst, workEnd, durations: works.map((w) => this.durations.get(w) as number) };
  }

  get frames(): number {
    return this.count;
  }

  /** Bytes the frames and their bucket lists hold (what grows with the index). */
  get bytes(): number {
    return this.records.bytes + this.times.bytes + this.pool.bytes + this.partners.bytes + (this.heads ? 9 * BUCKETS : 0);
  }

  has(work: string): boolean {
    return this.workNumber.has(work);
  }

  /**
   * Indexes a work's frames. `index` is the ledger index of its registration. Frames within
   * COLLAPSE_BITS (in both hashes) of one already kept for the same work are one frame:
   * 750 copies of one picture cost one entry, and searching them costs one hit (issue 10.2).
   * At most `perBucket` of its frames are filed in any one bucket (MatchingRules.perBucket,
   * by the rules it was registered under: `perBucketOf`); every frame is kept, for searches
   * of the work whole.
   */
  add(work: string, index: number, frames: readonly FrameHash[], perBucket = Infinity): void {
    if (frames.length === 0 || this.workNumber.has(work)) return;
    const w = this.works.push(work) - 1;
    this.workIndices.push(index);
    this.workNumber.set(work, w);
    this.workNumberByIndex.set(index, w);
    let duration = 0;
    this.workFirst.push(this.count);
    const kept = new Map<number, number[]>();
    // This work's frames filed in each bucket, when they are bounded (a Map per work made a
    // rebuild of 10 M frames 3 s slower of 65); zeroed again after the work.
    const filed = perBucket === Infinity ? null : (this.filedCounts ??= new Uint8Array(BUCKETS));
    const touched: number[] = [];
    for (const f of frames) {
      duration = Math.max(duration, f.timeMs);
      const words = toWords(f.hash);
      if (this.collapses(words, kept)) continue;
      const n = this.count++;
      const at = this.records.extend(FRAME);
      (this.records.pages[at >>> PAGE_SHIFT] as Uint32Array).set(words, at & PAGE_MASK);
      this.times.set(this.times.extend(1), f.timeMs);
      for (let kind = 0; kind < 2; kind++) {
        for (let c = 0; c < 4; c++) {
          const b = bucketOf(words, kind, c);
          if (filed) {
            const k = filed[b] as number;
            if (k >= perBucket) continue;
            if (k === 0) touched.push(b);
            filed[b] = k + 1;
          }
          this.file(b, n, bucketOf(words, kind, c ^ 1) & 0xffff);
        }
      }
    }
    for (const b of touched) (filed as Uint8Array)[b] = 0;
    this.workEnd.push(this.count);
    this.durations.set(work, duration);
  }

  /** Appends frame `n` to bucket `b`'s list, with `partner`, the other chunk of the word the bucket's chunk is in. */
  private file(b: number, n: number, partner: number): void {
    const { pool, partners } = this;
    if (!this.heads) {
      this.heads = new Uint32Array(BUCKETS);
      this.tails = new Uint32Array(BUCKETS);
      this.fill = new Uint8Array(BUCKETS);
      pool.extend(BLOCK);
      partners.extend(BLOCK / 2);
    }
    const heads = this.heads;
    const tails = this.tails as Uint32Array;
    const fill = this.fill as Uint8Array;
    let block = tails[b] as number;
    let used = fill[b] as number;
    if (block === 0 || used === ENTRIES) {
      const next = pool.extend(BLOCK);
      partners.extend(BLOCK / 2);
      for (let e = 1; e < ENTRIES; e++) pool.set(next + 1 + e, EMPTY);
      if (block === 0) heads[b] = next;
      else pool.set(block, next);
      tails[b] = block = next;
      used = 0;
    }
    pool.set(block + 1 + used, n);
    const at = (block >>> 1) + (used >>> 1);
    const pair = partners.get(at);
    partners.set(at, used & 1 ? ((pair & 0xffff) | (partner << 16)) >>> 0 : partner);
    fill[b] = used + 1;
  }

  /**
   * Whether a frame kept of this work (`kept`: its frames by pHash chunk) is within
   * COLLAPSE_BITS of `q` in both hashes. Two pHashes within 2 bits agree on at least two of
   * their four chunks, so the frames sharing a chunk with `q` are all that can be; files `q`
   * under its chunks when it is not collapsed. (A scan of the work's frames cost 720² pairs a
   * work, most of the time of rebuilding ten million frames at start-up.)
   */
  private collapses(q: Uint32Array, kept: Map<number, number[]>): boolean {
    const { pages } = this.records;
    const chunks = [0, 1, 2, 3].map((c) => bucketOf(q, 0, c));
    for (const chunk of chunks) {
      for (const m of kept.get(chunk) ?? []) {
        const page = pages[(m * FRAME) >>> PAGE_SHIFT] as Uint32Array;
        const at = (m * FRAME) & PAGE_MASK;
        const p = popcount(((q[0] as number) ^ (page[at] as number)) >>> 0) + popcount(((q[1] as number) ^ (page[at + 1] as number)) >>> 0);
        if (p > COLLAPSE_BITS) continue;
        const d = popcount(((q[2] as number) ^ (page[at + 2] as number)) >>> 0) + popcount(((q[3] as number) ^ (page[at + 3] as number)) >>> 0);
        if (d <= COLLAPSE_BITS) return true;
      }
    }
    // Not collapsed: it is about to be kept as the next record.
    for (const chunk of chunks) {
      const list = kept.get(chunk);
      if (list) list.push(this.count);
      else kept.set(chunk, [this.count]);
    }
    return false;
  }

  addEncoded(work: string, index: number, bytes: Uint8Array, perBucket = Infinity): void {
    this.add(work, index, decodeFrames(bytes), perBucket);
  }

  /**
   * Every indexed frame within RADIUS of `hash` in pHash or dHash that `rules` reach, with
   * its distance (by default version 1's: all of them). A dHash that is not informative by
   * `rules` (too few ones or zeros, rows too alike), the query's or a frame's, does not count; buckets are read within
   * `rules.chunkRadius` bits of each chunk (with 2, what is found is exact), and below that an
   * entry is passed over when its partner chunk is more than `rules.partnerBits` away, or the
   * other word of its hash more than RADIUS (MatchingRules). With `budget`, at most that many
   * candidates are examined (buckets are read in the order they were filled): a bound on one
   * query frame's work when buckets have been stuffed.
   */
  near(hash: Uint8Array, rules: DHashRule & Pick<MatchingRules, 'chunkRadius' | 'partnerBits'> = MATCHING_RULES[0] as MatchingRules, budget = Infinity): Array<{ frame: number; distance: number }> {
    const { heads } = this;
    const out: Array<{ frame: number; distance: number }> = [];
    if (!heads) return out;
    const { chunkRadius } = rules;
    const partnerBits = chunkRadius === 2 ? 16 : rules.partnerBits;
    const pool = this.pool.pages;
    const partners = this.partners.pages;
    const records = this.records.pages;
    const q = toWords(hash);
    const [q0, q1, q2, q3] = q as unknown as [number, number, number, number];
    const queryDHash = informative(q2, q3, rules);
    // A frame may be a candidate in several buckets; it is a hit once. Hits are few, so they
    // are looked through until there are many (a set for each query hash was garbage enough
    // to show as pauses under a flood of checks).
    let found: Set<number> | null = null;
    const already = (n: number) => {
      if (found) return found.has(n);
      for (const h of out) if (h.frame === n) return true;
      return false;
    };
    let examined = 0;
    // Without a dHash that counts, only frames near in pHash can be found, all through its tables.
    for (let kind = 0; kind < (queryDHash ? 2 : 1); kind++) {
      for (let c = 0; c < 4; c++) {
        const own = bucketOf(q, kind, c);
        const table = own & ~0xffff;
        const value = own & 0xffff;
        const partner = bucketOf(q, kind, c ^ 1) & 0xffff;
        const otherAt = otherWordAt(kind, c);
        const other = q[otherAt] as number;
        for (let f = 0, probes = WITHIN[chunkRadius] as number; f < probes; f++) {
          for (let block = heads[table | (value ^ (NEIGHBOURS[f] as number))] as number; block !== 0; ) {
            const bp = pool[block >>> PAGE_SHIFT] as Uint32Array;
            const bo = block & PAGE_MASK;
            const pp = partners[(block >>> 1) >>> PAGE_SHIFT] as Uint32Array;
            const po = (block >>> 1) & PAGE_MASK;
            for (let e = 0; e < ENTRIES; e++) {
              const n = bp[bo + 1 + e] as number;
              if (n === EMPTY) break;
              if (++examined > budget) return out;
              if (partnerBits < 16) {
                const pair = pp[po + (e >>> 1)] as number;
                if (popcount(((e & 1 ? pair >>> 16 : pair & 0xffff) ^ partner) >>> 0) > partnerBits) continue;
              }
              if (already(n)) continue;
              const page = records[(n * FRAME) >>> PAGE_SHIFT] as Uint32Array;
              const at = (n * FRAME) & PAGE_MASK;
              // Farther than RADIUS in this kind's other word: if it is near in the other
              // kind, that kind's tables find it (in an exact search), or it is not this
              // probe's to find.
              if (popcount((other ^ (page[at + otherAt] as number)) >>> 0) > RADIUS) continue;
              const distance = frameDistance(page, at, q0, q1, q2, q3, queryDHash, rules);
              if (distance > RADIUS) continue;
              out.push({ frame: n, distance });
              if (found) found.add(n);
              else if (out.length > 32) found = new Set(out.map((h) => h.frame));
            }
            block = bp[bo] as number;
          }
        }
      }
    }
    return out;
  }

  /** The number of the work frame record `n` is of: works' records are consecutive, in the order added. */
  private ownerOf(n: number): number {
    const first = this.workFirst;
    let lo = 0;
    let hi = first.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((first[mid] as number) <= n) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Hits for query frames (each, and its mirror when given, against the index), capped by
   * `capHits`: with rules of chunk radius 2, everything within RADIUS; below it, a work the
   * probe found `extendAfter` frames of is then searched whole, so what is found of it is
   * exact, and of any other work what the probe found; at most `rules.maxExtended` works
   * are searched whole (`probeHits`).
   */
  search(query: readonly QueryFrame[], opts: { budget?: number; rules?: MatchingRules } = {}): FrameHit[] {
    const rules = opts.rules ?? CURRENT_MATCHING;
    return probeHits([this.probe(query, { ...opts, rules })], rules);
  }

  /** What this index finds of the query before the works to search whole are chosen among every index searched (`Probe`). */
  probe(query: readonly QueryFrame[], opts: { budget?: number; rules: MatchingRules }): Probe {
    const seeds = new Map<number, number>();
    const hits = this.hits(query, { ...opts, seeds });
    return { hits, seeds, whole: this.extension(this.wholeOf(wholeWorks(seeds, opts.rules)), query, opts.rules) };
  }

  /**
   * The probe of `search`, for query frames searched a few at a time: hits within RADIUS
   * that the probe reaches, each upload frame's capped. With `seeds`, counts every frame
   * found, before the caps, by its work's ledger index.
   */
  hits(query: readonly QueryFrame[], opts: { budget?: number; rules?: MatchingRules; seeds?: Map<number, number> } = {}): FrameHit[] {
    const rules = opts.rules ?? CURRENT_MATCHING;
    const { seeds } = opts;
    const seed = (frames: Iterable<number>) => {
      if (!seeds) return;
      for (const frame of frames) {
        const w = this.workIndices[this.ownerOf(frame)] as number;
        seeds.set(w, (seeds.get(w) ?? 0) + 1);
      }
    };
    const perHash = rules.seedsPer === 'hash';
    return this.assemble(
      query,
      rules,
      (hash) => {
        const best = new Map<number, number>();
        for (const { frame, distance } of this.near(hash, rules, opts.budget)) {
          best.set(frame, distance);
          if (perHash) seed([frame]);
        }
        return best;
      },
      perHash ? undefined : (best) => seed(best.keys()),
    );
  }

  /** The works (by ledger index) to search whole, their records read once for every query hash to go through. */
  wholeOf(works: readonly number[]): WholeWorks {
    const first: number[] = [];
    const records = works.map((index) => {
      const w = this.workByIndex(index);
      const [from, end] = [this.workFirst[w] as number, this.workEnd[w] as number];
      first.push(from);
      const mine = new Uint32Array((end - from) * FRAME);
      for (let n = from; n < end; n++) {
        const at = (n * FRAME) & PAGE_MASK;
        mine.set((this.records.pages[(n * FRAME) >>> PAGE_SHIFT] as Uint32Array).subarray(at, at + FRAME), (n - from) * FRAME);
      }
      return mine;
    });
    return { works, first, records };
  }

  /**
   * Every frame of the works within RADIUS of each query frame: each work's hits, capped as
   * if it were the only one (so that a search of several indexes can drop any of them).
   */
  extension(whole: WholeWorks, query: readonly QueryFrame[], rules: MatchingRules): Map<number, FrameHit[]> {
    // Most searches choose no work: the query frames are not gone through for nothing.
    if (whole.works.length === 0) return new Map();
    const alone = { ...rules, perFrame: Infinity, perRequest: Infinity };
    const hits = this.assemble(query, alone, (hash) => {
      const [q0, q1, q2, q3] = toWords(hash) as unknown as [number, number, number, number];
      const queryDHash = informative(q2, q3, rules);
      const best = new Map<number, number>();
      whole.records.forEach((mine, k) => {
        const first = whole.first[k] as number;
        for (let at = 0; at < mine.length; at += FRAME) {
          const distance = frameDistance(mine, at, q0, q1, q2, q3, queryDHash, rules);
          if (distance <= RADIUS) best.set(first + at / FRAME, distance);
        }
      });
      return best;
    });
    const out = new Map<number, FrameHit[]>(whole.works.map((w) => [w, []]));
    for (const h of hits) (out.get(h.workIndex) as FrameHit[]).push(h);
    for (const [w, list] of out) out.set(w, capHits(list, rules));
    return out;
  }

  /** The work (its number here) registered at ledger index `index`. */
  private workByIndex(index: number): number {
    const w = this.workNumberByIndex.get(index);
    if (w === undefined) throw new RangeError(`no work registered at ledger index ${index} in this index`);
    return w;
  }

  /**
   * Hits of each query frame, the closer of it and its mirror, from `find` (indexed frame →
   * distance, for one hash; identical hashes are searched once; `eachFrame` sees each query
   * frame's, before any cap), capped frame by frame so an
   * upload frame near thousands of indexed ones costs little, then all together.
   */
  private assemble(query: readonly QueryFrame[], rules: MatchingRules, find: (hash: Uint8Array) => Map<number, number>, eachFrame?: (best: Map<number, number>) => void): FrameHit[] {
    const found = new Map<string, Map<number, number>>();
    const search = (hash: Uint8Array) => {
      const key = toHex(hash);
      let best = found.get(key);
      if (!best) found.set(key, (best = find(hash)));
      return best;
    };
    const out: FrameHit[] = [];
    for (const q of query) {
      const best = new Map(search(q.hash));
      if (q.mirrored) for (const [frame, distance] of search(q.mirrored)) best.set(frame, Math.min(distance, best.get(frame) ?? Infinity));
      eachFrame?.(best);
      const frameHits: FrameHit[] = [];
      for (const [frame, distance] of best) {
        const w = this.ownerOf(frame);
        const work = this.works[w] as string;
        frameHits.push({ work, workIndex: this.workIndices[w] as number, workDurationMs: this.durations.get(work) ?? 0, workMs: this.times.get(frame), queryMs: q.timeMs, distance });
      }
      for (const h of capHits(frameHits, rules)) out.push(h);
    }
    return capHits(out, rules);
  }
}
