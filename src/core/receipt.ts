/**
 * Receipts (DESIGN §7): what a submitter gets once its statement is durable, and how
 * anyone checks one offline against the ledger's verifier key.
 */
import { fromHex, toHex } from './bytes.js';
import { openCheckpoint, type Checkpoint, type VerifierKey } from './checkpoint.js';
import { sha256 } from './crypto.js';
import { CartularyError } from './errors.js';
import { decodeLeaf, type Leaf } from './leaf.js';
import { hashLeaf, verifyInclusion } from './merkle.js';

export interface InclusionProof {
  index: number;
  size: number;
  hashes: string[];
}

export interface Receipt {
  /** SHA-256 of the statement bytes */
  id: string;
  index: number;
  leafHash: string;
  /** the ledger's time for the entry, ms */
  time: number;
  /** the signed checkpoint the proof leads to */
  checkpoint: string;
  inclusionProof: InclusionProof;
}

export const proofHashes = (hashes: readonly string[], field = 'inclusionProof.hashes'): Uint8Array[] =>
  hashes.map((h, i) => fromHex(h, `${field}[${i}]`, 32));

/**
 * Checks a receipt against the leaf bytes it names: the checkpoint signature under `key`,
 * the leaf's hash and index, the statement inside it, and the inclusion proof.
 * Returns the verified checkpoint and leaf.
 */
export function verifyReceipt(receipt: Receipt, leafBytes: Uint8Array, key: VerifierKey): { checkpoint: Checkpoint; leaf: Leaf } {
  const checkpoint = openCheckpoint(receipt.checkpoint, key);
  const leaf = decodeLeaf(leafBytes);
  const fail = (why: string) => new CartularyError('verification-failed', `receipt: ${why}`);
  if (leaf.index !== receipt.index || receipt.inclusionProof.index !== receipt.index) throw fail('index does not match the leaf');
  if (toHex(sha256(leaf.statement)) !== receipt.id) throw fail('id is not the hash of the leaf\'s statement');
  const leafHash = hashLeaf(leafBytes);
  if (toHex(leafHash) !== receipt.leafHash) throw fail('leafHash is not the hash of the leaf');
  if (receipt.inclusionProof.size !== checkpoint.size) throw fail('proof size is not the checkpoint size');
  verifyInclusion(receipt.index, checkpoint.size, leafHash, proofHashes(receipt.inclusionProof.hashes), checkpoint.rootHash);
  return { checkpoint, leaf };
}
