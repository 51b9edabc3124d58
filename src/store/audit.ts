/**
 * Audit: re-derive everything from the leaves and compare it with what the store holds.
 *
 * For every leaf in order: its key and index agree, `prev` is the previous leaf's hash, time
 * never decreases, the statement parses and its signature verifies, its id maps back to it,
 * the rules accept it again with the same `workPrev`, and every Merkle node it completes
 * equals the stored node. For every checkpoint: the signature under the ledger key, the root
 * of the replayed tree at its size, and a consistency proof from the checkpoint before it.
 * Finally the stored derived state (works, licences, content index, parties, ownership
 * and holding indexes…) must equal the replay's, key for key.
 *
 * The replay is written into a scratch LevelDB store, as the sequencer writes its batches:
 * the rules run on that store with each batch's effects layered in memory, and the two
 * stores are compared in key order at the end. Memory stays bounded whatever the ledger's
 * size (holding the replay in memory took 18 GB at 3 M entries); the scratch store takes
 * about the derived records' share of the ledger's disk, and is removed afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { equalBytes, toHex } from '../core/bytes.js';
import { openCheckpoint, type VerifierKey } from '../core/checkpoint.js';
import { parseStatement, verifyStatementAsync } from '../core/cose.js';
import { decodeLeaf, ZERO_HASH } from '../core/leaf.js';
import { CompactRange, consistencyPlan, hashLeaf, verifyConsistency, type NodeId } from '../core/merkle.js';
import { applyStatement, plannedOverlapQuery } from '../core/rules.js';
import type { Effects, WorkRecord } from '../core/records.js';
import { MemoryState } from '../core/state.js';
import type { SignedStatement } from '../core/cose.js';
import type { LedgerStore } from './ledger-store.js';
import { openStore } from './open-store.js';
import type { LedgerStorage, StoredCheckpoint } from './storage.js';

export interface AuditFault {
  /** where: "leaf 12", "node 3/5", "checkpoint 40", "work <id>"… */
  where: string;
  detail: string;
}

export interface AuditResult {
  ok: boolean;
  size: number;
  checkpoints: number;
  fault?: AuditFault;
}

class Fault extends Error {
  constructor(
    readonly where: string,
    detail: string,
  ) {
    super(detail);
  }
}

const VERIFY_CHUNK = 512;

/** The tree nodes appending leaf `index` completes, in the order CompactRange.append returns them. */
function completedBy(index: number): NodeId[] {
  const ids = [{ level: 0, index }];
  for (let at = index, level = 0; at % 2 === 1; ) {
    at = Math.floor(at / 2);
    level++;
    ids.push({ level, index: at });
  }
  return ids;
}

export interface AuditOptions {
  onProgress?: (done: number, total: number) => void;
  /** where the scratch store of the replay goes (a new folder under it, removed after); the system's temporary folder by default */
  scratchDir?: string;
}

/**
 * The replay's side: a scratch store the effects are written into a batch at a time, and
 * the state of the batch being replayed, layered over it in memory.
 */
class Replay {
  private state: MemoryState | undefined;
  private time = -1;
  private effects: Effects[] = [];

  constructor(readonly scratch: LedgerStore) {}

  /**
   * The state to apply a statement sealed at `time` to. A new time is a new batch (`batch`:
   * its statements): the last one is written first.
   */
  async stateFor(time: number, batch: () => readonly SignedStatement[]): Promise<MemoryState> {
    if (this.state && time === this.time) return this.state;
    await this.flush();
    // The batch's range reads, planned from its payloads as the sequencer planned them.
    const planned = await this.scratch.plan(batch().flatMap((s) => plannedOverlapQuery(s.payload, time) ?? []));
    this.state = new MemoryState(this.scratch.syncWith(planned));
    this.time = time;
    return this.state;
  }

  applied(effects: Effects): void {
    this.state?.apply(effects);
    this.effects.push(effects);
  }

  /** Writes the batch replayed so far; its registrations' frames join the scratch store's similarity index. */
  async flush(): Promise<void> {
    if (!this.state) return;
    await this.scratch.writeEffects(this.effects);
    for (const [work, prints] of this.state.prints) this.scratch.indexPrints(this.state.works.get(work) as WorkRecord, prints);
    this.state = undefined;
    this.effects = [];
  }
}

export async function auditLedger(store: LedgerStorage, ledgerKey: VerifierKey, opts: AuditOptions = {}): Promise<AuditResult> {
  const onProgress = opts.onProgress ?? (() => {});
  const latest = await store.latestCheckpoint();
  const total = latest?.size ?? 0;
  const tree = CompactRange.fromStore(0, () => []);
  const scratchDir = await mkdtemp(join(opts.scratchDir ?? tmpdir(), 'cartulary-audit-'));
  const replay = new Replay(await openStore(scratchDir, { create: true, scratch: true }));
  // The registrar is metadata fixed at init, not an entry: the replay takes the store's word for it.
  const registrar = await store.read((view) => view.registrar());
  if (registrar !== undefined) await replay.scratch.setMeta('registrar', registrar);
  const checkpoints = store.checkpoints()[Symbol.asyncIterator]();
  const leaves = store.leafChunks(VERIFY_CHUNK)[Symbol.asyncIterator]();
  const following = async (): Promise<StoredCheckpoint | undefined> => (await checkpoints.next()).value ?? undefined;
  let nextCheckpoint = await following();
  let previous: { size: number; root: Uint8Array } | null = null;
  let checkpointCount = 0;
  let prevHash = ZERO_HASH;
  let lastTime = 0;

  const checkCheckpoints = () => {
    while (nextCheckpoint && nextCheckpoint.size === tree.size) {
      const size = tree.size;
      const where = `checkpoint ${size}`;
      let cp;
      try {
        cp = openCheckpoint(nextCheckpoint.note, ledgerKey);
      } catch (e) {
        throw new Fault(where, (e as Error).message);
      }
      if (cp.size !== size) throw new Fault(where, `stored under size ${size} but says ${cp.size}`);
      if (!equalBytes(cp.rootHash, tree.root())) throw new Fault(where, `root ${toHex(cp.rootHash)} is not the replayed root ${toHex(tree.root())}`);
      // Every tree extends the empty one: there is nothing to prove from size 0.
      if (previous && previous.size > 0) {
        const from = previous;
        return store
          .read((view) => view.hashRanges(consistencyPlan(from.size, size)))
          .then((proof) => verifyConsistency(from.size, size, from.root, cp.rootHash, proof))
          .catch((e: Error) => {
            throw new Fault(where, `not consistent with checkpoint ${from.size}: ${e.message}`);
          })
          .then(() => passed(size, cp.rootHash));
      }
      return passed(size, cp.rootHash);
    }
    return undefined;
  };
  const passed = async (size: number, root: Uint8Array) => {
    previous = { size, root };
    checkpointCount++;
    nextCheckpoint = await following();
  };

  try {
    await checkCheckpoints(); // the empty tree's, signed when the ledger was created
    let expected = 0;
    // Reads, parses and starts verifying one chunk; its signatures are checked on the thread
    // pool while the chunk before it is replayed on this thread.
    const readChunk = async () => {
      const chunk: Array<{ index: number; bytes: Uint8Array }> = (await leaves.next()).value ?? [];
      const parsed = chunk.map(({ index, bytes: v }) => {
        const where = `leaf ${index}`;
        if (index !== expected) throw new Fault(where, `found where leaf ${expected} should be (a leaf is missing)`);
        expected++;
        try {
          const leaf = decodeLeaf(v);
          if (leaf.index !== index) throw new Error(`says index ${leaf.index}`);
          return { index, bytes: v, leaf, statement: parseStatement(leaf.statement, { stored: true }) };
        } catch (e) {
          throw new Fault(where, (e as Error).message);
        }
      });
      // What the store says of the chunk, in one planned read: its id indexes and the tree nodes
      // its leaves complete (which nodes depends only on their indices: see CompactRange.append).
      const stored = store.read((view) =>
        parsed.map(({ index, statement }) => ({
          id: view.indexOf(statement.id),
          signed: view.indexOfSigned(statement.signedHash),
          nodes: completedBy(index).map((id) => {
            try {
              return view.readNodes([id])[0] as Uint8Array;
            } catch (e) {
              return e as Error;
            }
          }),
        })),
      );
      stored.catch(() => undefined); // awaited with its chunk; a fault there is reported then
      return { parsed, stored, signatures: Promise.all(parsed.map((p) => verifyStatementAsync(p.statement).then(() => null, (e: Error) => e))) };
    };
    let ahead = readChunk();
    for (;;) {
      const { parsed, stored: storing, signatures: verifying } = await ahead;
      if (parsed.length === 0) break;
      ahead = readChunk();
      // A fault in this chunk ends the audit before the next one is awaited.
      ahead.catch(() => undefined);
      const [signatures, stored] = await Promise.all([verifying, storing]);
      for (const [i, { index, bytes, leaf, statement }] of parsed.entries()) {
        const where = `leaf ${index}`;
        if (signatures[i]) throw new Fault(where, (signatures[i] as Error).message);
        if (!equalBytes(leaf.prev, prevHash)) throw new Fault(where, `prev ${toHex(leaf.prev)} is not the hash of leaf ${index - 1}`);
        if (leaf.time < lastTime) throw new Fault(where, `time ${leaf.time} is earlier than the leaf before (${lastTime})`);
        const kept = stored[i] as { id: number | undefined; signed: number | undefined; nodes: Array<Uint8Array | Error> };
        if (kept.id !== index) throw new Fault(where, `the id index does not map statement ${toHex(statement.id)} to this leaf`);
        if (kept.signed !== index) {
          throw new Fault(where, `the signed-content index does not map ${toHex(statement.signedHash)} to this leaf (a repeat was appended, or the index is damaged)`);
        }
        // Leaves sealed at one time were one batch (or several in one millisecond: the same to the rules).
        const state = await replay.stateFor(leaf.time, () => parsed.slice(i).filter((p) => p.leaf.time === leaf.time).map((p) => p.statement));
        let effects;
        try {
          effects = applyStatement(state, { statement, index, time: leaf.time });
        } catch (e) {
          throw new Fault(where, `the rules now refuse it: ${(e as Error).message}`);
        }
        if (effects.workPrev !== leaf.workPrev) throw new Fault(where, `workPrev ${leaf.workPrev} should be ${effects.workPrev}`);
        replay.applied(effects);
        const leafHash = hashLeaf(bytes);
        for (const [n, { id, hash }] of tree.append(leafHash).entries()) {
          const node = kept.nodes[n] as Uint8Array | Error;
          if (node instanceof Error) throw new Fault(`node ${id.level}/${id.index}`, node.message);
          if (!equalBytes(node, hash)) throw new Fault(`node ${id.level}/${id.index}`, `stored hash differs from the one recomputed from the leaves`);
        }
        prevHash = leafHash;
        lastTime = leaf.time;
        await checkCheckpoints();
      }
      // A batch cut by the chunk's end is planned again with the next chunk's part of it.
      await replay.flush();
      onProgress(expected, total);
    }
    if (tree.size !== total) throw new Fault(`leaf ${tree.size}`, `the latest checkpoint has size ${total} but the log has ${tree.size} leaves`);
    if (nextCheckpoint) throw new Fault(`checkpoint ${nextCheckpoint.size}`, 'no leaves lead to this checkpoint');
    await replay.flush();
    const fault = await store.verifyDerived(replay.scratch, tree.size);
    if (fault) throw new Fault(fault.where, fault.detail);
    return { ok: true, size: tree.size, checkpoints: checkpointCount };
  } catch (e) {
    if (e instanceof Fault) return { ok: false, size: total, checkpoints: checkpointCount, fault: { where: e.where, detail: e.message } };
    throw e;
  } finally {
    await Promise.all([checkpoints.return?.(), leaves.return?.()]);
    await replay.scratch.close();
    await rm(scratchDir, { recursive: true, force: true });
  }
}
