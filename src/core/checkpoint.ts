/**
 * Signed tree heads: a C2SP tlog-checkpoint body in a C2SP signed-note, Ed25519-signed.
 *
 *   <origin>\n<tree size>\n<base64 root hash>\n\n— <origin> <base64(key id ‖ signature)>\n
 *
 * key id   = SHA-256(origin ‖ "\n" ‖ 0x01 ‖ public key)[:4]      (signed-note, Ed25519 type 0x01)
 * signature = Ed25519 over the note text: the three body lines with their newlines
 * verifier key = <origin>+<8 hex of key id>+<base64(0x01 ‖ public key)>
 */
import { concatBytes, equalBytes, fromBase64, toBase64, toHex, utf8 } from './bytes.js';
import { sha256, verifyEd25519, type Signer } from './crypto.js';
import { CartularyError } from './errors.js';
import { HASH_SIZE } from './merkle.js';

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
}

export interface VerifierKey {
  readonly name: string;
  readonly keyId: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** signed-note signature types: 0x01 a log's Ed25519 signature, 0x04 a tlog-cosignature/v1 Ed25519 cosignature. */
export const SIG_TYPE_ED25519 = 0x01;
export const SIG_TYPE_COSIGNATURE_V1 = 0x04;
export type SigType = typeof SIG_TYPE_ED25519 | typeof SIG_TYPE_COSIGNATURE_V1;
const EM_DASH = '\u2014';
// Key names (and so origins) are non-empty, printable, without spaces or '+' (signed-note).
const KEY_NAME = /^[\x21-\x2a\x2c-\x7e]+$/;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

const bad = (detail: string) => new CartularyError('verification-failed', `checkpoint: ${detail}`);

export function checkOrigin(origin: string): void {
  if (!KEY_NAME.test(origin)) {
    throw new CartularyError('invalid', `origin "${origin}" must be printable ASCII without spaces or '+'`, { field: 'origin' });
  }
}

/** signed-note key id: SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4]. */
export function keyId(name: string, publicKey: Uint8Array, type: SigType = SIG_TYPE_ED25519): Uint8Array {
  return sha256(concatBytes(utf8(name), Uint8Array.of(0x0a, type), publicKey)).slice(0, 4);
}

export function formatVerifierKey(name: string, publicKey: Uint8Array, type: SigType = SIG_TYPE_ED25519): string {
  checkOrigin(name);
  return `${name}+${toHex(keyId(name, publicKey, type))}+${toBase64(concatBytes(Uint8Array.of(type), publicKey))}`;
}

/** Parses a vkey of signature type `type` (a log's key by default), checking its key id. */
export function parseVerifierKey(text: string, type: SigType = SIG_TYPE_ED25519): VerifierKey {
  const fail = (why: string) => new CartularyError('malformed', `verifier key: ${why}`, { field: 'verifierKey' });
  // The name holds no '+', but the base64 key may: split at the first two '+' only.
  const m = /^([^+]+)\+([^+]*)\+(.*)$/.exec(text.trim());
  if (!m) throw fail('must be <name>+<key id hex>+<base64 key>');
  const [, name, idHex, keyB64] = m as unknown as [string, string, string, string];
  if (!KEY_NAME.test(name)) throw fail('bad name');
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw fail('key id must be 8 lowercase hex characters');
  const raw = fromBase64(keyB64, 'verifier key', 33);
  if (raw[0] !== type) throw fail(`signature type ${raw[0]} is not ${type === SIG_TYPE_ED25519 ? 'Ed25519 (1)' : 'cosignature/v1 (4)'}`);
  const publicKey = raw.slice(1);
  const id = keyId(name, publicKey, type);
  if (toHex(id) !== idHex) throw fail(`key id ${idHex} does not match the key (${toHex(id)})`);
  return { name, keyId: id, publicKey };
}

export function checkpointBody(cp: Checkpoint): string {
  checkOrigin(cp.origin);
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) throw new RangeError(`checkpoint size ${cp.size} is not a natural number`);
  if (cp.rootHash.length !== HASH_SIZE) throw new RangeError('checkpoint root must be 32 bytes');
  return `${cp.origin}\n${cp.size}\n${toBase64(cp.rootHash)}\n`;
}

/** Signs a note's text (C2SP signed-note) with the key named `name`; `body` ends with a newline. */
export function signNote(body: string, name: string, signer: Signer): string {
  const sig = signer.sign(utf8(body));
  return `${body}\n${EM_DASH} ${name} ${toBase64(concatBytes(keyId(name, signer.publicKey), sig))}\n`;
}

/** Signs a checkpoint as a signed note whose key name is the origin. */
export function signCheckpoint(cp: Checkpoint, signer: Signer): string {
  return signNote(checkpointBody(cp), cp.origin, signer);
}

/**
 * The most signature lines a note may carry (Go's note package reads no more): a log's
 * signature and a few witnesses' cosignatures are a handful, and every line may cost a
 * signature check to someone who reads it.
 */
export const MAX_NOTE_SIGNATURES = 100;

/** A signed note split into its text and its signature lines (signed-note), before any crypto. */
export function noteParts(note: string, what = 'note'): { body: string; signatures: Array<{ name: string; raw: Uint8Array }> } {
  const fail = (detail: string) => new CartularyError('verification-failed', `${what}: ${detail}`);
  if (typeof note !== 'string' || !note.endsWith('\n')) throw fail('note must end with a newline');
  const split = note.indexOf('\n\n');
  if (split < 0) throw fail('note has no blank line between text and signatures');
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw fail(`note has ${lines.length} signature lines; at most ${MAX_NOTE_SIGNATURES} are read`);
  const signatures = lines.map((line) => {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw fail(`signature line "${line.slice(0, 80)}" is malformed`);
    try {
      return { name: m[1] as string, raw: fromBase64(m[2] as string, 'signature') };
    } catch {
      throw fail('signature is not base64');
    }
  });
  return { body: note.slice(0, split + 1), signatures };
}

/**
 * Verifies a signed note under `key`, which the caller trusts (never a key read from the
 * same untrusted input), and returns its text (up to and including the last newline before
 * the signatures). Lines signed by other keys (cosignatures) are passed over; the first line
 * of `key` decides, as in Go's note.Open and the signed-note spec (a failed signature by a
 * known key rejects the note), so a note costs one signature check whatever it carries.
 * Throws 'verification-failed' naming what does not hold: the layout, the key id or the signature.
 */
export function verifyNote(note: string, key: VerifierKey, what = 'note'): string {
  return verifiedLine(note, key, what).body;
}

/**
 * The note as `key` signed it, its other lines dropped (verifyNote's checks): what a witness
 * keeps of a checkpoint it was sent, so no line the sender added is published as if it held.
 */
export function signedOnlyBy(note: string, key: VerifierKey, what = 'note'): string {
  const { body, raw } = verifiedLine(note, key, what);
  return `${body}\n${EM_DASH} ${key.name} ${toBase64(raw)}\n`;
}

function verifiedLine(note: string, key: VerifierKey, what: string): { body: string; raw: Uint8Array } {
  const fail = (detail: string) => new CartularyError('verification-failed', `${what}: ${detail}`);
  const { body, signatures } = noteParts(note, what);
  const line = signatures.find(({ name, raw }) => name === key.name && raw.length === 4 + 64 && equalBytes(raw.subarray(0, 4), key.keyId));
  if (!line) throw fail(`no signature by key ${key.name}+${toHex(key.keyId)}`);
  if (!verifyEd25519(key.publicKey, utf8(body), line.raw.subarray(4))) throw fail('signature does not verify');
  return { body, raw: line.raw };
}

/**
 * Parses a signed-note checkpoint and verifies it under `key` (see verifyNote). Throws
 * 'verification-failed' naming what does not hold: the layout, the origin, the key id, or
 * the signature.
 */
export function openCheckpoint(note: string, key: VerifierKey): Checkpoint {
  // The shape first, before any crypto: a note of another log is refused as that.
  const cp = parseCheckpoint(note);
  if (cp.origin !== key.name) throw bad(`origin "${cp.origin.slice(0, 80)}" is not the verifier key's name "${key.name}"`);
  verifyNote(note, key, 'checkpoint');
  return cp;
}

/**
 * The checkpoint a signed note states, read without checking any signature (so never to be
 * trusted as it is: openCheckpoint verifies). Throws 'verification-failed' for a body that
 * is not origin, size and root.
 */
export function parseCheckpoint(note: string): Checkpoint {
  const split = typeof note === 'string' ? note.indexOf('\n\n') : -1;
  if (split < 0) throw bad('note has no blank line between text and signatures');
  const lines = note.slice(0, split).split('\n');
  if (lines.length !== 3) throw bad(`body must have 3 lines (origin, size, root), has ${lines.length}`);
  const [origin, sizeText, rootText] = lines as [string, string, string];
  if (!DECIMAL.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw bad(`size "${sizeText}" is not a decimal number`);
  let rootHash: Uint8Array;
  try {
    rootHash = fromBase64(rootText, 'root hash', HASH_SIZE);
  } catch {
    throw bad('root hash is not 32 bytes of base64');
  }
  return { origin, size: Number(sizeText), rootHash };
}
