/**
 * Near-duplicate search over frame fingerprints, and turning frame hits into matched
 * segments ("00:25–00:35 of work W").
 *
 * The index is multi-index hashing (Norouzi et al.): each 64-bit hash is cut into four
 * 16-bit chunks, each chunk indexing a bucket table. Two hashes within 10 bits agree to
 * within 2 bits on at least one chunk (pigeonhole), so a query probes, per chunk, every
 * value within 2 bits of its own (137 buckets) and checks the full distance of what it
 * finds: exact against a linear scan, in well under a millisecond at a million frames.
 * Both pHash and dHash are indexed; a frame's distance is the smaller of the two.
 */
import { decodeFrames, type FrameHash } from './fingerprint.js';

/** A frame within this many bits (in pHash or dHash) is a candidate. */
export const RADIUS = 10;
/** Frames at most this far apart count towards a `match`; further ones only towards `review`. */
export const MATCH_DISTANCE = 8;
const CHUNK_RADIUS = Math.floor(RADIUS / 4);
const OFFSET_BIN_MS = 250;

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
  /** the work's registered length (its last sampled frame), ms */
  workDurationMs: number;
  workMs: number;
  queryMs: number;
  distance: number;
}

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
  private readonly workNumber = new Map<string, number>();
  /** work → its longest registered frame time, ms */
  readonly durations = new Map<string, number>();
  // 2 hash kinds × 4 chunks × 65536 buckets of frame numbers; made on the first frame, since
  // most indexes (a batch's overlay, a verifier's replay) never see one.
  private buckets: Array<number[] | undefined> | null = null;

  get frames(): number {
    return this.count;
  }

  has(work: string): boolean {
    return this.workNumber.has(work);
  }

  add(work: string, frames: readonly FrameHash[]): void {
    if (frames.length === 0 || this.workNumber.has(work)) return;
    const w = this.works.push(work) - 1;
    this.workNumber.set(work, w);
    const buckets = (this.buckets ??= new Array(2 * 4 * 65536));
    this.durations.set(work, Math.max(...frames.map((f) => f.timeMs)));
    for (const f of frames) {
      if (this.count === this.times.length) this.grow();
      const n = this.count++;
      const words = toWords(f.hash);
      this.words.set(words, n * 4);
      this.times[n] = f.timeMs;
      this.owners[n] = w;
      for (let kind = 0; kind < 2; kind++) {
        for (let c = 0; c < 4; c++) (buckets[bucketOf(words, kind, c)] ??= []).push(n);
      }
    }
  }

  addEncoded(work: string, bytes: Uint8Array): void {
    this.add(work, decodeFrames(bytes));
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

  /** Every indexed frame within RADIUS of `hash` in pHash or dHash, with its distance. */
  near(hash: Uint8Array): Array<{ frame: number; distance: number }> {
    const { words, stamps, buckets } = this;
    const out: Array<{ frame: number; distance: number }> = [];
    if (!buckets) return out;
    const q = toWords(hash);
    const stamp = ++this.query;
    const [q0, q1, q2, q3] = q as unknown as [number, number, number, number];
    for (let kind = 0; kind < 2; kind++) {
      for (let c = 0; c < 4; c++) {
        const own = bucketOf(q, kind, c);
        const table = own & ~0xffff;
        const value = own & 0xffff;
        for (let f = 0; f < NEIGHBOURS.length; f++) {
          const bucket = buckets[table | (value ^ (NEIGHBOURS[f] as number))];
          if (bucket === undefined) continue;
          for (let i = 0; i < bucket.length; i++) {
            const n = bucket[i] as number;
            if (stamps[n] === stamp) continue;
            stamps[n] = stamp;
            const at = n << 2;
            const p = popcount((q0 ^ (words[at] as number)) >>> 0) + popcount((q1 ^ (words[at + 1] as number)) >>> 0);
            const d = popcount((q2 ^ (words[at + 2] as number)) >>> 0) + popcount((q3 ^ (words[at + 3] as number)) >>> 0);
            const distance = p < d ? p : d;
            if (distance <= RADIUS) out.push({ frame: n, distance });
          }
        }
      }
    }
    return out;
  }

  /** Hits for query frames: each query frame (and its mirror, when given) against the index. */
  hits(query: ReadonlyArray<FrameHash & { mirrored?: Uint8Array }>, exclude: ReadonlySet<string> = new Set()): FrameHit[] {
    const out: FrameHit[] = [];
    for (const q of query) {
      const best = new Map<number, number>();
      for (const h of [q.hash, ...(q.mirrored ? [q.mirrored] : [])]) {
        for (const { frame, distance } of this.near(h)) best.set(frame, Math.min(distance, best.get(frame) ?? Infinity));
      }
      for (const [frame, distance] of best) {
        const work = this.works[this.owners[frame] as number] as string;
        if (!exclude.has(work)) out.push({ work, workDurationMs: this.durations.get(work) ?? 0, workMs: this.times[frame] as number, queryMs: q.timeMs, distance });
      }
    }
    return out;
  }
}

export interface Segment {
  /** the upload's time range, ms */
  upload: [number, number];
  /** the matched work's time range, ms */
  work: [number, number];
  frames: number;
  distance: number;
  strength: 'match' | 'review';
}

export interface WorkMatch {
  work: string;
  workDurationMs: number;
  segments: Segment[];
  strength: 'match' | 'review';
}

/**
 * Groups frame hits into segments: hits of one work that share a time offset (work time −
 * upload time, in 250 ms bins, neighbours merged) are one segment. Only each upload frame's
 * closest hits in a work vote, and a segment whose upload range mostly lies inside a
 * stronger one of the same work is dropped: in continuously changing video a frame is also
 * near the samples a second either side, and those echoes are not segments of their own.
 * A segment is a `match` with at least 3 distinct upload frames (1 for an image) at a mean
 * distance within MATCH_DISTANCE, a `review` with at least 2; anything less is noise.
 */
export function segmentsOf(hits: readonly FrameHit[]): WorkMatch[] {
  const byWork = new Map<string, FrameHit[]>();
  for (const h of hits) (byWork.get(h.work) ?? byWork.set(h.work, []).get(h.work)!).push(h);
  const matches: WorkMatch[] = [];
  for (const [work, all] of byWork) {
    const closest = new Map<number, number>();
    for (const h of all) closest.set(h.queryMs, Math.min(h.distance, closest.get(h.queryMs) ?? Infinity));
    const list = all.filter((h) => h.distance <= (closest.get(h.queryMs) as number) + 1);
    const bins = new Map<number, FrameHit[]>();
    for (const h of list) {
      const bin = Math.round((h.workMs - h.queryMs) / OFFSET_BIN_MS);
      (bins.get(bin) ?? bins.set(bin, []).get(bin)!).push(h);
    }
    // Strongest offsets first; a bin next to one already taken belongs to it.
    const order = [...bins.entries()].sort((a, b) => b[1].length - a[1].length);
    const taken = new Map<number, FrameHit[]>();
    for (const [bin, binHits] of order) {
      const home = [bin - 1, bin + 1].find((b) => taken.has(b));
      if (home !== undefined) taken.get(home)!.push(...binHits);
      else taken.set(bin, [...binHits]);
    }
    const candidates: Segment[] = [];
    for (const group of taken.values()) {
      // One hit per upload frame: its closest.
      const perFrame = new Map<number, FrameHit>();
      for (const h of group) if (!perFrame.has(h.queryMs) || h.distance < perFrame.get(h.queryMs)!.distance) perFrame.set(h.queryMs, h);
      const frames = [...perFrame.values()];
      // An image is one frame: one close frame is the whole of it.
      const image = (all[0]?.workDurationMs ?? 0) === 0;
      if (frames.length < (image ? 1 : 2)) continue;
      const distance = frames.reduce((sum, h) => sum + h.distance, 0) / frames.length;
      candidates.push({
        upload: [Math.min(...frames.map((h) => h.queryMs)), Math.max(...frames.map((h) => h.queryMs))],
        work: [Math.min(...frames.map((h) => h.workMs)), Math.max(...frames.map((h) => h.workMs))],
        frames: frames.length,
        distance: Math.round(distance * 10) / 10,
        strength: (image || frames.length >= 3) && distance <= MATCH_DISTANCE ? 'match' : 'review',
      });
    }
    const segments: Segment[] = [];
    for (const c of candidates.sort((a, b) => b.frames - a.frames || a.distance - b.distance)) {
      const span = Math.max(1, c.upload[1] - c.upload[0]);
      const echo = segments.some((s) => Math.min(s.upload[1], c.upload[1]) - Math.max(s.upload[0], c.upload[0]) > span / 2);
      if (!echo) segments.push(c);
    }
    if (segments.length === 0) continue;
    segments.sort((a, b) => a.upload[0] - b.upload[0]);
    matches.push({ work, workDurationMs: all[0]?.workDurationMs ?? 0, segments, strength: segments.some((x) => x.strength === 'match') ? 'match' : 'review' });
  }
  const weight = (m: WorkMatch) => m.segments.reduce((n, x) => n + x.frames, 0);
  return matches.sort((a, b) => weight(b) - weight(a));
}
