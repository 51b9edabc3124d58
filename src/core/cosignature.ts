/**
 * C2SP tlog-cosignature/v1 (Ed25519): a witness's timestamped statement that, as of `time`,
 * the largest consistent tree it has seen of the log named in the checkpoint has this root.
 *
 *   signed message = "cosignature/v1\n" ‖ "time <POSIX seconds>\n" ‖ checkpoint body
 *   signature line = — <witness name> base64(key id ‖ u64 big-endian time ‖ Ed25519 signature)
 *   key id         = SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[:4]
 *   witness vkey   = <name>+<8 hex of key id>+<base64(0x04 ‖ public key)>
 */
import { concatBytes, equalBytes, readUintBE, toBase64, uintBE, utf8 } from './bytes.js';
import { formatVerifierKey, keyId, noteParts, parseVerifierKey, SIG_TYPE_COSIGNATURE_V1, type VerifierKey } from './checkpoint.js';
import { verifyEd25519, type Signer } from './crypto.js';
import { CartularyError } from './errors.js';

const EM_DASH = '\u2014';
/** A timestamp must fit in 63 bits; JavaScript numbers hold it exactly up to 2^53. */
const MAX_TIME = Number.MAX_SAFE_INTEGER;

export const formatWitnessKey = (name: string, publicKey: Uint8Array): string => formatVerifierKey(name, publicKey, SIG_TYPE_COSIGNATURE_V1);
export const parseWitnessKey = (text: string): VerifierKey => parseVerifierKey(text, SIG_TYPE_COSIGNATURE_V1);

/** The message a v1 cosignature signs over a checkpoint body (which ends with its newline). */
export function cosignedMessage(body: string, time: number): Uint8Array {
  if (!Number.isSafeInteger(time) || time < 1) throw new RangeError(`a cosignature time must be a positive whole number of seconds, got ${time}`);
  return utf8(`cosignature/v1\ntime ${time}\n${body}`);
}

/** Cosigns a checkpoint body at `time` (POSIX seconds): one signature line, with its newline. */
export function cosign(body: string, name: string, signer: Signer, time: number): string {
  const sig = signer.sign(cosignedMessage(body, time));
  const raw = concatBytes(keyId(name, signer.publicKey, SIG_TYPE_COSIGNATURE_V1), uintBE(time, 8), sig);
  return `${EM_DASH} ${name} ${toBase64(raw)}\n`;
}

export interface Cosignature {
  /** the witness vkey's name */
  witness: string;
  /** POSIX seconds: the witness had seen this tree by then */
  time: number;
}

/**
 * The valid cosignature by `key` on a signed note, or null when it carries none (lines of
 * other keys are passed over, as signed-note asks). A line with this key's name and id
 * whose signature does not verify is an error: such a note is malformed.
 */
export function findCosignature(note: string, key: VerifierKey): Cosignature | null {
  const { body, signatures } = noteParts(note, 'cosigned checkpoint');
  for (const { name, raw } of signatures) {
    if (name !== key.name || raw.length !== 4 + 8 + 64 || !equalBytes(raw.subarray(0, 4), key.keyId)) continue;
    const time = readUintBE(raw, 4, 8);
    if (time < 1 || time > MAX_TIME || !verifyEd25519(key.publicKey, cosignedMessage(body, time), raw.subarray(12))) {
      throw new CartularyError('verification-failed', `the cosignature by witness ${key.name} does not verify`);
    }
    return { witness: key.name, time };
  }
  return null;
}
