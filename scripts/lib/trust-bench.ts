/**
 * Benchmark rows for issue 12: tiles served by the ledger against the read floor and against
 * a plain static file server holding `export-tiles` output (how far reads scale without the
 * ledger), and the time from a commit to a quorum-cosigned checkpoint with two witnesses.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatVerifierKey } from '../../src/core/checkpoint.js';
import { parseStatement } from '../../src/core/cose.js';
import { checkCosignedCheckpoint, parsePolicy } from '../../src/core/policy.js';
import { tilePath, tilesOfTree } from '../../src/core/tiles.js';
import { createKeyPair } from '../../src/store/key-files.js';
import { DEFAULT_ORIGIN, openLedger } from '../../src/store/ledger.js';
import { runCli, startChildCommand, startChildServer, type ChildServer } from './child-server.js';
import { load, percentile, type LoadResult } from './load.js';
import { registrations } from './workload.js';

const stop = async (c: { child: ChildServer['child']; exited: Promise<unknown> }) => {
  c.child.kill('SIGTERM');
  await c.exited;
};

/** The static file server in its own process, as any web server would be. */
function startStaticProcess(root: string): Promise<{ url: string; child: ChildServer['child']; exited: Promise<unknown> }> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/lib/static-server.ts', root], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((r) => child.once('exit', r));
    child.stdout.on('data', (d: Buffer) => {
      const m = /listening on (\S+)/.exec(d.toString());
      if (m) ok({ url: m[1]!, child, exited });
    });
    child.once('exit', () => fail(new Error('the static server died')));
  });
}

export interface TileBench {
  entries: number;
  paths: number;
  ledger: LoadResult;
  staticServer: LoadResult;
}

/** Random full hash tiles and entry bundles of a ledger of `entries`, from the ledger and from a static copy. */
export async function tileBench(dir: string, opts: { entries: number; seconds: number; concurrency: number }): Promise<TileBench> {
  const ledger = await openLedger({ dataDir: join(dir, 'data'), keysDir: join(dir, 'keys') }, { maxBatch: 5000, maxDelayMs: 0 });
  await Promise.all(registrations(opts.entries, 0, String(Math.random())).map((b) => ledger.sequencer.enqueue(parseStatement(b))));
  await ledger.close();
  const server = await startChildServer(join(dir, 'data'), join(dir, 'keys'), { env: { LOG_LEVEL: 'warn' }, captureStdout: false });
  const exported = await runCli(['export-tiles', '--out', join(dir, 'tiles'), '--server', server.url]);
  if (exported.code !== 0) throw new Error(`export-tiles failed: ${exported.output}`);
  const statik = await startStaticProcess(join(dir, 'tiles'));
  const paths = tilesOfTree(opts.entries).filter((t) => t.width === 256).map((t) => `/${tilePath(t)}`);
  const next = () => ({ method: 'GET' as const, path: paths[Math.floor(Math.random() * paths.length)]! });
  const fromLedger = await load(server.url, { concurrency: opts.concurrency, durationMs: opts.seconds * 1000, next });
  const fromStatic = await load(statik.url, { concurrency: opts.concurrency, durationMs: opts.seconds * 1000, next });
  await stop(statik);
  await stop(server);
  return { entries: opts.entries, paths: paths.length, ledger: fromLedger, staticServer: fromStatic };
}

/** Commit → quorum-cosigned checkpoint, one statement at a time, with two witness processes. */
export async function witnessBench(dir: string, opts: { samples: number }): Promise<{ samples: number; p50: number; p99: number; max: number }> {
  const ledgerKey = formatVerifierKey(DEFAULT_ORIGIN, (await createKeyPair(join(dir, 'keys'), 'ledger')).publicKey);
  const witnesses = await Promise.all(
    ['w1', 'w2'].map((n) => startChildCommand(['witness', '--port', '0', '--data', join(dir, n, 'data'), '--keys', join(dir, n, 'keys'), '--name', `${n}.bench/witness`, '--log', ledgerKey])),
  );
  const vkeys = await Promise.all(witnesses.map(async (w) => (await (await fetch(`${w.url}/witness-key`)).text()).trim()));
  const policyText = `log ${ledgerKey}\n${witnesses.map((w, i) => `witness w${i + 1} ${vkeys[i]} ${w.url}\n`).join('')}group both all w1 w2\nquorum both\n`;
  await writeFile(join(dir, 'policy'), policyText);
  const policy = parsePolicy(policyText);
  const server = await startChildServer(join(dir, 'data'), join(dir, 'keys'), { args: ['--witness-policy', join(dir, 'policy')], env: { LOG_LEVEL: 'warn' } });
  const salt = String(Math.random());
  const latencies: number[] = [];
  try {
    for (let i = 0; i < opts.samples; i++) {
      const res = await fetch(`${server.url}/v1/statements`, { method: 'POST', headers: { 'content-type': 'application/cose' }, body: Buffer.from(registrations(1, i, salt)[0]!) });
      if (res.status !== 201) throw new Error(`append failed: ${res.status} ${await res.text()}`);
      const { index } = (await res.json()) as { index: number };
      const committed = performance.now();
      for (;;) {
        const check = checkCosignedCheckpoint(await (await fetch(`${server.url}/checkpoint`)).text(), policy);
        if (check.quorum && check.checkpoint.size > index) break;
        if (performance.now() - committed > 10_000) throw new Error(`no quorum for entry ${index} after 10 s`);
        await new Promise((r) => setTimeout(r, 1));
      }
      latencies.push(performance.now() - committed);
    }
  } finally {
    await stop(server);
    for (const w of witnesses) await stop(w);
  }
  latencies.sort((a, b) => a - b);
  return { samples: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? 0 };
}
