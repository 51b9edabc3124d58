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
import { equalBytes, fromHex, readUintBE, toHex } from '../core/bytes.js';
import { openCheckpoint, type VerifierKey } from '../core/checkpoint.js';
import { parseStatement, verifyStatementAsync } from '../core/cose.js';
import { CartularyError } from '../core/errors.js';
import { decodeLeaf, ZERO_HASH } from '../core/leaf.js';
import { CompactRange, consistencyPlan, hashLeaf, hashRanges, verifyConsistency } from '../core/merkle.js';
import { applyStatement } from '../core/rules.js';
import { MemoryState } from '../core/state.js';
import { prefixRange, PREFIX } from './layout.js';
import { effectOps, entryKeys, storeError, type LedgerStore } from './ledger-store.js';

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
  store: LedgerStore,
  ledgerKey: VerifierKey,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<AuditResult> {
  const latest = await store.latestCheckpoint();
  const total = latest?.size ?? 0;
  const tree = CompactRange.fromStore(0, store.readNodes);
  // The registrar is metadata fixed at init, not an entry: the replay takes the store's word for it.
  const state = new MemoryState(undefined, store.registrar());
  // One key per entry lists it under its work: collected as the replay goes (see entryKeys).
  const listed = new Set<string>();
  const checkpoints = store.db.iterator(prefixRange(PREFIX.checkpoint));
  let nextCheckpoint = await checkpoints.next();
  let previous: { size: number; root: Uint8Array } | null = null;
  let checkpointCount = 0;
  let prevHash = ZERO_HASH;
  let lastTime = 0;

  const checkCheckpoints = () => {
    while (nextCheckpoint && readUintBE(nextCheckpoint[0], 1) === tree.size) {
      const size = tree.size;
      const where = `checkpoint ${size}`;
      let cp;
      try {
        cp = openCheckpoint(new TextDecoder().decode(nextCheckpoint[1]), ledgerKey);
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
      return checkpoints.next().then((n) => {
        nextCheckpoint = n;
      });
    }
    return undefined;
  };

  try {
    await checkCheckpoints(); // the empty tree's, signed when the ledger was created
    let expected = 0;
    const leaves = store.db.iterator(prefixRange(PREFIX.leaf));
    for (;;) {
      const chunk = await leaves.nextv(VERIFY_CHUNK);
      if (chunk.length === 0) break;
      const parsed = chunk.map(([k, v]) => {
        const index = readUintBE(k, 1);
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
      const signatures = await Promise.all(parsed.map((p) => verifyStatementAsync(p.statement).then(() => null, (e: Error) => e)));
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
        for (const k of entryKeys(effects)) listed.add(toHex(k));
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
    await leaves.close();
    if (tree.size !== total) throw new Fault(`leaf ${tree.size}`, `the latest checkpoint has size ${total} but the log has ${tree.size} leaves`);
    if (nextCheckpoint) throw new Fault(`checkpoint ${readUintBE(nextCheckpoint[0], 1)}`, 'no leaves lead to this checkpoint');
    await compareState(store, state, listed, tree.size);
    return { ok: true, size: tree.size, checkpoints: checkpointCount };
  } catch (e) {
    if (e instanceof Fault) return { ok: false, size: total, checkpoints: checkpointCount, fault: { where: e.where, detail: e.message } };
    throw storeError(e);
  } finally {
    await checkpoints.close();
  }
}

/** The stored derived state must be exactly what the replay derives, key for key. */
async function compareState(store: LedgerStore, state: MemoryState, listed: ReadonlySet<string>, size: number): Promise<void> {
  // The replayed state, written out as the sequencer would have written it from scratch.
  const ops = [
    ...effectOps({
      workPrev: null,
      works: [...state.works.values()].map((after) => ({ before: undefined, after })),
      licences: [...state.licences.values()].map((after) => ({ before: undefined, after })),
    }),
    ...[...state.contents.values()].flatMap((content) => effectOps({ workPrev: null, works: [], licences: [], content })),
    ...effectOps({ workPrev: null, works: [], licences: [], holdings: [...state.holdings.values()].flatMap((h) => h ?? []) }),
    ...[...state.parties.values()].flatMap((party) => effectOps({ workPrev: null, works: [], licences: [], party })),
    ...[...state.fingerprints].flatMap(([work, bytes]) => effectOps({ workPrev: null, works: [], licences: [], frames: { work, bytes } })),
    ...[...state.held].flatMap(([pair, licences]) => {
      const [work, licensee] = pair.split('/') as [string, string];
      return effectOps({ workPrev: null, works: [], licences: [], held: { work, licensee, licences } });
    }),
    ...[...state.claims.values()].flatMap((claim) => effectOps({ workPrev: null, works: [], licences: [], claim })),
    ...[...state.mediators.values()].flatMap((mediator) => effectOps({ workPrev: null, works: [], licences: [], mediator })),
    ...[...state.resolutions.values()].flatMap((resolution) => effectOps({ workPrev: null, works: [], licences: [], resolution })),
    // Only the count: each sighting's listing key is one per entry, collected in `listed`.
    ...[...state.sightingCounts].flatMap(([work, count]) =>
      effectOps({ workPrev: null, works: [], licences: [], sighting: { work, index: 0, count } }).filter((op) => op.key[0] === PREFIX.sightingCount[0]),
    ),
  ];
  const expected = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  for (const op of ops) if (op.type === 'put') expected.set(toHex(op.key), op);
  for (const k of listed) expected.set(k, { key: fromHex(k, 'key'), value: new Uint8Array(0) });

  const names: Record<string, string> = {
    W: 'work',
    X: 'licence',
    S: 'content',
    R: 'registration of content',
    D: 'holding of content',
    Y: 'entry list of work',
    V: 'lookalike rivals of work',
    P: 'party',
    O: 'owned',
    G: 'held',
    F: 'fingerprints',
    K: "work's licence",
    J: 'holding of work',
    E: 'exclusivity index of work',
    Q: 'claim',
    A: 'accreditation of mediator',
    B: 'resolution',
    T: 'sightings of work',
    U: 'sighting count of work',
  };
  const describe = (k: Uint8Array) => `${names[String.fromCharCode(k[0] as number)] ?? 'record'} ${toHex(k.subarray(1, 33))}`;
  const derived = [PREFIX.work, PREFIX.licence, PREFIX.sha, PREFIX.registration, PREFIX.holding, PREFIX.workEntry, PREFIX.rival, PREFIX.party, PREFIX.owned, PREFIX.held, PREFIX.frames, PREFIX.workLicence, PREFIX.heldOnWork, PREFIX.cell, PREFIX.claim, PREFIX.mediator, PREFIX.resolution, PREFIX.sighting, PREFIX.sightingCount];
  for (const prefix of derived) {
    for await (const [k, v] of store.db.iterator(prefixRange(prefix))) {
      const want = expected.get(toHex(k));
      if (!want) throw new Fault(describe(k), 'stored record that no entry of the log produces');
      if (!equalBytes(want.value, v)) throw new Fault(describe(k), 'stored record differs from the replay of the log');
      expected.delete(toHex(k));
    }
  }
  const [missing] = expected.values();
  if (missing) throw new Fault(describe(missing.key), 'record missing from the store');

  for (const [prefix, name] of [[PREFIX.id, 'id index'], [PREFIX.signed, 'signed-content index']] as const) {
    let count = 0;
    for await (const _ of store.db.keys(prefixRange(prefix))) count++;
    if (count !== size) throw new Fault(name, `holds ${count} entries for ${size} leaves`);
  }
}
