/**
 * Every other way to write one signed statement: the envelopes an attacker re-encodes a
 * revoked licence or an old transfer into, hoping the ledger sees a new statement. Each must
 * be answered as a repeat of the first (DESIGN §3), or refused; never appended.
 *
 * The CBOR is written by hand here, head by head, because no well-behaved encoder produces
 * these forms: that is the point.
 */
import * as ed from '@noble/ed25519';
import { concatBytes } from '../../src/core/bytes.js';
import { decodeCbor, encodeCbor } from '../../src/core/cbor.js';

/** A CBOR head: major type and argument, in the shortest form or a longer one (RFC 8949 §3). */
function head(major: number, value: number, width: 0 | 1 | 2 | 4 | 8 = 0): Uint8Array {
  const m = major << 5;
  if (width === 0) {
    if (value < 24) return Uint8Array.of(m | value);
    width = value < 0x100 ? 1 : value < 0x10000 ? 2 : 4;
  }
  const out = new Uint8Array(1 + width);
  out[0] = m | { 1: 24, 2: 25, 4: 26, 8: 27 }[width];
  let v = value;
  for (let i = width; i >= 1; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

const bstr = (bytes: Uint8Array, width: 0 | 1 | 2 | 4 | 8 = 0) => concatBytes(head(2, bytes.length, width), bytes);
const TAG18 = head(6, 18);
const EMPTY_MAP = head(5, 0);
const BREAK = Uint8Array.of(0xff);

/**
 * A second, different, valid Ed25519 signature over the same message: RFC 8032 signing with
 * a random nonce instead of the deterministic one. Only the key holder can make it, but it
 * must not make a new statement either.
 */
export function resign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  const { scalar, pointBytes } = ed.utils.getExtendedPublicKey(seed);
  const L = ed.Point.CURVE().n;
  const leToInt = (b: Uint8Array) => b.reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
  const r = ed.etc.mod(leToInt(ed.etc.randomBytes(64)), L);
  const R = ed.Point.BASE.multiply(r).toBytes();
  const k = ed.etc.mod(leToInt(ed.hash(concatBytes(R, pointBytes, message))), L);
  const s = ed.etc.mod(r + k * scalar, L);
  const S = new Uint8Array(32);
  for (let i = 0, v = s; i < 32; i++, v >>= 8n) S[i] = Number(v & 0xffn);
  return concatBytes(R, S);
}

/** The re-encodings of a canonical statement, each with what was changed. */
export function reencodings(statement: Uint8Array, seed: Uint8Array): Array<{ name: string; bytes: Uint8Array }> {
  const [p, , payload, sig] = decodeCbor(statement, { maxBytes: 1 << 20, useMaps: true, tags: [18] }) as [Uint8Array, unknown, Uint8Array, Uint8Array];
  const items = (o: { p?: Uint8Array; u?: Uint8Array; payload?: Uint8Array; sig?: Uint8Array } = {}) =>
    concatBytes(o.p ?? bstr(p), o.u ?? EMPTY_MAP, o.payload ?? bstr(payload), o.sig ?? bstr(sig));
  const array = (body: Uint8Array, h = head(4, 4)) => concatBytes(h, body);
  const chunked = (bytes: Uint8Array) => concatBytes(Uint8Array.of(0x5f), bstr(bytes.subarray(0, 3)), bstr(bytes.subarray(3)), BREAK);
  const toBeSigned = encodeCbor(['Signature1', p, new Uint8Array(0), payload]);
  return [
    { name: 'tag omitted', bytes: array(items()) },
    { name: 'tag repeated', bytes: concatBytes(TAG18, TAG18, array(items())) },
    { name: 'tag in a one-byte head', bytes: concatBytes(head(6, 18, 1), array(items())) },
    { name: 'tag in a two-byte head', bytes: concatBytes(head(6, 18, 2), array(items())) },
    { name: 'array in a long head', bytes: concatBytes(TAG18, array(items(), head(4, 4, 1))) },
    { name: 'indefinite-length array', bytes: concatBytes(TAG18, Uint8Array.of(0x9f), items(), BREAK) },
    { name: 'protected header in a long length', bytes: concatBytes(TAG18, array(items({ p: bstr(p, 2) }))) },
    { name: 'unprotected map in a long head', bytes: concatBytes(TAG18, array(items({ u: head(5, 0, 1) }))) },
    { name: 'indefinite-length unprotected map', bytes: concatBytes(TAG18, array(items({ u: Uint8Array.of(0xbf, 0xff) }))) },
    { name: 'payload in an eight-byte length', bytes: concatBytes(TAG18, array(items({ payload: bstr(payload, 8) }))) },
    { name: 'payload as an indefinite-length byte string', bytes: concatBytes(TAG18, array(items({ payload: chunked(payload) }))) },
    { name: 'signature in a long length', bytes: concatBytes(TAG18, array(items({ sig: bstr(sig, 4) }))) },
    { name: 'another valid signature over the same content', bytes: concatBytes(TAG18, array(items({ sig: bstr(resign(seed, toBeSigned)) }))) },
  ];
}
