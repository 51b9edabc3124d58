/**
 * Attestations: the ledger's signed word on what an evidence bundle claims, as of one
 * checkpoint (issue 10.7). A log alone cannot prove that nothing was left out of a bundle;
 * an attestation makes omission provable instead. The ledger signs the bundle's subject and
 * claims — each work's owner, status and latest entry (`head`), each licence's standing —
 * at the tree size of the bundle's checkpoint. A bundle that hides a later entry of the work
 * no longer matches what the ledger signed; and if the ledger itself signed a false head,
 * the later entry's inclusion proof convicts it.
 *
 * The attestation is a C2SP signed note by the ledger key, whose text cannot be mistaken for
 * a checkpoint's (four lines, the first a fixed label):
 *
 *   cartulary-attestation/v1\n<origin>\n<tree size>\n<base64 SHA-256 of CBOR({subject, claims})>\n
 *
 * where the CBOR is RFC 8949 §4.2.1 deterministic, so any implementation recomputes it.
 */
import { equalBytes, fromBase64, toBase64 } from './bytes.js';
import { encodeCbor } from './cbor.js';
import { signNote, verifyNote, type VerifierKey } from './checkpoint.js';
import { sha256, type Signer } from './crypto.js';
import { CartularyError } from './errors.js';

export const ATTESTATION_LABEL = 'cartulary-attestation/v1';

/** SHA-256 of the deterministic CBOR of what is attested. */
export const attestedDigest = (attested: { subject: unknown; claims: unknown }): Uint8Array =>
  sha256(encodeCbor({ subject: attested.subject, claims: attested.claims }));

export function signAttestation(origin: string, size: number, attested: { subject: unknown; claims: unknown }, signer: Signer): string {
  return signNote(`${ATTESTATION_LABEL}\n${origin}\n${size}\n${toBase64(attestedDigest(attested))}\n`, origin, signer);
}

/**
 * Verifies an attestation under the trusted ledger key: signed by it, at tree size `size`,
 * over exactly `attested`. Throws 'verification-failed' saying which does not hold.
 */
export function openAttestation(note: string, key: VerifierKey, size: number, attested: { subject: unknown; claims: unknown }): void {
  const bad = (detail: string) => new CartularyError('verification-failed', `attestation: ${detail}`);
  const lines = verifyNote(note, key, 'attestation').slice(0, -1).split('\n');
  if (lines.length !== 4 || lines[0] !== ATTESTATION_LABEL) throw bad(`is not a ${ATTESTATION_LABEL} note`);
  const [, origin, sizeText, digestText] = lines as [string, string, string, string];
  if (origin !== key.name) throw bad(`origin "${origin}" is not the ledger's "${key.name}"`);
  if (sizeText !== String(size)) throw bad(`was signed at tree size ${sizeText}, the bundle's checkpoint has size ${size}`);
  let digest: Uint8Array;
  try {
    digest = fromBase64(digestText, 'attested digest', 32);
  } catch {
    throw bad('digest is not 32 bytes of base64');
  }
  if (!equalBytes(digest, attestedDigest(attested))) throw bad("the bundle's subject or claims are not what the ledger signed");
}
