/**
 * The near-duplicate search at scale (issue 13.7), in process: an index of N frame records
 * filled as registrations fill it (720 records a work: 480 whole frames and 240 region
 * hashes, random hashes), then uploads searched against it. Reports the build time, the
 * memory the index holds, the search time per query hash (its ratio across sizes is the
 * measure of how the index scales), and a 60-second upload checked as the server checks one
 * (hits of every query hash and its mirror, then segments), p50 and p99. The last exact
 * search (matching rules 2, every bucket within 2 bits of each chunk) is measured beside the
 * current one, in the same run, as its peer.
 */
import { randomBytes } from 'node:crypto';
import { segmentsOf } from '../../src/core/segments.js';
import type { FrameHash } from '../../src/core/fingerprint.js';
import { CURRENT_MATCHING, MATCHING_RULES, SimilarityIndex, type MatchingRules, type QueryFrame } from '../../src/core/similarity.js';
import { percentile } from './load.js';

export interface FingerprintBenchRow {
  frames: number;
  buildMs: number;
  /** what the index's frames and bucket lists hold (SimilarityIndex.bytes, as /metrics reports it), MB */
  mb: number;
  /** the process's resident memory once the index is built, MB */
  rssMb: number;
  /** search time per query hash, µs (a hash and its mirror count as two) */
  perHashUs: number;
  /** a 60 s upload at 4 fps, each time with its whole frame, mirror and region hashes */
  uploadP50: number;
  uploadP99: number;
  uploads: number;
  /** search time per query hash of the last exact rules (version 2), µs */
  exactPerHashUs: number;
  /** planted near frames (0–8 bits from a registered one in each hash) found by the current search, and by the exact one */
  recall: number;
  exactRecall: number;
}

/** The last rules whose search is exact within RADIUS: the peer the current search is measured against. */
export const EXACT = [...MATCHING_RULES].reverse().find((r) => r.chunkRadius === 2) as MatchingRules;

/** Records a registration carries (MAX_REGISTERED_FRAMES); one work's worth at a time. */
export const PER_WORK = 720;
/** Query hashes a check sends per sampled time besides the whole frame and its mirror: centre, two rotations, and a box or inner picture with its mirror. */
const REGIONS_PER_TIME = 5;

/** One registration's records: random hashes, one and a half a second (whole frames and regions). */
export const registeredFrames = (n = PER_WORK): FrameHash[] => Array.from({ length: n }, (_, i) => ({ timeMs: Math.floor(i / 1.5) * 1000, hash: randomBytes(16) }));

/** Where an upload's planted frame came from: its time in the upload, the work and the time in it. */
export interface Planted {
  queryMs: number;
  work: string;
  workMs: number;
}

/**
 * A 60 s upload at 4 fps, each time with its whole frame, mirror and region hashes: a quarter
 * of its times are frames of two registered works of `sample` in order (a compilation of two
 * clips), with 0–8 bits flipped in each of their hashes (MATCH_DISTANCE is 8), planted: the
 * share of them found is a search's recall.
 */
export function plantedUpload(sample: ReadonlyArray<{ work: string; frames: readonly FrameHash[] }>): { frames: QueryFrame[]; planted: Planted[] } {
  const flip = (hash: Uint8Array, from: number) => {
    const bits = new Set(Array.from({ length: Math.floor(Math.random() * 9) }, () => from + Math.floor(Math.random() * 64)));
    for (const bit of bits) hash[bit >> 3]! ^= 0x80 >> (bit & 7);
  };
  const planted: Planted[] = [];
  const clips = [0, 1].map(() => sample[Math.floor(Math.random() * sample.length)]!);
  const frames = Array.from({ length: 240 }, (_, i): QueryFrame[] => {
    const timeMs = i * 250;
    let hash = randomBytes(16);
    if (i % 4 === 0) {
      const clip = clips[i < 120 ? 0 : 1]!;
      const source = clip.frames[i / 4]!;
      hash = Buffer.from(source.hash);
      flip(hash, 0);
      flip(hash, 64);
      planted.push({ queryMs: timeMs, work: clip.work, workMs: source.timeMs });
    }
    return [{ timeMs, hash, mirrored: randomBytes(16) }, ...Array.from({ length: REGIONS_PER_TIME }, () => ({ timeMs, hash: randomBytes(16) }))];
  }).flat();
  return { frames, planted };
}

export function fingerprintBench(frameCounts: readonly number[], seconds: number): FingerprintBenchRow[] {
  const rows: FingerprintBenchRow[] = [];
  for (const frames of frameCounts) {
    global.gc?.();
    let index: SimilarityIndex | null = new SimilarityIndex();
    const sample: Array<{ work: string; frames: FrameHash[] }> = [];
    const t0 = performance.now();
    for (let w = 0; w * PER_WORK < frames; w++) {
      const list = registeredFrames(Math.min(PER_WORK, frames - w * PER_WORK));
      if (w < 200) sample.push({ work: `work${w}`, frames: list });
      index.add(`work${w}`, w, list);
    }
    const buildMs = performance.now() - t0;
    global.gc?.();
    const mb = index.bytes / 2 ** 20;
    const upload = () => plantedUpload(sample);
    // `times`: the first that many sampled times of each upload are searched; the exact
    // search, ~100× slower at 10 M, is measured on a part of each upload.
    const measure = (rules: MatchingRules, minUploads: number, times = 240) => {
      const latencies: number[] = [];
      let searchMs = 0;
      let hashes = 0;
      let found = 0;
      let planted = 0;
      const until = performance.now() + 1000 * seconds;
      while (performance.now() < until || latencies.length < minUploads) {
        const q = upload();
        const frames = q.frames.slice(0, times * (1 + REGIONS_PER_TIME));
        const t = performance.now();
        const hits = (index as SimilarityIndex).search(frames, { rules });
        searchMs += performance.now() - t;
        segmentsOf(hits);
        latencies.push(performance.now() - t);
        hashes += times * (2 + REGIONS_PER_TIME);
        const hit = new Set(hits.map((h) => `${h.queryMs} ${h.work} ${h.workMs}`));
        const inPart = q.planted.filter((p) => p.queryMs < times * 250);
        planted += inPart.length;
        found += inPart.filter((p) => hit.has(`${p.queryMs} ${p.work} ${p.workMs}`)).length;
      }
      latencies.sort((a, b) => a - b);
      return { latencies, recall: found / planted, perHashUs: (1000 * searchMs) / hashes };
    };
    const current = measure(CURRENT_MATCHING, 20);
    const exact = measure(EXACT, 3, 24);
    rows.push({
      frames,
      buildMs,
      mb,
      rssMb: process.memoryUsage().rss / 2 ** 20,
      perHashUs: current.perHashUs,
      uploadP50: percentile(current.latencies, 50),
      uploadP99: percentile(current.latencies, 99),
      uploads: current.latencies.length,
      exactPerHashUs: exact.perHashUs,
      recall: current.recall,
      exactRecall: exact.recall,
    });
    index = null;
  }
  return rows;
}
