/**
 * C2SP tlog-proof: an offline-verifiable proof that an entry is in the log, under a
 * (cosigned) checkpoint.
 *
 *   c2sp.org/tlog-proof@v1
 *   extra <base64 of the leaf bytes>
 *   index <entry index>
 *   <base64 inclusion proof hash>…      (from the leaf's sibling upward, RFC 6962 §2.1.1)
 *   <blank line>
 *   <the checkpoint, verbatim, with every signature line>
 *
 * The spec leaves `extra` to the application: here it carries the leaf (DESIGN §5), the
 * data needed to recompute the leaf hash, so the proof stands alone. It is not trusted:
 * its hash must be proven into the signed tree, and its statement must verify.
 */
import { fromBase64, toBase64 } from './bytes.js';
import { openCheckpoint, type Checkpoint, type VerifierKey } from './checkpoint.js';
import { parseStatement, verifyStatement, type SignedStatement } from './cose.js';
import { CartularyError } from './errors.js';
import { decodeLeaf, type Leaf } from './leaf.js';
import { hashLeaf, HASH_SIZE, verifyInclusion } from './merkle.js';

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const MAX_PROOF = 64;

export interface TlogProof {
  /** the leaf bytes */
  extra: Uint8Array;
  index: number;
  proof: Uint8Array[];
  checkpoint: string;
}

export function formatTlogProof(p: TlogProof): string {
  return `${TLOG_PROOF_HEADER}\nextra ${toBase64(p.extra)}\nindex ${p.index}\n${p.proof.map((h) => `${toBase64(h)}\n`).join('')}\n${p.checkpoint}`;
}

/** Parses the text layout; throws 'malformed' naming the line at fault. */
export function parseTlogProof(text: string): TlogProof {
  const fail = (why: string) => new CartularyError('malformed', `tlog-proof: ${why}`);
  const split = text.indexOf('\n\n');
  if (split < 0) throw fail('no blank line before the checkpoint');
  const lines = text.slice(0, split).split('\n');
  if (lines[0] !== TLOG_PROOF_HEADER) throw fail(`the first line must be ${TLOG_PROOF_HEADER}`);
  const extra = /^extra (\S+)$/.exec(lines[1] ?? '');
  if (!extra) throw fail('this log\'s proofs carry the leaf in an "extra" line');
  const index = /^index (\S+)$/.exec(lines[2] ?? '');
  if (!index || !DECIMAL.test(index[1] as string) || !Number.isSafeInteger(Number(index[1]))) throw fail('the "index" line must hold a decimal entry index');
  const hashes = lines.slice(3);
  if (hashes.length > MAX_PROOF) throw fail(`more than ${MAX_PROOF} proof lines`);
  try {
    return {
      extra: fromBase64(extra[1] as string, 'extra'),
      index: Number(index[1]),
      proof: hashes.map((h, i) => fromBase64(h, `proof line ${i + 1}`, HASH_SIZE)),
      checkpoint: text.slice(split + 2),
    };
  } catch (e) {
    throw fail((e as Error).message);
  }
}

/** A leaf claimed to sit at `index`: its own index must say so, and its statement must verify. */
export function checkLeafAt(leafBytes: Uint8Array, index: number): { leaf: Leaf; statement: SignedStatement } {
  const leaf = decodeLeaf(leafBytes);
  if (leaf.index !== index) throw new CartularyError('verification-failed', `the leaf says index ${leaf.index}, the proof ${index}`);
  const statement = parseStatement(leaf.statement, { stored: true });
  verifyStatement(statement);
  return { leaf, statement };
}

/**
 * Verifies a tlog-proof under the log key the caller trusts: the checkpoint signature,
 * the leaf and its statement, and the inclusion of the leaf's hash in the signed tree.
 * Cosignatures are left to the caller's policy (policy.ts checkCosignedCheckpoint).
 */
export function verifyTlogProof(text: string, key: VerifierKey): { checkpoint: Checkpoint; leaf: Leaf; statement: SignedStatement; proof: TlogProof } {
  const proof = parseTlogProof(text);
  const checkpoint = openCheckpoint(proof.checkpoint, key);
  const { leaf, statement } = checkLeafAt(proof.extra, proof.index);
  verifyInclusion(proof.index, checkpoint.size, hashLeaf(proof.extra), proof.proof, checkpoint.rootHash);
  return { checkpoint, leaf, statement, proof };
}
