/**
 * npm run crash-test -- --rounds N [--clients C] [--store postgres://…]
 * Kills the real server with SIGKILL under load N times and proves no receipt was lost.
 */
import '../src/core/crypto-node.js'; // node:crypto for signing, as the CLI does
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { crashTest } from './lib/crash.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' }, clients: { type: 'string', default: '16' }, keep: { type: 'boolean' }, store: { type: 'string' } } });
const dir = await mkdtemp(join(tmpdir(), 'cartulary-crash-'));
const started = Date.now();
const report = await crashTest({
  rounds: Number(values.rounds),
  clients: Number(values.clients),
  dataDir: join(dir, 'data'),
  keysDir: join(dir, 'keys'),
  ...(values.store ? { store: values.store } : {}),
  log: (l) => console.log(l),
});
console.log(`\nrounds killed: ${report.rounds}   receipts checked: ${report.receipts}   lost: ${report.lost}   audits passed: ${report.audits}/${report.rounds}   (${((Date.now() - started) / 1000).toFixed(1)} s)`);
for (const f of report.failures.slice(0, 20)) console.log(`  FAIL ${f}`);
if (!values.keep) await rm(dir, { recursive: true, force: true });
else console.log(`data kept in ${dir}`);
process.exitCode = report.failures.length === 0 && report.lost === 0 ? 0 : 1;
