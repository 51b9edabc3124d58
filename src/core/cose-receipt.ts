/**
 * COSE Receipts (RFC 9942, draft-ietf-cose-merkle-tree-proofs) for the RFC9162_SHA256
 * verifiable data structure: a COSE_Sign1 by the ledger key whose detached payload is the
 * tree's root, and whose unprotected header carries the inclusion proof
 *
 *   18([ <<{1: -8 (EdDSA), 4: kid, 395: 1 (RFC9162_SHA256)}>>,
 *        {396: {-1: [ <<[tree size, leaf index, [path hashes…]]>> ]}},
 *        nil,
 *        signature over Sig_structure(protected, payload = root hash) ])
 *
 * A verifier recomputes the root from the leaf hash and the proof and checks the signature
 * over it: a wrong leaf, path, index or size gives another root and fails the signature.
 * `kid` is the ledger key's signed-note key id (checkpoint.ts), so one id names the key in both.
 */
import { Tagged } from 'cborg';
import { decodeCbor, encodeCbor } from './cbor.js';
import { ALG_EDDSA, COSE_SIGN1_TAG, sigStructure } from './cose.js';
import { verifyEd25519, type Signer } from './crypto.js';
import { CartularyError } from './errors.js';
import { HASH_SIZE, rootFromInclusionProof } from './merkle.js';

export const HEADER_ALG = 1;
export const HEADER_KID = 4;
export const HEADER_VDS = 395;
export const HEADER_VDP = 396;
export const VDS_RFC9162_SHA256 = 1;
export const PROOF_INCLUSION = -1;
const MAX_RECEIPT_BYTES = 8 * 1024;

export interface ReceiptProof {
  size: number;
  index: number;
  path: Uint8Array[];
}

/** Signs a receipt for the leaf at `proof.index`, given the root its proof leads to. */
export function signCoseReceipt(proof: ReceiptProof, rootHash: Uint8Array, signer: Signer, kid: Uint8Array): Uint8Array {
  const protectedBytes = encodeCbor(new Map<number, unknown>([[HEADER_ALG, ALG_EDDSA], [HEADER_KID, kid], [HEADER_VDS, VDS_RFC9162_SHA256]]));
  const inclusion = encodeCbor([proof.size, proof.index, proof.path]);
  const signature = signer.sign(sigStructure(protectedBytes, rootHash));
  return encodeCbor(new Tagged(COSE_SIGN1_TAG, [protectedBytes, new Map([[HEADER_VDP, new Map([[PROOF_INCLUSION, [inclusion]]])]]), null, signature]));
}

const bad = (why: string) => new CartularyError('verification-failed', `COSE receipt: ${why}`);
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Verifies a receipt for `leafHash` under the ledger's Ed25519 `publicKey`; returns its
 * proof and the root it leads to. Only the root is signed: the size and the index are what
 * the unprotected proof says (any size whose path has the same shape leads to the same root),
 * so a caller checks the index against the leaf's own and never presents the size as proven. Shape first, then each inclusion proof: its root and the
 * signature over it. Throws 'verification-failed' (or 'malformed' for bytes that are not CBOR).
 */
export function verifyCoseReceipt(receipt: Uint8Array, leafHash: Uint8Array, publicKey: Uint8Array): ReceiptProof & { rootHash: Uint8Array } {
  const outer = decodeCbor(receipt, { maxBytes: MAX_RECEIPT_BYTES, useMaps: true, tags: [COSE_SIGN1_TAG] }, 'COSE receipt');
  if (!Array.isArray(outer) || outer.length !== 4) throw bad('not a COSE_Sign1 array of 4');
  const [protectedBytes, unprotected, payload, signature] = outer as [unknown, unknown, unknown, unknown];
  if (!isBytes(protectedBytes) || !(unprotected instanceof Map) || payload !== null || !isBytes(signature) || signature.length !== 64) {
    throw bad('expects a protected header, an unprotected map, a detached (nil) payload and a 64-byte signature');
  }
  const header = decodeCbor(protectedBytes, { maxBytes: 1024, useMaps: true }, 'protected header');
  if (!(header instanceof Map) || header.get(HEADER_ALG) !== ALG_EDDSA) throw bad('alg must be EdDSA (-8)');
  if (header.get(HEADER_VDS) !== VDS_RFC9162_SHA256) throw bad('vds must be RFC9162_SHA256 (1)');
  const proofs = (unprotected.get(HEADER_VDP) as Map<number, unknown> | undefined)?.get?.(PROOF_INCLUSION);
  if (!Array.isArray(proofs) || proofs.length !== 1 || !isBytes(proofs[0])) throw bad('expects one inclusion proof (396 → -1)');
  const inner = decodeCbor(proofs[0], { maxBytes: 4096 }, 'inclusion proof');
  if (!Array.isArray(inner) || inner.length !== 3 || !isNat(inner[0]) || !isNat(inner[1]) || !Array.isArray(inner[2]) || !inner[2].every((h) => isBytes(h) && h.length === HASH_SIZE)) {
    throw bad('the inclusion proof must be [tree size, leaf index, [32-byte hashes]]');
  }
  const proof: ReceiptProof = { size: inner[0], index: inner[1], path: inner[2] as Uint8Array[] };
  const rootHash = rootFromInclusionProof(proof.index, proof.size, leafHash, proof.path);
  if (!verifyEd25519(publicKey, sigStructure(protectedBytes, rootHash), signature)) throw bad('the signature over the root the proof leads to does not verify');
  return { ...proof, rootHash };
}
