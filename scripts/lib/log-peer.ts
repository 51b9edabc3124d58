/**
 * The log layer side by side with hypercore 11, the leading JavaScript signed append-only
 * Merkle log (issue 11.2): the same statement bytes, appended in batches of 1,000 by each.
 * Our side is the sequencer with signatures already checked (the bulk path): rules, leaves,
 * Merkle nodes, derived records, a signed checkpoint and one synced LevelDB batch per group.
 * hypercore hashes, builds its tree, signs each append and writes to RocksDB without an
 * fsync per append, so its figure is an upper bound for a log that is also durable.
 *
 * A third run, `bareLog`, is the part of the sequencer's work that hypercore also does —
 * leaves, the tree, the statement-id indexes, a signed checkpoint and the synced LevelDB
 * batch, without the rules or any derived record — so the table says how much of the gap is
 * the log itself on this storage and how much the ledger's state.
 */
import Hypercore from 'hypercore';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { uintBE } from '../../src/core/bytes.js';
import { signCheckpoint } from '../../src/core/checkpoint.js';
import { parseStatement } from '../../src/core/cose.js';
import { randomSeed, signerFromSeed } from '../../src/core/crypto.js';
import { encodeLeaf, ZERO_HASH } from '../../src/core/leaf.js';
import { CompactRange, hashLeaf } from '../../src/core/merkle.js';
import type { BatchOp } from '../../src/store/kv.js';
import { key } from '../../src/store/layout.js';
import { LevelKV } from '../../src/store/level-kv.js';
import { openLedger } from '../../src/store/ledger.js';

const BATCH = 1000;

export async function logPeers(dir: string, statements: Uint8Array[]): Promise<{ ours: number; bareLog: number; hypercore: number }> {
  const parsed = statements.map((b) => parseStatement(b));
  const ledger = await openLedger({ dataDir: join(dir, 'ours', 'data'), keysDir: join(dir, 'ours', 'keys') }, { maxBatch: BATCH, maxDelayMs: 0 });
  let t0 = performance.now();
  for (let i = 0; i < parsed.length; i += BATCH) await Promise.all(parsed.slice(i, i + BATCH).map((s) => ledger.sequencer.enqueue(s)));
  const ours = parsed.length / ((performance.now() - t0) / 1000);
  await ledger.close();

  mkdirSync(join(dir, 'bare'), { recursive: true });
  const kv = await LevelKV.open(join(dir, 'bare'), { create: true });
  const signer = signerFromSeed(randomSeed());
  const tree = CompactRange.fromStore(0, () => []);
  let prev = ZERO_HASH;
  t0 = performance.now();
  for (let i = 0; i < parsed.length; i += BATCH) {
    const ops: BatchOp[] = [];
    const time = Date.now();
    for (const s of parsed.slice(i, i + BATCH)) {
      const index = tree.size;
      const leaf = encodeLeaf({ index, time, prev, workPrev: null, statement: s.bytes });
      prev = hashLeaf(leaf);
      ops.push({ type: 'put', key: key.leaf(index), value: leaf }, { type: 'put', key: key.id(s.id), value: uintBE(index, 8) }, { type: 'put', key: key.signed(s.signedHash), value: uintBE(index, 8) });
      for (const { id, hash } of tree.append(prev)) ops.push({ type: 'put', key: key.node(id.level, id.index), value: hash });
    }
    const note = signCheckpoint({ origin: 'bench.example/bare', size: tree.size, rootHash: tree.root() }, signer);
    ops.push({ type: 'put', key: key.checkpoint(tree.size), value: new TextEncoder().encode(note) });
    await kv.write(ops);
  }
  const bareLog = parsed.length / ((performance.now() - t0) / 1000);
  await kv.close();

  const core = new Hypercore(join(dir, 'hypercore'));
  await core.ready();
  const blocks = statements.map((b) => Buffer.from(b));
  t0 = performance.now();
  for (let i = 0; i < blocks.length; i += BATCH) await core.append(blocks.slice(i, i + BATCH));
  const hypercore = blocks.length / ((performance.now() - t0) / 1000);
  if (core.length !== blocks.length) throw new Error(`hypercore holds ${core.length} blocks, not ${blocks.length}`);
  await core.close();
  return { ours, bareLog, hypercore };
}
