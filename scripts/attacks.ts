/**
 * npm run attacks
 * Runs every signature-level attack, and the attacks on the fingerprint search, against a
 * fresh real server and prints what held.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAttacks } from './lib/attacks.js';
import { runDetectionAttacks } from './lib/detection-attacks.js';
import { startChildServer } from './lib/child-server.js';

const dir = await mkdtemp(join(tmpdir(), 'cartulary-attacks-'));
const server = await startChildServer(join(dir, 'data'), join(dir, 'keys'), { env: { LOG_LEVEL: 'warn' } });
const results = [...(await runAttacks(server.url)), ...(await runDetectionAttacks(server.url))];
server.child.kill('SIGTERM');
await server.exited;
for (const r of results) console.log(`${r.held ? 'refused ' : 'GOT IN  '} ${r.name}  →  ${r.detail}`);
const through = results.filter((r) => !r.held).length;
console.log(`\nattacks tried: ${results.length}   got through: ${through}`);
await rm(dir, { recursive: true, force: true });
process.exitCode = through === 0 ? 0 : 1;
