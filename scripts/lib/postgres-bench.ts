/**
 * The PostgreSQL store measured beside LevelDB in one run (bench phase 10): the same
 * registrations loaded through each store's sequencer (bulk path), then inclusion proofs
 * over HTTP from the writer and from a read-only node on the same database, and how long a
 * read-only node takes to serve at full speed (listening, its node cache filled) when it
 * starts without an index folder and when it restarts with one. Needs a server
 * (`--postgres URL`, else CARTULARY_TEST_POSTGRES, else the local `cartulary` role that
 * `.ci/run` makes); each run makes a database of its own and drops it.
 */
import { join } from 'node:path';
import { parseStatement } from '../../src/core/cose.js';
import { openLedger } from '../../src/store/ledger.js';
import { startChildServer, type ChildServer } from './child-server.js';
import { load, type LoadResult } from './load.js';
import { withScratchDatabase } from './scratch-database.js';
import { registrations } from './workload.js';

export interface PostgresBench {
  entries: number;
  /** entries/s through the sequencer's bulk path, batches of 1,000 */
  loadLevel: number;
  loadPostgres: number;
  proofsWriter: LoadResult;
  proofsReader: LoadResult;
  /** seconds from a read-only node's start to its node cache filled: without an index folder, and restarted with one */
  readerStart: { built: number; reopened: number };
}

export const DEFAULT_POSTGRES = process.env.CARTULARY_TEST_POSTGRES ?? 'postgres://cartulary:cartulary@127.0.0.1:5432/postgres';

async function bulkLoad(dir: string, store: string | undefined, statements: Uint8Array[]): Promise<number> {
  const ledger = await openLedger({ dataDir: join(dir, 'data'), keysDir: join(dir, 'keys'), ...(store ? { store } : {}) }, { maxBatch: 1000, maxDelayMs: 0 });
  const parsed = statements.map((b) => parseStatement(b));
  const t0 = performance.now();
  for (let i = 0; i < parsed.length; i += 1000) await Promise.all(parsed.slice(i, i + 1000).map((s) => ledger.sequencer.enqueue(s)));
  const perSecond = parsed.length / ((performance.now() - t0) / 1000);
  await ledger.close();
  return perSecond;
}

/** A read-only node on `store` and the seconds until it listens with its node cache filled. */
async function readerReady(dir: string, store: string, args: string[] = []): Promise<{ node: ChildServer; seconds: number }> {
  const t0 = performance.now();
  const node = await startChildServer(join(dir, 'pg', 'unused'), join(dir, 'pg', 'keys'), { env: { LOG_LEVEL: 'warn' }, args: ['--store', store, '--read-only', ...args] });
  while (!/cartulary_node_cache_filling 0/.test(await (await fetch(`${node.url}/metrics`)).text())) await new Promise((r) => setTimeout(r, 50));
  return { node, seconds: (performance.now() - t0) / 1000 };
}

const stopped = async (node: ChildServer) => {
  node.child.kill('SIGTERM');
  await node.exited;
};

/** Resolves a string, saying why, when no PostgreSQL server answers. */
export async function postgresBench(dir: string, server: string, opts: { entries: number; seconds: number; concurrency: number }): Promise<PostgresBench | string> {
  return withScratchDatabase(server, 'cartulary_bench', async (store) => {
    const statements = registrations(opts.entries, 0, String(Math.random()));
    const loadLevel = await bulkLoad(join(dir, 'level'), undefined, statements);
    const loadPostgres = await bulkLoad(join(dir, 'pg'), store, statements);
    const writer = await startChildServer(join(dir, 'pg', 'data'), join(dir, 'pg', 'keys'), { env: { LOG_LEVEL: 'warn' }, args: ['--store', store] });
    const { node: reader, seconds: built } = await readerReady(dir, store);
    const size = opts.entries;
    const proofs = (url: string) =>
      load(url, { concurrency: opts.concurrency, durationMs: opts.seconds * 1000, next: () => ({ method: 'GET', path: `/v1/proofs/inclusion?index=${Math.floor(Math.random() * size)}&size=${size}` }) });
    const proofsWriter = await proofs(writer.url);
    const proofsReader = await proofs(reader.url);
    await Promise.all([stopped(writer), stopped(reader)]);
    // With an index folder: a first start builds, its stop saves, the restart reopens.
    const folder = ['--index-dir', join(dir, 'pg', 'reader-index')];
    await stopped((await readerReady(dir, store, folder)).node);
    const { node: restarted, seconds: reopened } = await readerReady(dir, store, folder);
    await stopped(restarted);
    return { entries: opts.entries, loadLevel, loadPostgres, proofsWriter, proofsReader, readerStart: { built, reopened } };
  });
}
