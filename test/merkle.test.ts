/**
 * RFC 6962 / RFC 9162 §2.1: the stored-node implementation against a naive recursive one
 * written straight from the RFC text, for every tree size 1..70 and every index/size pair.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import {
  consistencyPlan,
  EMPTY_ROOT,
  hashRanges,
  inclusionPlan,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from '../src/core/merkle.js';
import { memoryTree } from './helpers.js';

// --- the naive reference, independent of src/core (its own SHA-256 from node:crypto) ---
const H = (...parts: Uint8Array[]) => new Uint8Array(createHash('sha256').update(Buffer.concat(parts)).digest());
const k = (n: number) => {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
};
function MTH(D: Uint8Array[]): Uint8Array {
  if (D.length === 0) return H();
  if (D.length === 1) return H(Uint8Array.of(0), D[0]!);
  const s = k(D.length);
  return H(Uint8Array.of(1), MTH(D.slice(0, s)), MTH(D.slice(s)));
}
function PATH(m: number, D: Uint8Array[]): Uint8Array[] {
  if (D.length === 1) return [];
  const s = k(D.length);
  return m < s ? [...PATH(m, D.slice(0, s)), MTH(D.slice(s))] : [...PATH(m - s, D.slice(s)), MTH(D.slice(0, s))];
}
function SUBPROOF(m: number, D: Uint8Array[], b: boolean): Uint8Array[] {
  const n = D.length;
  if (m === n) return b ? [] : [MTH(D)];
  const s = k(n);
  return m <= s ? [...SUBPROOF(m, D.slice(0, s), b), MTH(D.slice(s))] : [...SUBPROOF(m - s, D.slice(s), false), MTH(D.slice(0, s))];
}
const PROOF = (m: number, D: Uint8Array[]) => SUBPROOF(m, D, true);

const leavesOf = (n: number) => Array.from({ length: n }, (_, i) => new TextEncoder().encode(`leaf ${i}`));
const MAX = 70;
const all = leavesOf(MAX);
const { read } = memoryTree(all);
const hex = (hs: Uint8Array[]) => hs.map(toHex);
const flipBit = (hs: Uint8Array[], i: number, bit: number) => hs.map((h, j) => (j === i ? h.map((b, x) => (x === bit >> 3 ? b ^ (1 << (bit & 7)) : b)) : h));

describe('RFC 6962 Merkle tree', () => {
  it('the empty tree hashes to SHA-256 of nothing', () => {
    expect(toHex(EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(rootHash(0, read)).toEqual(EMPTY_ROOT);
  });

  it('roots of every size 1..70 agree with the naive MTH', () => {
    for (let n = 1; n <= MAX; n++) expect(toHex(rootHash(n, read)), `size ${n}`).toBe(toHex(MTH(all.slice(0, n))));
  });

  it('inclusion proofs for every index/size pair equal PATH and verify', () => {
    for (let n = 1; n <= MAX; n++) {
      const root = MTH(all.slice(0, n));
      for (let m = 0; m < n; m++) {
        const proof = hashRanges(inclusionPlan(m, n), read);
        expect(hex(proof), `${m}@${n}`).toEqual(hex(PATH(m, all.slice(0, n))));
        expect(() => verifyInclusion(m, n, H(Uint8Array.of(0), all[m]!), proof, root)).not.toThrow();
      }
    }
  });

  it('consistency proofs for every size pair equal PROOF and verify', () => {
    for (let n = 1; n <= MAX; n++) {
      const root2 = MTH(all.slice(0, n));
      for (let m = 1; m <= n; m++) {
        const proof = hashRanges(consistencyPlan(m, n), read);
        expect(hex(proof), `${m}→${n}`).toEqual(m === n ? [] : hex(PROOF(m, all.slice(0, n))));
        expect(() => verifyConsistency(m, n, MTH(all.slice(0, m)), root2, proof)).not.toThrow();
      }
    }
  });

  it('every flipped bit, wrong index or wrong size in an inclusion proof fails', () => {
    for (let n = 2; n <= 24; n++) {
      const root = MTH(all.slice(0, n));
      for (let m = 0; m < n; m++) {
        const leafHash = H(Uint8Array.of(0), all[m]!);
        const proof = hashRanges(inclusionPlan(m, n), read);
        for (let i = 0; i < proof.length; i++) {
          for (const bit of [0, 77, 255]) expect(() => verifyInclusion(m, n, leafHash, flipBit(proof, i, bit), root)).toThrow(/inclusion proof/);
        }
        expect(() => verifyInclusion((m + 1) % n, n, leafHash, proof, root)).toThrow();
        // The size is bound by the signed root: a proof for size n fails against the root of n+1.
        expect(() => verifyInclusion(m, n + 1, leafHash, proof, MTH(all.slice(0, n + 1)))).toThrow();
        expect(() => verifyInclusion(m, n, leafHash, [...proof, proof[0] ?? root], root)).toThrow(/hashes/);
        expect(() => verifyInclusion(m, n, flipBit([leafHash], 0, 3)[0]!, proof, root)).toThrow();
      }
    }
  });

  it('every flipped bit, wrong size or truncation in a consistency proof fails', () => {
    for (let n = 2; n <= 24; n++) {
      const root2 = MTH(all.slice(0, n));
      for (let m = 1; m < n; m++) {
        const root1 = MTH(all.slice(0, m));
        const proof = hashRanges(consistencyPlan(m, n), read);
        for (let i = 0; i < proof.length; i++) {
          expect(() => verifyConsistency(m, n, root1, root2, flipBit(proof, i, 9))).toThrow(/consistency proof/);
        }
        expect(() => verifyConsistency(m, n, root1, root2, proof.slice(1))).toThrow();
        expect(() => verifyConsistency(m, n + 1, root1, MTH(all.slice(0, n + 1)), proof)).toThrow();
        expect(() => verifyConsistency(m, n, flipBit([root1], 0, 1)[0]!, root2, proof)).toThrow();
      }
    }
  });

  it('a mismatch names both roots', () => {
    const proof = hashRanges(inclusionPlan(3, 10), read);
    const wrongRoot = MTH(all.slice(0, 9));
    expect(() => verifyInclusion(3, 10, H(Uint8Array.of(0), all[3]!), proof, wrongRoot)).toThrow(new RegExp(`expected ${toHex(wrongRoot)}`));
  });

  it('property: random trees, random proofs verify and agree with the reference', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 200 }),
        fc.nat(),
        fc.nat(),
        (leaves, a, b) => {
          const t = memoryTree(leaves);
          const n = leaves.length;
          const m = a % n;
          const root = MTH(leaves);
          const proof = hashRanges(inclusionPlan(m, n), t.read);
          expect(hex(proof)).toEqual(hex(PATH(m, leaves)));
          verifyInclusion(m, n, H(Uint8Array.of(0), leaves[m]!), proof, root);
          const from = 1 + (b % n);
          verifyConsistency(from, n, MTH(leaves.slice(0, from)), root, hashRanges(consistencyPlan(from, n), t.read));
        },
      ),
      { numRuns: 150 },
    );
  });
});
