/**
 * One error type for the whole project, with a closed set of codes. The HTTP edge maps
 * each code to a status in one place (src/http/problem.ts); the CLI maps them to exit codes.
 */
export type ErrorCode =
  /** bytes or JSON that do not parse, or a field of the wrong shape */
  | 'malformed'
  /** well-formed, but a field breaks a limit or a schema rule (named in `field`) */
  | 'invalid'
  /** over a size limit */
  | 'too-large'
  /** the body is not of a content type the route takes */
  | 'unsupported-media-type'
  /** a signature does not verify under the key it names */
  | 'bad-signature'
  /** the signature is good, but the signer does not hold the right the statement needs */
  | 'unauthorised'
  /** a work, licence, entry or party that the ledger does not have */
  | 'not-found'
  /** a rule of the ledger refuses it (duplicate registration, overlapping exclusive licence…) */
  | 'conflict'
  /** too many requests from one client */
  | 'rate-limited'
  /** a proof, checkpoint or evidence bundle does not check out */
  | 'verification-failed'
  /** the store is not what it should be; the ledger stops accepting writes */
  | 'corrupt'
  /** the ledger is closing and takes no more submissions */
  | 'unavailable';

export interface ErrorDetails {
  /** the input field at fault, as a dotted path */
  field?: string;
  /** extra machine-readable facts (an existing work id, expected and computed roots…) */
  info?: Record<string, unknown>;
  cause?: unknown;
}

export class CartularyError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly info: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'CartularyError';
    this.code = code;
    this.field = details.field;
    this.info = details.info;
  }
}

export const isCartularyError = (e: unknown): e is CartularyError => e instanceof CartularyError;
