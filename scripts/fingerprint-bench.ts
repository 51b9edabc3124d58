/**
 * npm run bench:fingerprints [-- --large] [--sizes 100000,1000000] [--seconds S]
 * Section 6 of `npm run bench` alone (scripts/lib/fingerprint-bench.ts): the near-duplicate
 * index at 100k and 1M frame records (10M with --large), and a 60-second upload against it.
 * Run with `node --expose-gc` (as the npm script does) for memory figures without garbage.
 */
import { parseArgs } from 'node:util';
import { EXACT, fingerprintBench } from './lib/fingerprint-bench.js';

const { values } = parseArgs({ options: { large: { type: 'boolean' }, sizes: { type: 'string' }, seconds: { type: 'string', default: '5' } } });
const sizes = values.sizes ? values.sizes.split(',').map(Number) : values.large ? [100_000, 1_000_000, 10_000_000] : [100_000, 1_000_000];
const rows = fingerprintBench(sizes, Number(values.seconds));
const first = rows[0]!;
console.log(`| frame records | build | index memory | RSS | per query hash | ratio to the first | exact search (rules ${EXACT.version}) per hash | current / exact | planted frames found (exact) | 60 s upload p50 | p99 |`);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.frames.toLocaleString('en-US')} | ${(r.buildMs / 1000).toFixed(1)} s | ${r.mb.toFixed(0)} MB | ${r.rssMb.toFixed(0)} MB | ${r.perHashUs.toFixed(1)} µs | ${(r.perHashUs / first.perHashUs).toFixed(2)}× | ${r.exactPerHashUs.toFixed(1)} µs | ${(r.perHashUs / r.exactPerHashUs).toFixed(3)} | ${(100 * r.recall).toFixed(0)} % (${(100 * r.exactRecall).toFixed(0)} %) | ${r.uploadP50.toFixed(1)} ms | ${r.uploadP99.toFixed(1)} ms |`);
}
