/**
 * Ed25519 key files (RFC 8410): PKCS#8 PEM for secret keys, SPKI PEM for public keys, so
 * keys from `openssl genpkey -algorithm ed25519` work as they are. Pure text ↔ bytes;
 * reading and writing the files (mode 0600) is the CLI's and the server's job.
 */
import { concatBytes, equalBytes, fromBase64, toBase64 } from './bytes.js';
import { PKCS8_ED25519_PREFIX, SPKI_ED25519_PREFIX } from './crypto.js';
import { CartularyError } from './errors.js';

function pemBody(pem: string, label: string): Uint8Array {
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  if (!m?.[1]) throw new CartularyError('malformed', `not a PEM "${label}" block`);
  return fromBase64(m[1].replace(/\s+/g, ''), `PEM ${label}`);
}

function pem(label: string, der: Uint8Array): string {
  const lines = toBase64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function stripPrefix(der: Uint8Array, prefix: Uint8Array, what: string): Uint8Array {
  if (der.length !== prefix.length + 32 || !equalBytes(der.subarray(0, prefix.length), prefix)) {
    throw new CartularyError('malformed', `${what} is not an RFC 8410 Ed25519 key`);
  }
  return der.slice(prefix.length);
}

/** The 32-byte seed of a PKCS#8 "PRIVATE KEY" PEM. */
export const secretKeyFromPem = (text: string): Uint8Array =>
  stripPrefix(pemBody(text, 'PRIVATE KEY'), PKCS8_ED25519_PREFIX, 'secret key');

export const secretKeyToPem = (seed: Uint8Array): string => pem('PRIVATE KEY', concatBytes(PKCS8_ED25519_PREFIX, seed));

/** The 32-byte key of an SPKI "PUBLIC KEY" PEM. */
export const publicKeyFromPem = (text: string): Uint8Array =>
  stripPrefix(pemBody(text, 'PUBLIC KEY'), SPKI_ED25519_PREFIX, 'public key');

export const publicKeyToPem = (publicKey: Uint8Array): string => pem('PUBLIC KEY', concatBytes(SPKI_ED25519_PREFIX, publicKey));
