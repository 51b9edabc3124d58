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

const TITLE: Record<ErrorCode, string> = {
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

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  field?: string;
  [extra: string]: unknown;
}

export const problemType = (code: ErrorCode) => `https://cartulary.dev/problems/${code}`;

/** The problem body for an error; anything not a CartularyError is an internal error, without details. */
export function toProblem(e: unknown): Problem {
  if (e instanceof CartularyError) {
    return {
      type: problemType(e.code),
      title: TITLE[e.code],
      status: STATUS[e.code],
      detail: e.message,
      ...(e.field ? { field: e.field } : {}),
      ...(e.info ?? {}),
    };
  }
  return { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: 'the server failed to handle this request; it has been logged' };
}
