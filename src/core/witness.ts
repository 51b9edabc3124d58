/**
 * C2SP tlog-witness `add-checkpoint`, as pure functions: parsing the request and judging it
 * against what the witness last cosigned. The edge (src/witness) persists the new state
 * before it answers; nothing here does I/O.
 */
import { equalBytes, fromBase64, toBase64, toHex } from './bytes.js';
import { noteParts, parseCheckpoint, signedOnlyBy, type Checkpoint, type VerifierKey } from './checkpoint.js';
import { CartularyError } from './errors.js';
import { EMPTY_ROOT, HASH_SIZE, verifyConsistency } from './merkle.js';

/** tlog-witness: a client MUST NOT send more than 63 consistency proof lines. */
export const MAX_PROOF_LINES = 63;
export const TLOG_SIZE_TYPE = 'text/x.tlog.size';

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Uint8Array[];
  /** the signed checkpoint, every signature line included */
  note: string;
}

/** What a witness holds per log: the latest checkpoint it cosigned. */
export interface WitnessedTree {
  size: number;
  rootHash: Uint8Array;
}

export type AddCheckpointOutcome =
  /** `signed`: the checkpoint with the log's signature alone, which the witness keeps with its own */
  | { status: 200; checkpoint: Checkpoint; body: string; signed: string }
  | { status: 400 | 403 | 404 | 409 | 422; body: string; contentType: string };

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const malformed = (why: string) => new CartularyError('malformed', `add-checkpoint: ${why}`);

/** Builds the request body: `old N`, the proof lines, a blank line, the checkpoint. */
export function formatAddCheckpoint(req: AddCheckpointRequest): string {
  return `old ${req.oldSize}\n${req.proof.map((h) => `${toBase64(h)}\n`).join('')}\n${req.note}`;
}

/** Parses an add-checkpoint body; throws 'malformed' (400) for anything the spec does not allow. */
export function parseAddCheckpoint(body: string): AddCheckpointRequest {
  const split = body.indexOf('\n\n');
  if (split < 0) throw malformed('no blank line before the checkpoint');
  const head = body.slice(0, split).split('\n');
  const old = /^old (\S+)$/.exec(head[0] ?? '');
  if (!old || !DECIMAL.test(old[1] as string) || !Number.isSafeInteger(Number(old[1]))) throw malformed('the first line must be "old <size>"');
  const lines = head.slice(1);
  if (lines.length > MAX_PROOF_LINES) throw malformed(`more than ${MAX_PROOF_LINES} consistency proof lines`);
  const proof = lines.map((line, i) => {
    try {
      return fromBase64(line, `proof line ${i + 1}`, HASH_SIZE);
    } catch (e) {
      throw malformed((e as Error).message);
    }
  });
  return { oldSize: Number(old[1]), proof, note: body.slice(split + 2) };
}

const plain = (status: 400 | 403 | 404 | 409 | 422, body: string): AddCheckpointOutcome => ({ status, body: `${body}\n`, contentType: 'text/plain; charset=utf-8' });

/**
 * Judges a request against the logs this witness follows (by origin) and the tree it last
 * cosigned for that log (undefined: never). 200 means "cosign and record this checkpoint";
 * every other status leaves the witness as it was. Because the recorded tree only ever
 * moves to one proven consistent with it, a fork is refused for good.
 */
export function judgeAddCheckpoint(req: AddCheckpointRequest, logs: ReadonlyMap<string, VerifierKey>, last: (origin: string) => WitnessedTree | undefined): AddCheckpointOutcome {
  let body: string;
  let cp: Checkpoint;
  try {
    body = noteParts(req.note, 'checkpoint').body;
    cp = parseCheckpoint(req.note);
  } catch (e) {
    return plain(400, (e as Error).message);
  }
  const key = logs.get(cp.origin);
  if (!key) return plain(404, `unknown log "${cp.origin.slice(0, 100)}"`);
  let signed: string;
  try {
    signed = signedOnlyBy(req.note, key, 'checkpoint');
  } catch (e) {
    return plain(403, (e as Error).message);
  }
  if (req.oldSize > cp.size) return plain(400, `old size ${req.oldSize} is larger than the checkpoint's size ${cp.size}`);
  const known = last(cp.origin) ?? { size: 0, rootHash: EMPTY_ROOT };
  if (req.oldSize !== known.size) return { status: 409, body: `${known.size}\n`, contentType: TLOG_SIZE_TYPE };
  if (cp.size === 0 && !equalBytes(cp.rootHash, EMPTY_ROOT)) return plain(422, 'a checkpoint of size 0 must have the empty tree root');
  if (req.oldSize === 0 && req.proof.length > 0) return plain(422, 'from size 0 the consistency proof must be empty');
  try {
    verifyConsistency(known.size, cp.size, known.rootHash, cp.rootHash, req.proof);
  } catch (e) {
    return plain(422, `not consistent with the tree of size ${known.size} (root ${toHex(known.rootHash)}) this witness cosigned: ${(e as Error).message}`);
  }
  return { status: 200, checkpoint: cp, body, signed };
}
