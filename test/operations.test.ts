/**
 * What an operator relies on, against real servers: metrics, readiness, request ids in the
 * logs, logs that reach stdout while the server is quiet, configuration from the
 * environment, the rate limit behind a proxy, and start-up failures that are one line.
 */
import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { toBase64, toHex } from '../src/core/bytes.js';
import { sha256 } from '../src/core/crypto.js';
import { encodeFrames, PATCH_KIND } from '../src/core/fingerprint.js';
import { encodeSound, SOUND_KIND } from '../src/core/soundtrack.js';
import { cli } from './cli-runner.js';
import { content, party, stmt, tempDir } from './helpers.js';
import { serversClosedAfterEach, type ServerFixture } from './server-fixture.js';

const server = serversClosedAfterEach();


const exists = (path: string) => stat(path).then(() => true, () => false);

/** The value of one sample line of a Prometheus exposition, e.g. `cartulary_tree_size`. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 5_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `cartulary serve` as its own process; resolves once it listens. */
function spawnServe(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'serve', ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr) ?? /"url":"(http:\/\/[^"]+)"/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error(`serve exited: ${stderr}`)));
  });
  listening.catch(() => {}); // a test that expects the failure awaits `exited` instead
  return { child, listening, exited, stdout: () => stdout, stderr: () => stderr };
}

describe('operations', () => {
  it('counts appends, repeats, refusals, batches and verdicts in /metrics, and tracks the tree size', async () => {
    const s = await server();
    const alice = party();
    const file = content();
    const first = stmt.register(alice, file);
    // one of them with three frames, two of which are one picture (kept once in the index)
    const frames = [0, 1, 2].map((i) => ({ timeMs: i * 1000, hash: sha256(new Uint8Array([i === 2 ? 1 : i])).slice(0, 16) }));
    const patches = [1, 2, 3].map((i) => ({ timeMs: 1000, hash: sha256(Uint8Array.of(0x70, i)).slice(0, 16) }));
    const sound = Uint32Array.from({ length: 40 }, (_, i) => new DataView(sha256(Uint8Array.of(i)).buffer).getUint32(0));
    const fingerprinted = stmt.register(alice, content(), { fingerprints: [{ kind: 'phash-dhash/v1', value: encodeFrames(frames) }, { kind: SOUND_KIND, value: encodeSound({ step: 1, values: sound }) }, { kind: PATCH_KIND, value: encodeFrames(patches) }] });
    for (const bytes of [first, fingerprinted, stmt.register(party())]) expect((await s.submit(bytes)).status).toBe(201);
    expect((await s.submit(first)).status).toBe(200);
    expect((await s.submit(Uint8Array.of(0xa1, 0x01))).status).toBe(400);
    // a batch counts each of its statements: one appended, one repeat
    const batch = await s.post('/v1/statements/batch', JSON.stringify({ statements: [toBase64(stmt.register(party())), toBase64(first)] }), 'application/json');
    expect(((await batch.json()) as { results: Array<{ status: number }> }).results.map((r) => r.status)).toEqual([201, 200]);
    const check = await s.post('/v1/check', JSON.stringify({ sha256: toHex(sha256(file)), uploader: alice.id, use: 'publish', territory: 'FR' }), 'application/json');
    expect(((await check.json()) as { verdict: string }).verdict).toBe('owner');

    const res = await s.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(sample(text, 'cartulary_tree_size')).toBe(4);
    expect(sample(text, 'cartulary_append_seconds_count{result="appended"}')).toBe(4);
    expect(sample(text, 'cartulary_append_seconds_count{result="repeat"}')).toBe(2);
    expect(sample(text, 'cartulary_submissions_refused_total{code="malformed"}')).toBe(1);
    // every appended statement went through a committed batch
    expect(sample(text, 'cartulary_batch_statements_sum')).toBeGreaterThanOrEqual(4);
    expect(sample(text, 'cartulary_batch_write_seconds_count')).toBe(sample(text, 'cartulary_batch_statements_count'));
    expect(sample(text, 'cartulary_check_verdicts_total{verdict="owner"}')).toBe(1);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(sample(text, 'cartulary_fingerprint_index_frames')).toBe(2);
    expect(sample(text, 'cartulary_fingerprint_index_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'cartulary_patch_index_records')).toBe(3);
    expect(sample(text, 'cartulary_patch_index_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'cartulary_sound_index_works')).toBe(1);
    // the bucket heads, one page of postings, one page holding the 40 values
    expect(sample(text, 'cartulary_sound_index_bytes')).toBe(4 * 2 ** 20 + 2 * 4 * 2 ** 16);
    // every page of the three indexes, the title filter and the node cache is in the mapped
    // file, none in the heap: four arrays of a page each for the frames and for the patches,
    // two for the sound, eight for the smallest title filter (2^20 titles), one for each of
    // the tree's three levels
    expect(sample(text, 'cartulary_index_mapped_bytes')).toBe((10 + 8 + 3) * 4 * 2 ** 16);
    expect(sample(text, 'cartulary_index_heap_bytes')).toBe(0);
    // the tree's three levels over 4 entries, a page of 8,192 hashes each and its bitmap
    expect(sample(text, 'cartulary_node_cache_bytes')).toBe(3 * (8192 * 32 + 8192 / 8));
    expect(sample(text, 'cartulary_node_cache_filling')).toBe(0);
  });

  it('is ready while it takes writes, and not while it drains; liveness stays up', async () => {
    const s = await server();
    expect(await (await s.get('/readyz')).json()).toEqual({ ready: true, size: 0 });
    await s.ledger.sequencer.close(); // what a shutdown does first
    const draining = await s.get('/readyz');
    expect(draining.status).toBe(503);
    expect(await draining.json()).toEqual({ ready: false, size: 0 });
    expect((await s.get('/healthz')).status).toBe(200);
  });

  it('gives every request an id, echoed in X-Request-Id and written in its log line', async () => {
    const s = await server();
    const made = (await s.get('/v1/log')).headers.get('x-request-id');
    expect(made).toMatch(/^[0-9a-f-]{36}$/);
    const given = await fetch(`${s.url}/v1/log`, { headers: { 'x-request-id': 'edge-7f3a.1' } });
    expect(given.headers.get('x-request-id')).toBe('edge-7f3a.1');
    // an id a client could use to forge log lines is replaced, not echoed
    const hostile = await fetch(`${s.url}/v1/log`, { headers: { 'x-request-id': 'a"b c' } });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const line = await waitFor('the log line', async () => (await readFile(s.logFile, 'utf8')).split('\n').find((l) => l.includes('edge-7f3a.1')));
    expect(JSON.parse(line)).toMatchObject({ reqId: 'edge-7f3a.1', method: 'GET', url: '/v1/log', status: 200 });
    expect(await readFile(s.logFile, 'utf8')).toContain(`"reqId":"${made}"`);
  });

  it('with --trust-proxy, limits each client behind the proxy apart; without it, X-Forwarded-For is ignored', async () => {
    const submit = (s: ServerFixture, client: string) =>
      fetch(`${s.url}/v1/statements`, { method: 'POST', body: Buffer.from(stmt.register(party())), headers: { 'content-type': 'application/cose', 'x-forwarded-for': client } }).then((r) => r.status);
    const proxied = await server({ rateLimit: 2, trustProxy: 'loopback' });
    expect([await submit(proxied, '203.0.113.1'), await submit(proxied, '203.0.113.1'), await submit(proxied, '203.0.113.1')]).toEqual([201, 201, 429]);
    expect(await submit(proxied, '203.0.113.2')).toBe(201);
    const direct = await server({ rateLimit: 2 });
    expect([await submit(direct, '203.0.113.1'), await submit(direct, '203.0.113.2'), await submit(direct, '203.0.113.3')]).toEqual([201, 201, 429]);
    // `true` would let any client choose its own limit: refused before anything starts
    const refused = await cli('serve', '--trust-proxy', 'true', '--port', '0');
    expect(refused.code).toBe(3);
    expect(refused.err).toMatch(/^cartulary serve: --trust-proxy true would let every client choose/);
  });

  it('takes its configuration from HOST, PORT, CARTULARY_DATA, CARTULARY_KEYS; prints its start-up facts with --json; flushes logs while quiet; audit names the running server', async () => {
    const dir = await tempDir();
    const serve = spawnServe(['--json'], { HOST: '127.0.0.1', PORT: '0', CARTULARY_DATA: `${dir}/ledger-data`, CARTULARY_KEYS: `${dir}/ledger-keys` });
    try {
      const url = await serve.listening;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      // --json: the start-up facts as one JSON line on stderr (stdout is the log)
      expect(JSON.parse(serve.stderr().split('\n')[0]!)).toMatchObject({ url, origin: 'cartulary.local/ledger', size: 0, createdKey: `${dir}/ledger-keys/ledger.key` });
      expect(await exists(`${dir}/ledger-keys/ledger.key`)).toBe(true);
      expect(await exists(`${dir}/ledger-data/CURRENT`)).toBe(true);
      await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'quiet-server-probe' } });
      // No more traffic, no shutdown: the line must still reach stdout (flushed on a timer).
      const line = await waitFor('the request line on stdout', async () => serve.stdout().split('\n').find((l) => l.includes('quiet-server-probe')), 4_000);
      expect(JSON.parse(line)).toMatchObject({ url: '/healthz', status: 200 });

      // The client side reads CARTULARY_SERVER.
      process.env.CARTULARY_SERVER = url;
      try {
        const key = await cli('ledger-key');
        expect(key.code, key.err).toBe(0);
        expect(key.out).toMatch(/^cartulary\.local\/ledger\+[0-9a-f]{8}\+/);
      } finally {
        delete process.env.CARTULARY_SERVER;
      }

      const audit = await cli('audit', '--data', `${dir}/ledger-data`, '--keys', `${dir}/ledger-keys`);
      expect(audit.code).toBe(3);
      expect(audit.err.split('\n')).toHaveLength(1);
      expect(audit.err).toMatch(/is open in a running server .*Stop the server .*cp -a/);
    } finally {
      serve.child.kill('SIGTERM');
      expect(await serve.exited).toBe(0);
    }
  });

  it('fails to start with one line and a non-zero exit, and a busy port leaves no keys or data behind', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as AddressInfo).port;
    const dir = await tempDir();
    try {
      const serve = spawnServe(['--port', String(port), '--data', `${dir}/data`, '--keys', `${dir}/keys`]);
      expect(await serve.exited).toBe(3);
      expect(serve.stderr().trimEnd()).toBe(`cartulary serve: cannot listen: 127.0.0.1:${port} is already in use (another server?); stop it or choose another --port`);
      expect(serve.stdout()).toBe('');
      expect(await exists(`${dir}/keys`)).toBe(false);
      expect(await exists(`${dir}/data`)).toBe(false);
    } finally {
      busy.close();
    }

    // Other start-up failures, each one line: a bad port, a folder that is not a ledger, a keys path that cannot be a folder.
    await writeFile(`${dir}/stray`, 'not a ledger');
    const cases: Array<[string[], RegExp]> = [
      [['--port', '70000'], /port "70000" is not a TCP port/],
      [['--port', '0', '--data', dir, '--keys', `${dir}/k`], /is not empty but holds no ledger database/],
      [['--port', '0', '--data', `${dir}/d2`, '--keys', `${dir}/stray/keys`], /ENOTDIR|not a directory/],
      [['--port', '0', '--host', '203.0.113.9', '--data', `${dir}/d3`, '--keys', `${dir}/k3`], /203\.0\.113\.9 is not an address of this machine/],
    ];
    for (const [args, message] of cases) {
      const r = await cli('serve', ...args);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.err.split('\n'), r.err).toHaveLength(1);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    expect(await exists(`${dir}/d3`)).toBe(false);
  }, 30_000);
});
