/**
 * npm run crash-test -- --rounds N [--clients C] [--store postgres://…]
 * Kills the real server with SIGKILL under load N times and proves no receipt was lost.
 * `--store`: a PostgreSQL server (a database URL on it); the test makes a database of its own
 * there and drops it after, so it never writes into the one named.
 */
import '../src/core/crypto-node.js'; // node:crypto for signing, as the CLI does
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { crashTest } from './lib/crash.js';
import { withScratchDatabase } from './lib/scratch-database.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' }, clients: { type: 'string', default: '16' }, keep: { type: 'boolean' }, store: { type: 'string' } } });
const dir = await mkdtemp(join(tmpdir(), 'cartulary-crash-'));
const started = Date.now();
const run = (store?: string) =>
  crashTest({
    rounds: Number(values.rounds),
    clients: Number(values.clients),
    dataDir: join(dir, 'data'),
    keysDir: join(dir, 'keys'),
    ...(store ? { store } : {}),
    log: (l) => console.log(l),
  });
const report = values.store ? await withScratchDatabase(values.store, 'cartulary_crash', run) : await run();
if (typeof report === 'string') throw new Error(report);
console.log(`\nrounds killed: ${report.rounds}   receipts checked: ${report.receipts}   lost: ${report.lost}   audits passed: ${report.audits}/${report.rounds}   (${((Date.now() - started) / 1000).toFixed(1)} s)`);
for (const f of report.failures.slice(0, 20)) console.log(`  FAIL ${f}`);
if (!values.keep) await rm(dir, { recursive: true, force: true });
else console.log(`data kept in ${dir}${values.store ? ' (the keys; the database was dropped)' : ''}`);
process.exitCode = report.failures.length === 0 && report.lost === 0 ? 0 : 1;
