/**
 * RFC 9457 problem details. The one place where error codes become HTTP statuses.
 */
import { CartularyError, type ErrorCode } from '../core/errors.js';

export const STATUS: Record<ErrorCode, number> = {
  malformed: 400,
  invalid: 400,
  'verification-failed': 400,
  'bad-signature': 401,
  unauthorised: 403,
  'not-found': 404,
  conflict: 409,
  'too-large': 413,
  'unsupported-media-type': 415,
  'rate-limited': 429,
  corrupt: 500,
  unavailable: 503,
};

export const TITLE: Record<ErrorCode, string> = {
  malformed: 'Malformed input',
  invalid: 'Invalid statement or request',
  'verification-failed': 'Verification failed',
  'bad-signature': 'Bad signature',
  unauthorised: 'Signer lacks the right',
  'not-found': 'Not found',
  conflict: 'Refused by the ledger rules',
  'too-large': 'Too large',
  'unsupported-media-type': 'Unsupported media type',
  'rate-limited': 'Too many requests',
  corrupt: 'Ledger store fault',
  unavailable: 'Ledger unavailable',
};

/** What each problem means and what to do about it: the page its `type` resolves to. */
export const EXPLANATION: Record<ErrorCode, string> = {
  malformed: 'The request could not be read: bytes that do not decode as CBOR or COSE_Sign1, JSON that does not parse, base64 that is not base64, or a field of the wrong shape. The `field` member names the place. Fix the input; resending it unchanged will fail the same way.',
  invalid: 'The request is well-formed but breaks a rule of its schema: a number out of range, a value outside its vocabulary (uses, territories), an `issuedAt` more than 5 minutes ahead of the ledger\'s clock, an index not below the tree size. The `field` member names the place.',
  'verification-failed': 'A proof, checkpoint or evidence bundle does not check out against the key or the data it should match.',
  'bad-signature': 'The statement\'s Ed25519 signature does not verify under the public key named in its protected header (label 4). Sign the Sig_structure exactly as the format specification says.',
  unauthorised: 'The signature is good, but the signer does not hold the right the statement needs: only a work\'s current owner may transfer or license it, only a licence\'s grantor may revoke it, a sublicence needs a sublicensable parent held by the signer.',
  'not-found': 'The work, licence, entry, statement or party named does not exist in this ledger, or a tree size is beyond the latest checkpoint.',
  conflict: 'A rule of the ledger refuses the statement although everything it names exists: the same content registered again by the same party, an exclusive licence overlapping another, a licence revoked twice. Extra members (such as `work`) name what it conflicts with.',
  'too-large': 'The body is over the limit for this route (16.5 KiB for a COSE statement, 64 KiB for JSON, 1 MiB for a check).',
  'unsupported-media-type': 'The body is not of a content type the route takes: statements are `application/cose` bytes or `application/json` `{"statement": base64}`; checks are `application/json`.',
  'rate-limited': 'More submissions from this client in a minute than the ledger allows. Wait for the time in the RateLimit headers and retry; reads are never limited.',
  corrupt: 'The ledger\'s store is not what it should be. The ledger has stopped accepting writes; its operator must restore it from a backup. Nothing acknowledged is lost.',
  unavailable: 'The ledger is shutting down, or stopped taking writes after a storage failure. Retry later: a statement resubmitted after a failure gets its first receipt if it was appended.',
};

export const ERROR_CODES = Object.keys(STATUS) as ErrorCode[];

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  field?: string;
  [extra: string]: unknown;
}

/**
 * A problem's `type`: a relative URI reference (RFC 9457 §3.1.1, RFC 3986 §4.2), so it
 * resolves against whichever address the client used to a page this server serves.
 */
export const problemPath = (code: ErrorCode) => `/problems/${code}`;

/** The problem body for an error; anything not a CartularyError is an internal error, without details. */
export function toProblem(e: unknown): Problem {
  if (e instanceof CartularyError) {
    return {
      type: problemPath(e.code),
      title: TITLE[e.code],
      status: STATUS[e.code],
      detail: e.message,
      ...(e.field ? { field: e.field } : {}),
      ...(e.info ?? {}),
    };
  }
  return { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: 'the server failed to handle this request; it has been logged' };
}
