/**
 * npm run bench:crowding [-- --works 10,80,320]
 * What works that crowd the fingerprint index's buckets cost a later registration's search,
 * in process, under matching rules 5 (unbounded) and 6 (a work files at most `perBucket`
 * frames in one bucket; at most `maxExtended` works searched whole). Two crowds of 750
 * distinct frames a work, as `npm run attacks` registers them: frames that only share their
 * first pHash and dHash chunks with one picture (every probe of the registration reads
 * every crowding frame), and frames a few bits from the registration's own (each crowding
 * work is found, and searched whole). The search is the rules': each index's probe, then
 * `probeHits`. CPU time of one search, the median of five.
 */
import { parseArgs } from 'node:util';
import { sha256 } from '../src/core/crypto.js';
import type { FrameHash } from '../src/core/fingerprint.js';
import { MATCHING_RULES, probeHits, SimilarityIndex, type MatchingRules } from '../src/core/similarity.js';

const { values } = parseArgs({ options: { works: { type: 'string', default: '10,80,320' } } });
const counts = values.works.split(',').map(Number);
const rulesOf = (version: number) => MATCHING_RULES.find((r) => r.version === version) as MatchingRules;

let drawn = 0;
const draw = () => sha256(new TextEncoder().encode(`crowd ${drawn++}`)).slice(0, 16);
const picture = draw();
const upload: FrameHash[] = Array.from({ length: 750 }, (_, i) => ({ timeMs: i * 1000, hash: draw() }));

/** 750 frames sharing the picture's first pHash and dHash chunks, the rest drawn. */
const sharingChunks = (): FrameHash[] =>
  upload.map(({ timeMs }) => {
    const hash = draw();
    hash.set(picture.subarray(0, 2), 0);
    hash.set(picture.subarray(8, 10), 8);
    return { timeMs, hash };
  });
/** The upload's 750 frames, each with 3 bits of its pHash's second word flipped and its dHash drawn. */
const nearUpload = (): FrameHash[] =>
  upload.map(({ timeMs, hash }) => {
    const out = hash.slice();
    const bits = draw();
    for (let b = 0; b < 3; b++) out[4 + ((bits[b] as number) >> 5)]! ^= 1 << ((bits[b] as number) & 7);
    out.set(bits.subarray(8, 16), 8);
    return { timeMs, hash: out };
  });

function searchMs(index: SimilarityIndex, query: readonly FrameHash[], rules: MatchingRules): number {
  const times: number[] = [];
  for (let round = 0; round < 5; round++) {
    const started = process.cpuUsage();
    probeHits([index.probe(query, { rules })], rules);
    const used = process.cpuUsage(started);
    times.push((used.user + used.system) / 1000);
  }
  return times.sort((a, b) => a - b)[2] as number;
}

console.log('| crowd | crowding works | rules 5 | rules 6 | 6 / 5 |');
console.log('|---|---|---|---|---|');
for (const [name, crowd, query] of [
  ['sharing two chunks with the upload', sharingChunks, sharingChunks()],
  ['a few bits from the upload', nearUpload, upload],
] as const) {
  for (const n of counts) {
    const works = Array.from({ length: n }, crowd);
    const ms = [5, 6].map((version) => {
      const rules = rulesOf(version);
      const index = new SimilarityIndex();
      works.forEach((frames, w) => index.add(`w${w}`, w, frames, rules.perBucket));
      return searchMs(index, query, rules);
    });
    console.log(`| ${name} | ${n} | ${ms[0]!.toFixed(0)} ms | ${ms[1]!.toFixed(1)} ms | ${(ms[1]! / ms[0]!).toFixed(3)} |`);
  }
}
