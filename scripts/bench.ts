/**
 * npm run bench -- [--smoke] [--large] [--postgres URL] [--seconds S] [--concurrency C] [--sizes 10000,100000]
 *                  [--only append,scale,audit,verify,fingerprints,history,peers,trust,postgres] [--keep DIR]
 *
 * One run measures this machine's own limits and the ledger against them, so results are
 * ratios that survive a shared, noisy machine:
 *   1. limits: Ed25519 verify of the very statements submitted (sync and thread pool), an
 *      Express endpoint that only parses and verifies (the HTTP + crypto floor), and a
 *      synced LevelDB batch write of the same bytes;
 *   2. append over HTTP: accepted statements/s, receipt latency, ratios to the limits;
 *   3. reads at 10k → 100k → 1M entries (10M with --large): inclusion and consistency
 *      proofs, lookups by content, pre-publish checks; RSS and bytes per entry;
 *   4. a full audit, entries/s;  5. offline verification of evidence bundles;
 *   6. near-duplicate search: the fingerprint index at 100k and 1M frames;
 *   7. append cost as history grows;  8. the log layer against hypercore 11;
 *   9. tiles from the ledger and from a static copy, and commit → quorum-cosigned
 *      checkpoint with two witnesses;  10. the PostgreSQL store beside LevelDB: bulk load,
 *      proofs from the writer and from a read-only node (skipped, saying so, without a server).
 * Prints a table and writes bench-results/bench-<time>.json. `--only` runs the limits and
 * the phases named (verify needs append); `--keep DIR` loads the scale phase's ledger into
 * DIR and leaves it there (to audit or profile again), or grows the one already there (its
 * content's salt kept beside it, so lookups sample every entry).
 */
import '../src/core/crypto-node.js'; // node:crypto for signing, as the CLI does
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { ClassicLevel } from 'classic-level';
import { parseVerifierKey } from '../src/core/checkpoint.js';
import { parseStatement, verifyStatement, verifyStatementAsync } from '../src/core/cose.js';
import { sha256 } from '../src/core/crypto.js';
import { toBase64, toHex, uintBE } from '../src/core/bytes.js';
import { verifyReceipt, type Receipt } from '../src/core/receipt.js';
import { openLedger } from '../src/store/ledger.js';
import { verifyBundle } from '../src/verify/verify-bundle.js';
import { memoryOf, runCli, startChildServer, type ChildServer } from './lib/child-server.js';
import { load, type LoadResult } from './lib/load.js';
import { chains, partyIds, registrations } from './lib/workload.js';
import { EXACT, fingerprintBench } from './lib/fingerprint-bench.js';
import { historyCost } from './lib/history-cost.js';
import { logPeers } from './lib/log-peer.js';
import { DEFAULT_POSTGRES, postgresBench } from './lib/postgres-bench.js';
import { tileBench, witnessBench } from './lib/trust-bench.js';

const { values } = parseArgs({
  options: { smoke: { type: 'boolean' }, large: { type: 'boolean' }, postgres: { type: 'string' }, seconds: { type: 'string' }, concurrency: { type: 'string', default: '64' }, sizes: { type: 'string' }, only: { type: 'string' }, keep: { type: 'string' } },
});
const smoke = Boolean(values.smoke);
const seconds = Number(values.seconds ?? (smoke ? 1 : 10));
const readSeconds = smoke ? 1 : Math.max(2, seconds / 2);
const concurrency = Number(values.concurrency);
const sizes = values.sizes ? values.sizes.split(',').map(Number) : smoke ? [1_000, 10_000] : values.large ? [10_000, 100_000, 1_000_000, 10_000_000] : [10_000, 100_000, 1_000_000];
const PHASES = ['append', 'scale', 'audit', 'verify', 'fingerprints', 'history', 'peers', 'trust', 'postgres'];
const only = values.only?.split(',');
const unknownPhase = only?.find((p) => !PHASES.includes(p));
if (unknownPhase) throw new Error(`--only: no phase "${unknownPhase}" (phases: ${PHASES.join(', ')})`);
const runs = (phase: string) => !only || only.includes(phase);
const dir = await mkdtemp(join(tmpdir(), 'cartulary-bench-'));
const results: Record<string, unknown> = { machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, when: new Date().toISOString() }, smoke, seconds };
const rows: Array<[string, string, string, string]> = [];
const row = (what: string, value: string, ratio = '', target = '') => {
  rows.push([what, value, ratio, target]);
  console.log(`  ${what}: ${value}${ratio ? `  (${ratio})` : ''}${target ? `  ${target}` : ''}`);
};
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (n: number) => `${fmt(n, n < 10 ? 2 : 1)} ms`;
const meets = (ok: boolean, target: string) => `${ok ? 'meets' : 'MISSES'} ${target}`;
const duBytes = (path: string) => Number(execFileSync('du', ['-sb', path]).toString().split('\t')[0]);
const rate = (count: number, t0: number) => count / ((performance.now() - t0) / 1000);

// ---------------------------------------------------------------- 1. limits
console.log(`Cartulary benchmark: ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}${smoke ? ' (smoke run)' : ''}`);
console.log('\n1. Limits of this machine, measured now');
const workload = chains(smoke ? 2_000 : Math.ceil((seconds * 12_000) / 3));
const statements = workload.flatMap((c) => c.statements);
const parsed = statements.slice(0, 20_000).map((b) => parseStatement(b));
let t0 = performance.now();
let n = 0;
while (performance.now() - t0 < 1000 * Math.min(seconds, 2)) for (const s of parsed.slice(0, 1000)) (verifyStatement(s), n++);
const verifySync = rate(n, t0);
t0 = performance.now();
n = 0;
while (performance.now() - t0 < 1000 * Math.min(seconds, 2)) {
  await Promise.all(parsed.slice(0, 1000).map((s) => verifyStatementAsync(s)));
  n += 1000;
}
const verifyPool = rate(n, t0);
row('Ed25519 verify, one thread', `${fmt(verifySync)}/s`);
row('Ed25519 verify, thread pool', `${fmt(verifyPool)}/s`);

const floor = await new Promise<ChildServer>((ok, fail) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/lib/floor-server.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.on('data', (d: Buffer) => {
    const m = /listening on (\S+)/.exec(d.toString());
    if (m) ok({ url: m[1]!, child, output: () => '', exited: new Promise((r) => child.once('exit', r)) });
  });
  child.once('exit', () => fail(new Error('floor server died')));
});
const post = (body: Uint8Array) => ({ method: 'POST' as const, path: '/v1/statements', body: Buffer.from(body), contentType: 'application/cose' });
const floorLoad = await load(floor.url, { concurrency, durationMs: seconds * 1000, next: (i) => post(statements[i % statements.length]!) });
const readFloor = await load(floor.url, { concurrency, durationMs: Math.min(seconds, 5) * 1000, next: () => ({ method: 'GET', path: '/v1/proofs/inclusion?index=1&size=1000000' }) });
floor.child.kill('SIGTERM');
await floor.exited;
row('HTTP + crypto floor (Express: parse, verify, answer)', `${fmt(floorLoad.perSecond)}/s`, `p99 ${ms(floorLoad.p99)}`);
row('HTTP read floor (Express: a proof-sized JSON from memory)', `${fmt(readFloor.perSecond)}/s`, `p99 ${ms(readFloor.p99)}`);

const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, 'leveldb-limit'), { keyEncoding: 'view', valueEncoding: 'view' });
await db.open();
t0 = performance.now();
n = 0;
while (performance.now() - t0 < 1000 * Math.min(seconds, 3)) {
  const batch = db.batch(); // chained, as the ledger writes
  statements.slice(0, 1000).forEach((value, i) => batch.put(uintBE(n + i, 8), value));
  await batch.write({ sync: true });
  n += 1000;
}
const levelLimit = rate(n, t0);
await db.close();
row('LevelDB synced batch of 1,000', `${fmt(levelLimit)} entries/s`);
results.limits = { verifySync, verifyPool, floor: floorLoad.perSecond, floorP99: floorLoad.p99, readFloor: readFloor.perSecond, levelDbBatch: levelLimit };

// Shared by phases: the append phase's key and evidence bundles, the scale phase's ledger.
let key: ReturnType<typeof parseVerifierKey> | undefined;
let bundles: unknown[] = [];
const scaleDir = values.keep ?? join(dir, 'scale');
let loaded = 0;

// ---------------------------------------------------------------- 2. append
if (runs('append')) {
  console.log(`\n2. Append over HTTP: ${concurrency} clients, pre-signed registrations, licences and transfers, ${seconds} s`);
  const appendDir = join(dir, 'append');
  const server = await startChildServer(join(appendDir, 'data'), join(appendDir, 'keys'), { captureStdout: false });
  key = parseVerifierKey(/verifier key: (\S+)/.exec(server.output())![1]!);
  let nextChain = 0;
  const perClient = new Map<number, Uint8Array[]>();
  const append = await load(server.url, {
    concurrency,
    durationMs: seconds * 1000,
    keepBodies: (s) => s === 201,
    next: (_i, c) => {
      let queue = perClient.get(c);
      if (!queue || queue.length === 0) {
        const chain = workload[nextChain++];
        if (!chain) return undefined;
        queue = [...chain.statements];
        perClient.set(c, queue);
      }
      return post(queue.shift()!);
    },
  });
  // Every receipt: its leaf, its inclusion proof and its checkpoint's signature.
  const receipts = append.bodies.map((b) => JSON.parse(b) as Receipt);
  let verified = 0;
  for (const r of receipts) {
    const entry = await (await fetch(`${server.url}/v1/entries/${r.index}`)).json() as { leaf: string };
    verifyReceipt(r, Uint8Array.from(Buffer.from(entry.leaf, 'base64')), key);
    verified++;
    if (verified >= 2000) break; // a sample keeps the check quick; every receipt carries a proof
  }
  bundles = await Promise.all(workload.slice(0, 50).map(async (c) => (await fetch(`${server.url}/v1/works/${toHex(sha256(c.statements[0]!))}/evidence`)).json()));

  // Batches of 1,000 fresh registrations (signed beforehand, so signing costs the server nothing).
  const batchCount = smoke ? 4 : Math.ceil((seconds * 8_000) / 1000);
  const batchSalt = String(Math.random());
  const batches = Array.from({ length: batchCount }, (_, b) => Buffer.from(JSON.stringify({ statements: registrations(1000, b * 1000, batchSalt).map(toBase64) })));
  const batchLoad = await load(server.url, { concurrency: 4, durationMs: seconds * 1000, next: (i) => (i < batches.length ? { method: 'POST', path: '/v1/statements/batch', body: batches[i]! } : undefined) });
  const batchRate = (batchLoad.ok * 1000) / batchLoad.seconds;
  server.child.kill('SIGTERM');
  await server.exited;
  const appendOk = append.perSecond >= 5000 && append.p99 <= 50;
  row('accepted statements', `${fmt(append.perSecond)}/s`, `${fmt(append.perSecond / floorLoad.perSecond, 2)} of the HTTP floor, ${fmt(append.perSecond / verifyPool, 2)} of verify, ${fmt(append.perSecond / levelLimit, 3)} of LevelDB`, meets(appendOk && append.perSecond / floorLoad.perSecond >= 0.8, '≥ 5,000/s, p99 ≤ 50 ms, ≥ 0.8 of floor'));
  row('receipt latency', `p50 ${ms(append.p50)}, p99 ${ms(append.p99)}, max ${ms(append.max)}`);
  row('receipts checked offline (leaf, inclusion proof, checkpoint signature)', `${verified} of ${receipts.length}; statuses ${JSON.stringify(append.statuses)}`);
  row('batches of 1,000 (POST /v1/statements/batch, 4 clients)', `${fmt(batchRate)} statements/s`, `${fmt(batchRate / verifyPool, 2)} of verify`, meets(batchRate / verifyPool >= 0.6, '≥ 0.6 of verify'));
  results.batch = { perSecond: batchRate, verifyRatio: batchRate / verifyPool, statuses: batchLoad.statuses };
  results.append = { ...strip(append), floorRatio: append.perSecond / floorLoad.perSecond, verifyRatio: append.perSecond / verifyPool, receiptsVerified: verified };
}

// ---------------------------------------------------------------- 3 & 4. reads at scale, footprint
if (runs('scale')) {
  console.log('\n3. Reads at scale (ledger loaded through the sequencer\'s bulk path)');
  // Entry i registers the content `load SALT i`. A kept ledger is grown, not loaded again, and
  // keeps its salt beside it, so lookups by content sample every entry it holds; one kept
  // before its salt was (or grown with another) is sampled only in what this run loads.
  const saltFile = join(scaleDir, 'load-salt');
  const keptSalt = await readFile(saltFile, 'utf8').catch(() => undefined);
  const salt = keptSalt ?? String(Math.random());
  const parties = partyIds();
  const scale: Record<string, unknown>[] = [];
  let firstOfRun = -1;
  for (const size of sizes) {
    const ledger = await openLedger({ dataDir: join(scaleDir, 'data'), keysDir: join(scaleDir, 'keys') }, { maxBatch: 5000, maxDelayMs: 0 });
    if (firstOfRun < 0) {
      loaded = ledger.sequencer.size;
      firstOfRun = keptSalt !== undefined ? 0 : loaded;
      if (loaded === 0) await writeFile(saltFile, salt);
    }
    t0 = performance.now();
    const before = loaded;
    while (loaded < size) {
      const count = Math.min(20_000, size - loaded);
      await Promise.all(registrations(count, loaded, salt).map((b) => ledger.sequencer.enqueue(parseStatement(b))));
      loaded += count;
      if (process.stdout.isTTY) process.stdout.write(`\r  loading: ${fmt(loaded)} / ${fmt(size)}`);
    }
    const loadRate = rate(loaded - before, t0);
    if (process.stdout.isTTY) process.stdout.write('\r');
    await ledger.close();

    // The bench's one client asks far more checks than a platform's default limit allows.
    const s = await startChildServer(join(scaleDir, 'data'), join(scaleDir, 'keys'), { env: { LOG_LEVEL: 'warn' }, args: ['--check-rate-limit', '100000000'] });
    const rnd = (k: number) => Math.floor(Math.random() * k);
    const loadedSha = () => toHex(sha256(new TextEncoder().encode(`load ${salt} ${firstOfRun + rnd(Math.max(1, size - firstOfRun))}`)));
    const run = (next: () => { method: 'GET' | 'POST'; path: string; body?: Buffer; contentType?: string }) =>
      load(s.url, { concurrency, durationMs: readSeconds * 1000, next });
    // Measured warm, as a server runs for days: its node cache fills in the background after
    // a start (0.6 s at 100 k entries idle, 8 s at 10 M under proofs), then its JIT and
    // LevelDB's block cache warm under load.
    const askInclusion = () => ({ method: 'GET' as const, path: `/v1/proofs/inclusion?index=${rnd(size)}&size=${size}` });
    const fillMs = await nodeCacheFilled(s.url);
    await load(s.url, { concurrency, durationMs: (smoke ? 1 : 4) * 1000, next: askInclusion });
    const inclusion = await run(askInclusion);
    const consistency = await run(() => ({ method: 'GET', path: `/v1/proofs/consistency?from=${1 + rnd(size - 1)}&to=${size}` }));
    const works = await run(() => ({ method: 'GET', path: `/v1/works?sha256=${loadedSha()}` }));
    const checks = await run(() => ({
      method: 'POST',
      path: '/v1/check',
      body: Buffer.from(JSON.stringify({ sha256: loadedSha(), uploader: parties[rnd(parties.length)], use: 'clip', territory: 'FR' })),
    }));
    const memory = await memoryOf(s.child.pid!);
    s.child.kill('SIGTERM');
    await s.exited;
    const bytes = duBytes(join(scaleDir, 'data'));
    console.log(`  at ${fmt(size)} entries (${loaded > before ? `loaded at ${fmt(loadRate)}/s` : 'kept from an earlier run'}; node cache filled ${fmt(fillMs / 1000, 1)} s after the server listened):`);
    const ofFloor = (r: LoadResult) => `${fmt(r.perSecond / readFloor.perSecond, 2)} of the read floor`;
    row(`  inclusion proofs @${fmt(size)}`, `${fmt(inclusion.perSecond)}/s, p99 ${ms(inclusion.p99)}`, ofFloor(inclusion), size >= 1_000_000 ? meets(inclusion.perSecond >= 20_000 && inclusion.p99 <= 5, '≥ 20,000/s, p99 ≤ 5 ms') : '');
    row(`  consistency proofs @${fmt(size)}`, `${fmt(consistency.perSecond)}/s, p99 ${ms(consistency.p99)}`, ofFloor(consistency));
    row(`  works by sha256 @${fmt(size)}`, `${fmt(works.perSecond)}/s, p99 ${ms(works.p99)}`, ofFloor(works));
    row(`  checks (verdict + evidence) @${fmt(size)}`, `${fmt(checks.perSecond)}/s, p99 ${ms(checks.p99)}`, `${fmt(checks.perSecond / floorLoad.perSecond, 2)} of the write floor`, meets(checks.perSecond >= 5000, '≥ 5,000/s'));
    row(
      `  server memory, data per entry @${fmt(size)}`,
      `${fmt(memory.anon)} MB own + ${fmt(memory.file)} MB mapped data pages, ${fmt(bytes / size)} bytes/entry`,
      '',
      size >= 10_000_000 ? meets(memory.anon <= 300, 'own RSS ≤ 300 MB') : '',
    );
    scale.push({ size, loadRate, nodeCacheFillMs: fillMs, inclusion: strip(inclusion), consistency: strip(consistency), works: strip(works), checks: strip(checks), rssAnonMB: memory.anon, rssFileMB: memory.file, bytesPerEntry: bytes / size });
  }
  results.scale = scale;
}

/** Waits until a server's node cache has been filled from its store (its /metrics say so); the time it took. */
async function nodeCacheFilled(url: string): Promise<number> {
  const started = performance.now();
  while (/^cartulary_node_cache_filling 1$/m.test(await (await fetch(`${url}/metrics`)).text())) {
    if (performance.now() - started > 300_000) throw new Error('the node cache was still filling after 5 minutes');
    await new Promise((r) => setTimeout(r, 100));
  }
  return performance.now() - started;
}

// ---------------------------------------------------------------- 5. audit
if (runs('audit') && loaded > 0) {
  console.log('\n4. Audit');
  t0 = performance.now();
  const audit = await runCli(['audit', '--data', join(scaleDir, 'data'), '--keys', join(scaleDir, 'keys')]);
  const auditRate = rate(loaded, t0);
  row(`full audit of ${fmt(loaded)} entries`, `${fmt(auditRate)} entries/s (${audit.output.trim()})`, '', meets(audit.code === 0 && auditRate >= 20_000, '≥ 20,000 entries/s'));
  results.audit = { entries: loaded, perSecond: auditRate, ok: audit.code === 0 };
}

// ---------------------------------------------------------------- 6. offline verify
if (runs('verify') && key) {
  console.log('\n5. Offline verification of evidence bundles (register → licence → transfer chains)');
  const vkey = `${key.name}+${toHex(key.keyId)}+${Buffer.concat([Buffer.of(1), key.publicKey]).toString('base64')}`;
  t0 = performance.now();
  const one = verifyBundle(bundles[0], vkey);
  const oneMs = performance.now() - t0;
  t0 = performance.now();
  n = 0;
  while (performance.now() - t0 < 1000 * Math.min(seconds, 2)) {
    for (const b of bundles) if (!verifyBundle(b, vkey).ok) throw new Error('a bundle failed to verify');
    n += bundles.length;
  }
  row('bundles verified', `${fmt(rate(n, t0))}/s; the first one alone ${ms(oneMs)} (${one.ok ? 'ok' : 'FAILED'})`);
  results.verify = { perSecond: rate(n, t0), firstMs: oneMs };
}

// ---------------------------------------------------------------- 6. fingerprints
if (runs('fingerprints')) {
  console.log('\n6. Near-duplicate search (pHash + dHash multi-index, in the server process)');
  const frameCounts = smoke ? [10_000] : values.large ? [100_000, 1_000_000, 10_000_000] : [100_000, 1_000_000];
  const fingerprintRows = fingerprintBench(frameCounts, Math.min(seconds, 3));
  for (const r of fingerprintRows) {
    const first = fingerprintRows[0]!;
    row(
      `  index of ${fmt(r.frames)} frame records`,
      `built in ${fmt(r.buildMs / 1000, 1)} s, ${fmt(r.mb)} MB (RSS ${fmt(r.rssMb)} MB); ${fmt(r.perHashUs, 1)} µs a query hash (${fmt(r.perHashUs / r.exactPerHashUs, 3)} of the exact search of rules ${EXACT.version}, finding ${fmt(100 * r.recall)} % of planted near frames against its ${fmt(100 * r.exactRecall)} %); a 60 s upload (1,680 hashes): p50 ${ms(r.uploadP50)}, p99 ${ms(r.uploadP99)}`,
      r === first ? '' : `${fmt(r.perHashUs / first.perHashUs, 2)}× the time a hash at ${fmt(first.frames)}`,
    );
  }
  results.fingerprints = fingerprintRows;
}

// ---------------------------------------------------------------- 7. cost against history
if (runs('history')) {
  console.log('\n7. Append cost as history grows (in process; the ratio is the measure)');
  const history = await historyCost(join(dir, 'history'), smoke ? { small: 10, large: 1_000, probe: 50 } : {});
  for (const h of history) {
    const ratio = h.largeMs / h.smallMs;
    row(`  ${h.what.replace('N', `${fmt(h.small)} → ${fmt(h.large)}`)}`, `${ms(h.smallMs)} → ${ms(h.largeMs)} per statement`, `${fmt(ratio, 2)}×`, meets(ratio <= 1.5, '≤ 1.5× (flat)'));
  }
  results.history = history;
}

// ---------------------------------------------------------------- 8. the log layer against hypercore
if (runs('peers')) {
  const peerCount = smoke ? 5_000 : 100_000;
  console.log(`\n8. The log layer against hypercore 11: the same ${fmt(peerCount)} registrations, batches of 1,000, in process`);
  const peers = await logPeers(join(dir, 'peers'), registrations(peerCount, 0, String(Math.random())));
  row('  sequencer (signatures checked before; rules, tree, records, checkpoint, synced batch)', `${fmt(peers.ours)} entries/s`, `${fmt(peers.ours / peers.hypercore, 2)} of hypercore`, meets(peers.ours >= peers.hypercore, '≥ 1.0× hypercore'));
  row('  the log alone: leaves, tree, id indexes, checkpoint, synced batch (no rules, no records)', `${fmt(peers.bareLog)} entries/s`, `${fmt(peers.bareLog / peers.hypercore, 2)} of hypercore; sequencer ${fmt(peers.ours / peers.bareLog, 2)} of it`);
  row('  hypercore 11 append (no fsync per append)', `${fmt(peers.hypercore)} entries/s`);
  results.logPeers = peers;
}

// ---------------------------------------------------------------- 9. tiles and witnesses
if (runs('trust')) {
  console.log('\n9. Tiles (C2SP tlog-tiles) and witnesses');
  const tiles = await tileBench(join(dir, 'tiles'), { entries: smoke ? 3_000 : 100_000, seconds: readSeconds, concurrency });
  row(
    `  full tiles and entry bundles from the ledger @${fmt(tiles.entries)}`,
    `${fmt(tiles.ledger.perSecond)}/s, p99 ${ms(tiles.ledger.p99)}`,
    `${fmt(tiles.ledger.perSecond / readFloor.perSecond, 2)} of the read floor`,
  );
  row(
    '  the same tiles from a static file server (export-tiles + node:http)',
    `${fmt(tiles.staticServer.perSecond)}/s, p99 ${ms(tiles.staticServer.p99)}`,
    `ledger ${fmt(tiles.ledger.perSecond / tiles.staticServer.perSecond, 2)} of static; static ${fmt(tiles.staticServer.perSecond / readFloor.perSecond, 2)} of the read floor`,
  );
  const cosigning = await witnessBench(join(dir, 'witnesses'), { samples: smoke ? 10 : 200 });
  row('  commit → quorum-cosigned checkpoint, 2 local witnesses', `p50 ${ms(cosigning.p50)}, p99 ${ms(cosigning.p99)}, max ${ms(cosigning.max)} (${cosigning.samples} commits, one at a time)`);
  results.trust = { tiles: { entries: tiles.entries, paths: tiles.paths, ledger: strip(tiles.ledger), staticServer: strip(tiles.staticServer) }, cosigning };
}

// ---------------------------------------------------------------- 10. the PostgreSQL store
if (runs('postgres')) {
  const pgEntries = smoke ? 3_000 : 100_000;
  console.log(`\n10. The PostgreSQL store beside LevelDB: ${fmt(pgEntries)} registrations in batches of 1,000, then proofs from the writer and a read-only node, and its restart`);
  const pgBench = await postgresBench(join(dir, 'postgres'), values.postgres ?? DEFAULT_POSTGRES, { entries: pgEntries, seconds: readSeconds, concurrency });
  if (typeof pgBench === 'string') {
    row('  PostgreSQL', `not measured: ${pgBench}`);
  } else {
    row('  bulk load through the sequencer, PostgreSQL', `${fmt(pgBench.loadPostgres)} entries/s`, `${fmt(pgBench.loadPostgres / pgBench.loadLevel, 2)} of LevelDB (${fmt(pgBench.loadLevel)}/s) in this run`);
    row(`  inclusion proofs @${fmt(pgEntries)}, PostgreSQL writer`, `${fmt(pgBench.proofsWriter.perSecond)}/s, p99 ${ms(pgBench.proofsWriter.p99)}`, `${fmt(pgBench.proofsWriter.perSecond / readFloor.perSecond, 2)} of the read floor`);
    row(`  inclusion proofs @${fmt(pgEntries)}, PostgreSQL read-only node`, `${fmt(pgBench.proofsReader.perSecond)}/s, p99 ${ms(pgBench.proofsReader.p99)}`, `${fmt(pgBench.proofsReader.perSecond / readFloor.perSecond, 2)} of the read floor`);
    const { built, reopened } = pgBench.readerStart;
    row('  read-only node, start to node cache filled: restarted with its index folder', `${fmt(reopened, 1)} s`, `${fmt(reopened / built, 2)} of a start without one (${fmt(built, 1)} s) in this run`);
    results.postgres = { entries: pgBench.entries, loadLevel: pgBench.loadLevel, loadPostgres: pgBench.loadPostgres, proofsWriter: strip(pgBench.proofsWriter), proofsReader: strip(pgBench.proofsReader), readerStart: pgBench.readerStart };
  }
}

await mkdir('bench-results', { recursive: true });
const out = join('bench-results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
await writeFile(out, `${JSON.stringify({ ...results, table: rows }, null, 2)}\n`);
console.log(`\nresults written to ${out}`);
await rm(dir, { recursive: true, force: true });

function strip(r: LoadResult) {
  const { bodies: _bodies, ...rest } = r;
  return rest;
}
