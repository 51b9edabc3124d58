/**
 * Audit: re-derive everything from the leaves and compare it with what the store holds.
 *
 * For every leaf in order: its key and index agree, `prev` is the previous leaf's hash, time
 * never decreases, the statement parses and its signature verifies, its id maps back to it,
 * the rules accept it again with the same `workPrev`, and every Merkle node it completes
 * equals the stored node. For every checkpoint: the signature under the ledger key, the root
 * of the replayed tree at its size, and a consistency proof from the checkpoint before it.
 * Finally the stored derived state (works, licences, content index, parties, ownership
 * and holding indexes) must equal the replay's, key for key.
 *
 * The replayed state is held in memory; an audit of a very large ledger needs memory in
 * proportion to its works and licences (the README says so).
 */
import { equalBytes, toHex } from '../core/bytes.js';
import { openCheckpoint, type VerifierKey } from '../core/checkpoint.js';
import { parseStatement, verifyStatementAsync } from '../core/cose.js';
import { CartularyError } from '../core/errors.js';
import { decodeLeaf, ZERO_HASH } from '../core/leaf.js';
import { CompactRange, consistencyPlan, hashLeaf, hashRanges, verifyConsistency } from '../core/merkle.js';
import { applyStatement } from '../core/rules.js';
import { listedEntries, type ListedEntry } from '../core/records.js';
import { MemoryState } from '../core/state.js';
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

export async function auditLedger(
  store: LedgerStorage,
  ledgerKey: VerifierKey,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<AuditResult> {
  const latest = await store.latestCheckpoint();
  const total = latest?.size ?? 0;
  const tree = CompactRange.fromStore(0, store.readNodes);
  // The registrar is metadata fixed at init, not an entry: the replay takes the store's word for it.
  const state = new MemoryState(undefined, store.registrar());
  // Each entry is listed under its works: collected as the replay goes (see listedEntries).
  const listed: ListedEntry[] = [];
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
        try {
          const proof = hashRanges(consistencyPlan(previous.size, size), store.readNodes);
          verifyConsistency(previous.size, size, previous.root, cp.rootHash, proof);
        } catch (e) {
          throw new Fault(where, `not consistent with checkpoint ${previous.size}: ${(e as Error).message}`);
        }
      }
      previous = { size, root: cp.rootHash };
      checkpointCount++;
      return following().then((n) => {
        nextCheckpoint = n;
      });
    }
    return undefined;
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
      return { parsed, signatures: Promise.all(parsed.map((p) => verifyStatementAsync(p.statement).then(() => null, (e: Error) => e))) };
    };
    let ahead = readChunk();
    for (;;) {
      const { parsed, signatures: verifying } = await ahead;
      if (parsed.length === 0) break;
      ahead = readChunk();
      // A fault in this chunk ends the audit before the next one is awaited.
      ahead.catch(() => undefined);
      const signatures = await verifying;
      for (const [i, { index, bytes, leaf, statement }] of parsed.entries()) {
        const where = `leaf ${index}`;
        if (signatures[i]) throw new Fault(where, (signatures[i] as Error).message);
        if (!equalBytes(leaf.prev, prevHash)) throw new Fault(where, `prev ${toHex(leaf.prev)} is not the hash of leaf ${index - 1}`);
        if (leaf.time < lastTime) throw new Fault(where, `time ${leaf.time} is earlier than the leaf before (${lastTime})`);
        if (store.indexOf(statement.id) !== index) throw new Fault(where, `the id index does not map statement ${toHex(statement.id)} to this leaf`);
        if (store.indexOfSigned(statement.signedHash) !== index) {
          throw new Fault(where, `the signed-content index does not map ${toHex(statement.signedHash)} to this leaf (a repeat was appended, or the index is damaged)`);
        }
        let effects;
        try {
          effects = applyStatement(state, { statement, index, time: leaf.time });
        } catch (e) {
          throw new Fault(where, `the rules now refuse it: ${(e as Error).message}`);
        }
        if (effects.workPrev !== leaf.workPrev) throw new Fault(where, `workPrev ${leaf.workPrev} should be ${effects.workPrev}`);
        state.apply(effects);
        listed.push(...listedEntries(effects));
        const leafHash = hashLeaf(bytes);
        for (const { id, hash } of tree.append(leafHash)) {
          let stored: Uint8Array[];
          try {
            stored = store.readNodes([id]);
          } catch (e) {
            throw new Fault(`node ${id.level}/${id.index}`, (e as Error).message);
          }
          if (!equalBytes(stored[0] as Uint8Array, hash)) throw new Fault(`node ${id.level}/${id.index}`, `stored hash differs from the one recomputed from the leaves`);
        }
        prevHash = leafHash;
        lastTime = leaf.time;
        await checkCheckpoints();
      }
      onProgress(expected, total);
    }
    if (tree.size !== total) throw new Fault(`leaf ${tree.size}`, `the latest checkpoint has size ${total} but the log has ${tree.size} leaves`);
    if (nextCheckpoint) throw new Fault(`checkpoint ${nextCheckpoint.size}`, 'no leaves lead to this checkpoint');
    const fault = await store.verifyDerived(state, listed, tree.size);
    if (fault) throw new Fault(fault.where, fault.detail);
    return { ok: true, size: tree.size, checkpoints: checkpointCount };
  } catch (e) {
    if (e instanceof Fault) return { ok: false, size: total, checkpoints: checkpointCount, fault: { where: e.where, detail: e.message } };
    throw e;
  } finally {
    await Promise.all([checkpoints.return?.(), leaves.return?.()]);
  }
}
