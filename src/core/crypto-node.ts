/**
 * The node:crypto backend (OpenSSL), installed as the project's crypto backend when this
 * module is imported. Only Node entry points import it — the CLI, the store, the package's
 * Node exports and the test set-up — so the portable core and the browser verifier never
 * reach node:crypto.
 */
import * as nc from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { concatBytes } from './bytes.js';
import { isStrictPublicKey, PKCS8_ED25519_PREFIX, SPKI_ED25519_PREFIX, useBackend, type CryptoBackend } from './crypto.js';

function makeNodeBackend(): CryptoBackend {
  // Importing a key costs 15–45 % of a verify; parties sign many statements, so keep a bounded cache.
  const keyCache = new Map<string, KeyObject | null>();
  const KEY_CACHE_SIZE = 10_000;
  const publicKeyObject = (publicKey: Uint8Array) => {
    if (publicKey.length !== 32) return null;
    const id = Buffer.from(publicKey).toString('hex');
    let key = keyCache.get(id);
    if (key === undefined) {
      try {
        // OpenSSL takes small-order and non-canonical keys; RFC 8032's strict rules (and @noble) do not.
        key = isStrictPublicKey(publicKey) ? nc.createPublicKey({ key: Buffer.from(concatBytes(SPKI_ED25519_PREFIX, publicKey)), format: 'der', type: 'spki' }) : null;
      } catch {
        key = null;
      }
      if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value as string);
      keyCache.set(id, key);
    }
    return key;
  };
  return {
    name: 'node',
    // One-shot crypto.hash skips the Hash object: measured ~2x createHash for small inputs.
    sha256(data) {
      const digest = nc.hash('sha256', data, 'buffer');
      return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength); // a plain view, as @noble returns
    },
    verify(publicKey, message, signature) {
      const key = publicKeyObject(publicKey);
      if (!key || signature.length !== 64) return false;
      try {
        return nc.verify(null, message, key, signature);
      } catch {
        return false;
      }
    },
    verifyAsync(publicKey, message, signature) {
      const key = publicKeyObject(publicKey);
      if (!key || signature.length !== 64) return Promise.resolve(false);
      return new Promise((resolve) => {
        nc.verify(null, message, key, signature, (err, ok) => resolve(!err && ok));
      });
    },
    signerFromSeed(seed) {
      const privateKey = nc.createPrivateKey({ key: Buffer.from(concatBytes(PKCS8_ED25519_PREFIX, seed)), format: 'der', type: 'pkcs8' });
      const spki = nc.createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
      const publicKey = new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length));
      return { publicKey, sign: (message) => new Uint8Array(nc.sign(null, message, privateKey)) };
    },
  };
}

export const nodeBackend: CryptoBackend = makeNodeBackend();
useBackend(nodeBackend);
