/**
 * Signed statements: COSE_Sign1 (RFC 9052 §4.2) with EdDSA/Ed25519 (RFC 9053 §2.2).
 *
 *   COSE_Sign1 = 18([protected: bstr, unprotected: {}, payload: bstr, signature: bstr])
 *   protected  = {1: -8, 3: "application/vnd.cartulary.statement+cbor", 4: h'<32-byte key>'}
 *   signature  = Ed25519(secret, CBOR(["Signature1", protected, h'', payload]))   (§4.4)
 *
 * Identity (DESIGN §3). The signature covers only `Sig_structure`, so the envelope around it
 * can be written many ways (tag omitted or repeated, long or indefinite heads). None of those
 * may make a new statement, or a revoked licence could be replayed as a fresh one:
 *  - a statement's **id** is SHA-256 of its canonical envelope, the tagged array with shortest
 *    heads and definite lengths around the three byte strings exactly as signed; the ledger
 *    stores and serves only that envelope;
 *  - its **signed content** is SHA-256 of `Sig_structure`: every envelope of it, and every
 *    other signature over it, is a repeat of the first one sequenced.
 */
import { Tagged } from 'cborg';
import { decodeCbor, encodeCbor } from './cbor.js';
import { equalBytes } from './bytes.js';
import { isStrictPublicKey, sha256, verifyEd25519, verifyEd25519Async, type Signer } from './crypto.js';
import { CartularyError } from './errors.js';

export const COSE_SIGN1_TAG = 18;
export const ALG_EDDSA = -8;
export const CONTENT_TYPE = 'application/vnd.cartulary.statement+cbor';
const HEADER_ALG = 1;
const HEADER_CONTENT_TYPE = 3;
const HEADER_KID = 4;

/** A payload over 16 KiB is refused; the envelope adds headers and a signature. */
export const MAX_PAYLOAD_BYTES = 16 * 1024;
export const MAX_STATEMENT_BYTES = MAX_PAYLOAD_BYTES + 512;

/** A COSE_Sign1 statement whose structure has been checked (not yet its signature). */
export interface SignedStatement {
  /** the canonical envelope (not necessarily the bytes as submitted) */
  readonly bytes: Uint8Array;
  /** SHA-256 of the canonical envelope: the statement's id */
  readonly id: Uint8Array;
  /** SHA-256 of `Sig_structure`: what makes two envelopes or signatures one statement */
  readonly signedHash: Uint8Array;
  /** the CBOR `Sig_structure` the signature covers (RFC 9052 §4.4) */
  readonly toBeSigned: Uint8Array;
  /** the signer's Ed25519 public key, from the protected header's kid */
  readonly signer: Uint8Array;
  readonly protectedBytes: Uint8Array;
  readonly payloadBytes: Uint8Array;
  readonly signature: Uint8Array;
  /** the payload decoded as a CBOR map with text keys; its fields are checked by statements.ts */
  readonly payload: Record<string, unknown>;
}

/** RFC 9052 §4.4 Sig_structure for COSE_Sign1, without external data. */
export function sigStructure(protectedBytes: Uint8Array, payloadBytes: Uint8Array): Uint8Array {
  return encodeCbor(['Signature1', protectedBytes, new Uint8Array(0), payloadBytes]);
}

/** Encodes `payload` deterministically and signs it; returns the tagged COSE_Sign1 bytes. */
export function signStatement(payload: Record<string, unknown>, signer: Signer): Uint8Array {
  const protectedBytes = encodeCbor(
    new Map<number, unknown>([
      [HEADER_ALG, ALG_EDDSA],
      [HEADER_CONTENT_TYPE, CONTENT_TYPE],
      [HEADER_KID, signer.publicKey],
    ]),
  );
  const payloadBytes = encodeCbor(payload);
  const signature = signer.sign(sigStructure(protectedBytes, payloadBytes));
  return canonicalEnvelope(protectedBytes, payloadBytes, signature);
}

/** The one canonical encoding of a COSE_Sign1 around these byte strings (DESIGN §3). */
function canonicalEnvelope(protectedBytes: Uint8Array, payloadBytes: Uint8Array, signature: Uint8Array): Uint8Array {
  return encodeCbor(new Tagged(COSE_SIGN1_TAG, [protectedBytes, new Map(), payloadBytes, signature]));
}


const malformed = (detail: string, field?: string) =>
  new CartularyError('malformed', `statement: ${detail}`, field === undefined ? {} : { field });

/**
 * Checks the COSE structure and headers and derives the canonical envelope; throws
 * 'malformed' / 'too-large' naming what is wrong. With `stored`, the bytes must already be
 * canonical: that is all a leaf may hold, so anything else in one is damage or forgery.
 */
export function parseStatement(bytes: Uint8Array, { stored = false } = {}): SignedStatement {
  const outer = decodeCbor(bytes, { maxBytes: MAX_STATEMENT_BYTES, useMaps: true, tags: [COSE_SIGN1_TAG] }, 'statement');
  if (!Array.isArray(outer) || outer.length !== 4) throw malformed('COSE_Sign1 must be an array of 4 items');
  const [protectedBytes, unprotected, payloadBytes, signature] = outer as unknown[];
  if (!(protectedBytes instanceof Uint8Array)) throw malformed('protected header must be a byte string', 'protected');
  if (!(unprotected instanceof Map)) throw malformed('unprotected header must be a map', 'unprotected');
  if (unprotected.size !== 0) throw malformed('unprotected header must be empty', 'unprotected');
  if (!(payloadBytes instanceof Uint8Array)) throw malformed('payload must be an embedded byte string', 'payload');
  if (!(signature instanceof Uint8Array) || signature.length !== 64) {
    throw malformed('signature must be a 64-byte Ed25519 signature', 'signature');
  }
  if (payloadBytes.length > MAX_PAYLOAD_BYTES) {
    throw new CartularyError('too-large', `statement payload is ${payloadBytes.length} bytes; the limit is ${MAX_PAYLOAD_BYTES}`, { field: 'payload' });
  }

  const header = decodeCbor(protectedBytes, { maxBytes: 256, useMaps: true }, 'protected header');
  if (!(header instanceof Map)) throw malformed('protected header must be a map', 'protected');
  for (const label of header.keys()) {
    if (label !== HEADER_ALG && label !== HEADER_CONTENT_TYPE && label !== HEADER_KID) {
      throw malformed(`protected header has unsupported label ${String(label)}`, 'protected');
    }
  }
  const alg = header.get(HEADER_ALG);
  if (alg !== ALG_EDDSA) throw malformed(`algorithm must be -8 (EdDSA), got ${String(alg)}`, 'protected.alg');
  const contentType = header.get(HEADER_CONTENT_TYPE);
  if (contentType !== CONTENT_TYPE) throw malformed(`content type must be "${CONTENT_TYPE}"`, 'protected.contentType');
  const kid = header.get(HEADER_KID);
  if (!(kid instanceof Uint8Array) || kid.length !== 32) {
    throw malformed('kid must be the signer\'s 32-byte Ed25519 public key', 'protected.kid');
  }

  const payload = decodeCbor(payloadBytes, { maxBytes: MAX_PAYLOAD_BYTES }, 'payload');
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload) || payload instanceof Uint8Array) {
    throw malformed('payload must be a CBOR map with text keys', 'payload');
  }
  const canonical = canonicalEnvelope(protectedBytes, payloadBytes, signature);
  if (stored && !equalBytes(canonical, bytes)) throw malformed('a stored statement must be in its canonical envelope (DESIGN §3)');
  const toBeSigned = sigStructure(protectedBytes, payloadBytes);
  return {
    bytes: canonical,
    id: sha256(canonical),
    signedHash: sha256(toBeSigned),
    toBeSigned,
    signer: kid,
    protectedBytes,
    payloadBytes,
    signature,
    payload: payload as Record<string, unknown>,
  };
}

/** Why a signature failed: its key is one no signature can prove (checked only once it failed, off the hot path), or the signature itself. */
const badSignature = (s: SignedStatement) =>
  isStrictPublicKey(s.signer)
    ? new CartularyError('bad-signature', 'statement signature does not verify under the key in its protected header', { field: 'signature' })
    : new CartularyError('bad-signature', 'the key in the protected header is not a usable Ed25519 public key (of small order, or not canonical): anyone could sign as it', { field: 'protected.kid' });

/** Verifies the Ed25519 signature under the kid; throws 'bad-signature'. */
export function verifyStatement(s: SignedStatement): void {
  if (!verifyEd25519(s.signer, s.toBeSigned, s.signature)) throw badSignature(s);
}

/** As verifyStatement, off the main thread where the crypto backend can. */
export async function verifyStatementAsync(s: SignedStatement): Promise<void> {
  if (!(await verifyEd25519Async(s.signer, s.toBeSigned, s.signature))) throw badSignature(s);
}
