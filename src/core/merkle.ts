/**
 * RFC 6962 §2.1 / RFC 9162 §2.1 Merkle trees over SHA-256.
 *
 * The store keeps the hash of every *perfect* subtree (a node): level `l`, index `i`
 * covers leaves [i·2^l, (i+1)·2^l). Any root or proof of any tree size is a fold over a
 * few such nodes. So this module is split in three, after transparency-dev/merkle:
 *   1. plan:    which ranges of leaves a root or proof needs (pure arithmetic);
 *   2. fetch:   the caller reads those perfect nodes by (level, index) — O(log n) reads;
 *   3. combine: fold them into hashes; and, separately, verify a proof by computing the
 *      root it implies and comparing.
 */
import { concatBytes, equalBytes, toHex } from './bytes.js';
import { sha256 } from './crypto.js';
import { CartularyError } from './errors.js';

export const HASH_SIZE = 32;
/** MTH({}) = SHA-256() (RFC 6962 §2.1). */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** MTH({d}) = SHA-256(0x00 ‖ d). */
export const hashLeaf = (leaf: Uint8Array): Uint8Array => sha256(concatBytes(Uint8Array.of(0), leaf));
// Node hashing is the hot loop of proofs: reuse one 65-byte buffer (safe: sha256 is synchronous).
const nodeInput = new Uint8Array(1 + 2 * HASH_SIZE);
nodeInput[0] = 1;
/** SHA-256(0x01 ‖ left ‖ right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return sha256(nodeInput);
}

/** A perfect subtree: level `level`, covering leaves [index·2^level, (index+1)·2^level). */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** A half-open range of leaves [begin, end) whose MTH a proof needs. */
export type LeafRange = readonly [begin: number, end: number];

/** Reads the hashes of perfect nodes, in the order asked; every node asked for must exist. */
export type NodeReader = (ids: readonly NodeId[]) => Uint8Array[];

const pow2 = (k: number) => 2 ** k;

/** The largest power of two strictly less than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function checkSize(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${n}`);
}

/**
 * The perfect nodes that make up [begin, end), left to right. For the ranges RFC 6962's
 * recursion produces, the MTH of the range is the right fold of these nodes. Appended to
 * `out` when given (one list for many ranges).
 */
export function rangeNodes([begin, end]: LeafRange, out: NodeId[] = []): NodeId[] {
  let at = begin;
  while (at < end) {
    let level = 0;
    let width = 1;
    // Grow while `at` stays aligned to the larger node and the node stays inside the range.
    while (at % (width * 2) === 0 && at + width * 2 <= end) {
      level++;
      width *= 2;
    }
    out.push({ level, index: at / width });
    at += width;
  }
  return out;
}

/** MTH of a range from its perfect nodes' hashes, hashes[from..to): H(n1, H(n2, … H(nk-1, nk))). */
function foldRange(hashes: readonly Uint8Array[], from: number, to: number): Uint8Array {
  let h = hashes[to - 1] as Uint8Array;
  for (let i = to - 2; i >= from; i--) h = hashChildren(hashes[i] as Uint8Array, h);
  return h;
}

/** Hashes of ranges kept between calls over the same tree: a range's hash never changes. */
export interface RangeMemo {
  get(key: string): Uint8Array | undefined;
  set(key: string, hash: Uint8Array): void;
}

/**
 * Hashes each range, reading all the perfect nodes they need in one call. `memo`, when
 * given, keeps the hashes of ranges that are not one node (those a proof must fold: the
 * same few at a tree's right edge for every proof at that size, and the receipts of one
 * batch share most of theirs).
 */
export function hashRanges(ranges: readonly LeafRange[], read: NodeReader, memo?: RangeMemo): Uint8Array[] {
  // Every range's nodes in one list, and where each range ends in it; a remembered range
  // reads nothing.
  const ids: NodeId[] = [];
  const ends: number[] = [];
  const remembered: Array<Uint8Array | undefined> = [];
  for (const range of ranges) {
    const from = ids.length;
    rangeNodes(range, ids);
    const known = memo && ids.length - from > 1 ? memo.get(`${range[0]}-${range[1]}`) : undefined;
    if (known) ids.length = from;
    remembered.push(known);
    ends.push(ids.length);
  }
  const hashes = read(ids);
  return ranges.map((range, i) => {
    const known = remembered[i];
    if (known) return known;
    const from = i === 0 ? 0 : (ends[i - 1] as number);
    const to = ends[i] as number;
    const h = foldRange(hashes, from, to);
    if (memo && to - from > 1) memo.set(`${range[0]}-${range[1]}`, h);
    return h;
  });
}

/** The ranges whose hashes form the root of a tree of `size` leaves (none for size 0). */
export const rootPlan = (size: number): LeafRange[] => (size === 0 ? [] : [[0, size]]);

export function rootHash(size: number, read: NodeReader): Uint8Array {
  checkSize(size, 'size');
  return size === 0 ? EMPTY_ROOT : (hashRanges(rootPlan(size), read)[0] as Uint8Array);
}

/**
 * RFC 9162 §2.1.3.1 PATH(m, D[n]) as ranges, ordered from the leaf upward.
 * Requires 0 ≤ index < size.
 */
export function inclusionPlan(index: number, size: number): LeafRange[] {
  checkSize(size, 'size');
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new RangeError(`inclusion proof needs 0 <= index < size, got index ${index}, size ${size}`);
  }
  const out: LeafRange[] = [];
  const path = (begin: number, end: number): void => {
    if (end - begin === 1) return;
    const k = splitPoint(end - begin);
    if (index < begin + k) {
      path(begin, begin + k);
      out.push([begin + k, end]);
    } else {
      path(begin + k, end);
      out.push([begin, begin + k]);
    }
  };
  path(0, size);
  return out;
}

/**
 * RFC 9162 §2.1.4.1 PROOF(m, D[n]) as ranges. Requires 0 ≤ from ≤ to; the proof is
 * empty when from is 0 or equals to.
 */
export function consistencyPlan(from: number, to: number): LeafRange[] {
  checkSize(from, 'from');
  checkSize(to, 'to');
  if (from > to) throw new RangeError(`consistency proof needs from <= to, got from ${from}, to ${to}`);
  const out: LeafRange[] = [];
  if (from === 0 || from === to) return out;
  const subproof = (m: number, begin: number, end: number, whole: boolean): void => {
    const n = end - begin;
    if (m === n) {
      if (!whole) out.push([begin, end]);
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      subproof(m, begin, begin + k, whole);
      out.push([begin + k, end]);
    } else {
      subproof(m - k, begin + k, end, false);
      out.push([begin, begin + k]);
    }
  };
  subproof(from, 0, to, true);
  return out;
}

const proofError = (detail: string, info?: Record<string, unknown>) =>
  new CartularyError('verification-failed', detail, info ? { info } : {});

const half = (n: number) => Math.floor(n / 2);
const odd = (n: number) => n % 2 === 1;

/** Bit length and number of 1 bits of a non-negative safe integer. */
function bitLength(n: number): number {
  let len = 0;
  for (let v = n; v > 0; v = half(v)) len++;
  return len;
}
function popCount(n: number): number {
  let c = 0;
  for (let v = n; v > 0; v = half(v)) if (odd(v)) c++;
  return c;
}

/** The length an inclusion proof for (index, size) must have. */
export function inclusionProofLength(index: number, size: number): number {
  // Levels where the paths to `index` and to the last leaf differ need a sibling each;
  // above them, each 1 bit of the shared prefix is a left sibling on the border.
  const inner = bitLength(xor(index, size - 1));
  return inner + popCount(Math.floor(index / pow2(inner)));
}

/** XOR without 32-bit truncation: indices may exceed 2^31. */
function xor(a: number, b: number): number {
  let out = 0;
  for (let bit = 1, x = a, y = b; x > 0 || y > 0; bit *= 2, x = half(x), y = half(y)) {
    if (odd(x) !== odd(y)) out += bit;
  }
  return out;
}

/**
 * RFC 9162 §2.1.3.2: the root that an inclusion proof implies for `leafHash` at `index`
 * in a tree of `size`. Requires 0 ≤ index < size; checks the proof length before hashing.
 */
export function rootFromInclusionProof(index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw proofError(`inclusion proof: index ${index} is not inside a tree of size ${size}`);
  }
  const want = inclusionProofLength(index, size);
  if (proof.length !== want) throw proofError(`inclusion proof has ${proof.length} hashes; index ${index} in size ${size} needs ${want}`);
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (odd(fn) || fn === sn) {
      r = hashChildren(p, r);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return r;
}

/** Checks an inclusion proof against a known root; throws 'verification-failed' with both roots. */
export function verifyInclusion(index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): void {
  const computed = rootFromInclusionProof(index, size, leafHash, proof);
  if (!equalBytes(computed, root)) {
    throw proofError(`inclusion proof for index ${index} computes root ${toHex(computed)}, expected ${toHex(root)}`, {
      computed: toHex(computed),
      expected: toHex(root),
    });
  }
}

/**
 * RFC 9162 §2.1.4.2: checks that `proof` shows the tree of `size1` leaves with root
 * `root1` is a prefix of the tree of `size2` leaves with root `root2`.
 * Requires 0 ≤ size1 ≤ size2.
 */
export function verifyConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): void {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size2 < size1) {
    throw proofError(`consistency proof: sizes ${size1} → ${size2} are not in order`);
  }
  if (size1 === size2 || size1 === 0) {
    if (proof.length !== 0) throw proofError(`consistency proof from ${size1} to ${size2} must be empty, has ${proof.length} hashes`);
    if (size1 === size2 && !equalBytes(root1, root2)) {
      throw proofError(`trees of the same size ${size1} have different roots ${toHex(root1)} and ${toHex(root2)}`);
    }
    return;
  }
  const want = consistencyPlan(size1, size2).length;
  if (proof.length !== want) throw proofError(`consistency proof has ${proof.length} hashes; ${size1} → ${size2} needs ${want}`);

  // Step 2: when size1 is a power of two its root is the first node of the path.
  const path = popCount(size1) === 1 ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0] as Uint8Array;
  let sr = path[0] as Uint8Array;
  for (const c of path.slice(1)) {
    if (sn === 0) throw proofError('consistency proof is longer than the trees allow');
    if (odd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw proofError('consistency proof is shorter than the trees need');
  if (!equalBytes(fr, root1)) {
    throw proofError(`consistency proof computes old root ${toHex(fr)}, expected ${toHex(root1)}`, { computed: toHex(fr), expected: toHex(root1) });
  }
  if (!equalBytes(sr, root2)) {
    throw proofError(`consistency proof computes new root ${toHex(sr)}, expected ${toHex(root2)}`, { computed: toHex(sr), expected: toHex(root2) });
  }
}

/**
 * The right edge of a growing tree (a compact range): the perfect nodes covering [0, size),
 * left to right. Appending a leaf returns the perfect nodes it completes, for storing.
 */
export class CompactRange {
  private constructor(
    private size_: number,
    private readonly nodes: Uint8Array[],
  ) {}

  /** Rebuilds the edge of a tree of `size` leaves from stored perfect nodes. */
  static fromStore(size: number, read: NodeReader): CompactRange {
    return new CompactRange(size, size === 0 ? [] : read(rangeNodes([0, size])));
  }

  get size(): number {
    return this.size_;
  }

  /** The perfect nodes of the edge, left to right, with their ids. */
  edge(): Array<{ id: NodeId; hash: Uint8Array }> {
    const ids = rangeNodes([0, this.size_]);
    return ids.map((id, i) => ({ id, hash: this.nodes[i] as Uint8Array }));
  }

  /** A copy to grow speculatively; the original stays as it was. */
  clone(): CompactRange {
    return new CompactRange(this.size_, [...this.nodes]);
  }

  /** Adds a leaf hash; returns every perfect node (level 0 upward) completed by it. */
  append(leafHash: Uint8Array): Array<{ id: NodeId; hash: Uint8Array }> {
    const completed = [{ id: { level: 0, index: this.size_ }, hash: leafHash }];
    let h = leafHash;
    let index = this.size_;
    let level = 0;
    while (odd(index)) {
      const left = this.nodes.pop() as Uint8Array;
      h = hashChildren(left, h);
      index = half(index);
      level++;
      completed.push({ id: { level, index }, hash: h });
    }
    this.nodes.push(h);
    this.size_++;
    return completed;
  }

  root(): Uint8Array {
    return this.nodes.length === 0 ? EMPTY_ROOT : foldRange(this.nodes, 0, this.nodes.length);
  }
}
