/**
 * npm run fuzz -- [--requests 20000] [--seed N]
 * Fuzzes a fresh real server over loopback and prints what it found.
 */
import '../src/core/crypto-node.js'; // node:crypto for signing, as the CLI does
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startChildServer } from './lib/child-server.js';
import { fuzz, pressure } from './lib/fuzz.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '20000' }, seed: { type: 'string' } } });
const dir = await mkdtemp(join(tmpdir(), 'cartulary-fuzz-'));
const server = await startChildServer(join(dir, 'data'), join(dir, 'keys'), { env: { LOG_LEVEL: 'warn' } });
const started = Date.now();
const r = await fuzz(server.url, Number(values.requests), values.seed ? { seed: Number(values.seed) } : {});
const p = await pressure(server.url, { flood: 2000, trickleMs: 8000, requests: 500 });
const alive = (await fetch(`${server.url}/healthz`)).status === 200;
server.child.kill('SIGTERM');
const exit = await server.exited;
console.log(`fuzz requests sent: ${r.requests} in ${((Date.now() - started) / 1000).toFixed(1)} s   5xx: ${r.serverErrors.length}   not problem+json: ${r.notProblemJson.length}   hung: ${r.hung.length}   refused by the client library: ${r.clientRefused}`);
console.log(`statements accepted: ${r.accepted}   tree ${r.sizeBefore} → ${r.sizeAfter}   server alive after: ${alive}   clean exit: ${exit === 0}`);
console.log(`pressure: ${p.flood} idle connections and a body trickled over 8 s; meanwhile ${p.served} requests served, ${p.failed} failed, slowest ${p.slowestMs} ms; slow client ${p.slowClient}`);
for (const line of [...r.serverErrors, ...r.notProblemJson, ...r.hung].slice(0, 20)) console.log(`  ${line}`);
await rm(dir, { recursive: true, force: true });
const ok = p.failed === 0 && r.serverErrors.length === 0 && r.notProblemJson.length === 0 && r.hung.length === 0 && alive && exit === 0 && r.sizeAfter - r.sizeBefore === r.accepted;
process.exitCode = ok ? 0 : 1;
