/**
 * Log leaves (DESIGN §5): CBOR [1, index, time, prev, workPrev, statement].
 *
 * `prev` is the leaf hash of leaf index-1 (32 zero bytes for leaf 0), so the leaves form a
 * hash chain as well as a Merkle tree; `workPrev` is the index of the previous leaf about
 * the same work (null for registrations and profiles), so a work's entries form a chain
 * that no middle entry can be dropped from.
 */
import { decodeCbor, encodeCbor } from './cbor.js';
import { MAX_STATEMENT_BYTES } from './cose.js';
import { CartularyError } from './errors.js';
import { HASH_SIZE } from './merkle.js';

export const LEAF_VERSION = 1;
export const ZERO_HASH: Uint8Array = new Uint8Array(HASH_SIZE);

export interface Leaf {
  readonly index: number;
  /** the ledger's clock in ms when the leaf was sequenced; never decreasing */
  readonly time: number;
  readonly prev: Uint8Array;
  readonly workPrev: number | null;
  /** the COSE_Sign1 bytes exactly as submitted */
  readonly statement: Uint8Array;
}

export function encodeLeaf(leaf: Leaf): Uint8Array {
  return encodeCbor([LEAF_VERSION, leaf.index, leaf.time, leaf.prev, leaf.workPrev, leaf.statement]);
}

const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function decodeLeaf(bytes: Uint8Array): Leaf {
  const v = decodeCbor(bytes, { maxBytes: MAX_STATEMENT_BYTES + 128 }, 'leaf');
  const bad = (why: string) => new CartularyError('malformed', `leaf: ${why}`);
  if (!Array.isArray(v) || v.length !== 6) throw bad('must be an array of 6 items');
  const [version, index, time, prev, workPrev, statement] = v as unknown[];
  if (version !== LEAF_VERSION) throw bad(`version ${String(version)} is not ${LEAF_VERSION}`);
  if (!isNat(index)) throw bad('index must be a natural number');
  if (!isNat(time)) throw bad('time must be a natural number of ms');
  if (!(prev instanceof Uint8Array) || prev.length !== HASH_SIZE) throw bad('prev must be a 32-byte hash');
  if (workPrev !== null && !isNat(workPrev)) throw bad('workPrev must be null or an index');
  if (!(statement instanceof Uint8Array)) throw bad('statement must be a byte string');
  return { index, time, prev, workPrev, statement };
}
