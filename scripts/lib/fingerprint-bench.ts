/**
 * The near-duplicate search at scale (issue 13.7), in process: an index of N frame records
 * filled as registrations fill it (720 records a work: 480 whole frames and 240 region
 * hashes, random hashes), then uploads searched against it. Reports the build time, the
 * memory the index holds, the search time per query hash (its ratio across sizes is the
 * measure of how the index scales), and a 60-second upload checked as the server checks one
 * (hits of every query hash and its mirror, then segments), p50 and p99.
 */
import { randomBytes } from 'node:crypto';
import { segmentsOf } from '../../src/core/segments.js';
import { SimilarityIndex, type QueryFrame } from '../../src/core/similarity.js';
import { percentile } from './load.js';

export interface FingerprintBenchRow {
  frames: number;
  buildMs: number;
  /** heap and array buffers the index holds, MB */
  mb: number;
  /** the process's resident memory once the index is built, MB */
  rssMb: number;
  /** search time per query hash, µs (a hash and its mirror count as two) */
  perHashUs: number;
  /** a 60 s upload at 4 fps, each time with its whole frame, mirror and region hashes */
  uploadP50: number;
  uploadP99: number;
  uploads: number;
}

/** Records a registration carries (MAX_REGISTERED_FRAMES); one work's worth at a time. */
const PER_WORK = 720;
/** Query hashes a check sends per sampled time besides the whole frame and its mirror: centre, two rotations, and a box or inner picture with its mirror. */
const REGIONS_PER_TIME = 5;

export function fingerprintBench(frameCounts: readonly number[], seconds: number): FingerprintBenchRow[] {
  const rows: FingerprintBenchRow[] = [];
  for (const frames of frameCounts) {
    global.gc?.();
    const before = process.memoryUsage();
    let index: SimilarityIndex | null = new SimilarityIndex();
    const sample: Uint8Array[] = [];
    const t0 = performance.now();
    for (let w = 0; w * PER_WORK < frames; w++) {
      const list = Array.from({ length: Math.min(PER_WORK, frames - w * PER_WORK) }, (_, i) => ({ timeMs: Math.floor(i / 1.5) * 1000, hash: randomBytes(16) }));
      if (w < 200) for (const f of list) sample.push(f.hash);
      index.add(`work${w}`, w, list);
    }
    const buildMs = performance.now() - t0;
    global.gc?.();
    const after = process.memoryUsage();
    const mb = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 2 ** 20;
    // A 60 s upload: a quarter of its times are a registered frame with up to 6 bits flipped.
    const near = () => {
      const hash = Uint8Array.from(sample[Math.floor(Math.random() * sample.length)] as Uint8Array);
      for (let b = 0; b < 6; b++) hash[Math.floor(Math.random() * 16)]! ^= 1 << Math.floor(Math.random() * 8);
      return hash;
    };
    const upload = (): QueryFrame[] =>
      Array.from({ length: 240 }, (_, i) => {
        const timeMs = i * 250;
        const whole: QueryFrame = { timeMs, hash: i % 4 === 0 ? near() : randomBytes(16), mirrored: randomBytes(16) };
        return [whole, ...Array.from({ length: REGIONS_PER_TIME }, () => ({ timeMs, hash: randomBytes(16) }))];
      }).flat();
    const hashesPerUpload = 240 * (2 + REGIONS_PER_TIME);
    const latencies: number[] = [];
    let searchMs = 0;
    const until = performance.now() + 1000 * seconds;
    while (performance.now() < until || latencies.length < 20) {
      const q = upload();
      const t = performance.now();
      const hits = index.hits(q);
      searchMs += performance.now() - t;
      segmentsOf(hits);
      latencies.push(performance.now() - t);
    }
    latencies.sort((a, b) => a - b);
    rows.push({
      frames,
      buildMs,
      mb,
      rssMb: process.memoryUsage().rss / 2 ** 20,
      perHashUs: (1000 * searchMs) / (latencies.length * hashesPerUpload),
      uploadP50: percentile(latencies, 50),
      uploadP99: percentile(latencies, 99),
      uploads: latencies.length,
    });
    index = null;
  }
  return rows;
}
