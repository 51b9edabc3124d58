/**
 * Byte helpers shared by the whole core. Every encoding the project shows to people
 * is lowercase hex (parties, hashes, ids) or standard padded base64 (checkpoints, leaves).
 */
import { bytesToHex, concatBytes as nobleConcat, hexToBytes } from '@noble/hashes/utils.js';
import { CartularyError } from './errors.js';

// The standalone verifier imports this module and must run outside Node too: Buffer is
// used only where it exists.

const HEX = /^[0-9a-f]*$/;
// With a length that is a multiple of 4, this is exactly standard padded base64; a regex of
// groups of four measured ~25 ms on a 400 KB check body, this one ~1 ms.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

// Node's native hex is several times faster than a JS loop and receipts carry ~17 hashes;
// elsewhere (a browser) the portable loop serves.
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;

export const toHex: (bytes: Uint8Array) => string = NodeBuffer
  ? (bytes) => NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
  : bytesToHex;

/** Parses lowercase hex; `length`, when given, is the expected number of bytes. */
export function fromHex(text: string, field: string, length?: number): Uint8Array {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !HEX.test(text)) {
    throw new CartularyError('malformed', `${field} must be lowercase hex`, { field });
  }
  if (length !== undefined && text.length !== length * 2) {
    throw new CartularyError('malformed', `${field} must be ${length} bytes (${length * 2} hex characters), got ${text.length / 2}`, { field });
  }
  return NodeBuffer ? new Uint8Array(NodeBuffer.from(text, 'hex')) : hexToBytes(text);
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  // Chunked so that String.fromCharCode never gets more arguments than the engine allows.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Parses standard padded base64 (RFC 4648 §4), refusing anything Buffer would silently skip. */
export function fromBase64(text: string, field: string, length?: number): Uint8Array {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new CartularyError('malformed', `${field} must be standard padded base64`, { field });
  }
  const bytes = NodeBuffer ? new Uint8Array(NodeBuffer.from(text, 'base64')) : Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  if (length !== undefined && bytes.length !== length) {
    throw new CartularyError('malformed', `${field} must be ${length} bytes, got ${bytes.length}`, { field });
  }
  return bytes;
}

export const concatBytes = (...parts: Uint8Array[]): Uint8Array => nobleConcat(...parts);

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Big-endian unsigned integer of `width` bytes; keys sort in numeric order this way. */
export function uintBE(value: number, width: number): Uint8Array {
  const out = new Uint8Array(width);
  let v = value;
  for (let i = width - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

export function readUintBE(bytes: Uint8Array, offset = 0, width = bytes.length - offset): number {
  let v = 0;
  for (let i = offset; i < offset + width; i++) v = v * 256 + (bytes[i] ?? 0);
  return v;
}


/** Set bits of a 32-bit word (SWAR, no table): the inner step of every Hamming distance here. */
export function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
