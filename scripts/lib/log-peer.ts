/**
 * The log layer side by side with hypercore 11, the leading JavaScript signed append-only
 * Merkle log (issue 11.2): the same statement bytes, appended in batches of 1,000 by each.
 * Our side is the sequencer with signatures already checked (the bulk path): rules, leaves,
 * Merkle nodes, derived records, a signed checkpoint and one synced LevelDB batch per group.
 * hypercore hashes, builds its tree, signs each append and writes to RocksDB without an
 * fsync per append, so its figure is an upper bound for a log that is also durable.
 */
import Hypercore from 'hypercore';
import { join } from 'node:path';
import { parseStatement } from '../../src/core/cose.js';
import { openLedger } from '../../src/store/ledger.js';

const BATCH = 1000;

export async function logPeers(dir: string, statements: Uint8Array[]): Promise<{ ours: number; hypercore: number }> {
  const parsed = statements.map((b) => parseStatement(b));
  const ledger = await openLedger({ dataDir: join(dir, 'ours', 'data'), keysDir: join(dir, 'ours', 'keys') }, { maxBatch: BATCH, maxDelayMs: 0 });
  let t0 = performance.now();
  for (let i = 0; i < parsed.length; i += BATCH) await Promise.all(parsed.slice(i, i + BATCH).map((s) => ledger.sequencer.enqueue(s)));
  const ours = parsed.length / ((performance.now() - t0) / 1000);
  await ledger.close();

  const core = new Hypercore(join(dir, 'hypercore'));
  await core.ready();
  const blocks = statements.map((b) => Buffer.from(b));
  t0 = performance.now();
  for (let i = 0; i < blocks.length; i += BATCH) await core.append(blocks.slice(i, i + BATCH));
  const hypercore = blocks.length / ((performance.now() - t0) / 1000);
  if (core.length !== blocks.length) throw new Error(`hypercore holds ${core.length} blocks, not ${blocks.length}`);
  await core.close();
  return { ours, hypercore };
}
