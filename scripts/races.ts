/**
 * npm run races -- [--seconds 30] [--clients 50] [--works 5]
 * Races transfers, exclusive licences and revocations on a fresh real server, then audits.
 */
import '../src/core/crypto-node.js'; // node:crypto for signing, as the CLI does
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCli, startChildServer } from './lib/child-server.js';
import { race } from './lib/races.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' }, clients: { type: 'string', default: '50' }, works: { type: 'string', default: '5' } } });
const dir = await mkdtemp(join(tmpdir(), 'cartulary-races-'));
const server = await startChildServer(join(dir, 'data'), join(dir, 'keys'), { env: { LOG_LEVEL: 'warn' } });
const r = await race(server.url, { clients: Number(values.clients), works: Number(values.works), durationMs: Number(values.seconds) * 1000 });
server.child.kill('SIGTERM');
await server.exited;
const audit = await runCli(['audit', '--data', join(dir, 'data'), '--keys', join(dir, 'keys')]);
console.log(`statements raced: ${r.submitted}   appended: ${r.accepted}   refused by status: ${JSON.stringify(r.refused)}`);
console.log(`works: ${r.works}   served ≠ replay: ${r.mismatches.length}   overlapping exclusives: ${r.overlaps.length}   audit: ${audit.output.trim().split('\n').at(-1)}`);
for (const line of [...r.mismatches, ...r.overlaps].slice(0, 20)) console.log(`  ${line}`);
await rm(dir, { recursive: true, force: true });
process.exitCode = r.mismatches.length === 0 && r.overlaps.length === 0 && audit.code === 0 ? 0 : 1;
