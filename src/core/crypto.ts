/**
 * SHA-256 and Ed25519 (RFC 8032) for the whole project, from a backend chosen at start-up.
 *
 * This module is portable: it imports only @noble (pure JavaScript), so the verifier
 * bundles for a browser with no trace of Node. Node entry points (the CLI, the server, the
 * package's Node exports) import crypto-node.ts, which installs node:crypto as the backend
 * (measured here: ~12x @noble for Ed25519 verify, ~10x for SHA-256 on large buffers). Both
 * backends are exported so tests can hold them to the same vectors.
 */
import * as ed from '@noble/ed25519';
import { sha256 as nobleSha256, sha512 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';

ed.hashes.sha512 = sha512;

/** RFC 8410 DER prefixes: the key bytes follow these fixed headers. */
export const SPKI_ED25519_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
export const PKCS8_ED25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

/** A secret key held in memory, able to sign; `publicKey` is its 32-byte Ed25519 key. */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export interface CryptoBackend {
  readonly name: 'node' | 'noble';
  sha256(data: Uint8Array): Uint8Array;
  /** Ed25519 verification as RFC 8032 §5.1.7; false (never a throw) for any bad key or signature. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /** The same, off the main thread where the backend can (node:crypto's thread pool). */
  verifyAsync(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  signerFromSeed(seed: Uint8Array): Signer;
}

const P = 2n ** 255n - 19n;
// The y of the eight points of small order: the identity (1), order 2 (−1), order 4 (0, with
// x = ±√−1) and order 8 (two values, each with x and −x).
const Y8 = 0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n;
const SMALL_ORDER_Y = new Set([0n, 1n, P - 1n, Y8, P - Y8]);

/**
 * Whether RFC 8032's strict rules take `publicKey` as a signer's key: a canonical encoding
 * (y < p) of a point that is not of small order. Anyone can make a signature that verifies
 * under a small-order key (the identity's verifies over any message with R the identity and
 * S = 0), so a statement "signed" by one proves nothing. @noble refuses such keys; OpenSSL
 * does not, so the node backend asks here first and both backends refuse the same keys. By
 * y alone, with no square root: ~1 µs, where decoding the point took ~100 µs of the main
 * thread for every new key. (An encoding that is no point at all fails in both backends.)
 */
export function isStrictPublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== 32) return false;
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? (publicKey[i] as number) & 0x7f : (publicKey[i] as number));
  return y < P && !SMALL_ORDER_Y.has(y);
}

export const nobleBackend: CryptoBackend = {
  name: 'noble',
  sha256: (data) => nobleSha256(data),
  verify(publicKey, message, signature) {
    try {
      // zip215: false keeps noble to RFC 8032's strict rules, as OpenSSL is.
      return ed.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
  verifyAsync(publicKey, message, signature) {
    return Promise.resolve(nobleBackend.verify(publicKey, message, signature));
  },
  signerFromSeed(seed) {
    const s = Uint8Array.from(seed);
    return { publicKey: ed.getPublicKey(s), sign: (message) => ed.sign(message, s) };
  },
};

let current: CryptoBackend = nobleBackend;

/**
 * Makes `backend` the one every function below uses from now on. Node processes install
 * node:crypto's backend (crypto-node.ts) at start-up; nothing else needs to call this.
 * Signers made before the call keep the backend they were made with.
 */
export function useBackend(backend: CryptoBackend): void {
  current = backend;
}

/** The backend in use: @noble unless a Node entry point installed node:crypto's. */
export const cryptoBackend = (): CryptoBackend => current;

export const sha256 = (data: Uint8Array): Uint8Array => current.sha256(data);
export const verifyEd25519 = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean =>
  current.verify(publicKey, message, signature);
export const verifyEd25519Async = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> =>
  current.verifyAsync(publicKey, message, signature);
export const signerFromSeed = (seed: Uint8Array): Signer => current.signerFromSeed(seed);
export const randomSeed = (): Uint8Array => randomBytes(32);
