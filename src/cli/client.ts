/**
 * What the client commands share: the server they talk to, the key they sign with, how a
 * party or a date is given on the command line, and submitting a statement.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fromHex } from '../core/bytes.js';
import type { Signer } from '../core/crypto.js';
import { CartularyError, type ErrorCode } from '../core/errors.js';
import type { Receipt } from '../core/receipt.js';
import { MAX_CLOCK_SKEW_MS, USES, type Use } from '../core/statements.js';
import { ISO_3166_ALPHA2, WORLD } from '../core/territories.js';
import { loadSecretKey, resolveParty } from '../store/key-files.js';
import type { VerifyOptions } from '../verify/verify-bundle.js';
import { keysDir, str, UsageError, type Io, type Options, type Values } from './command.js';
import { nearest } from './suggest.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** The server to talk to (--server, else $CARTULARY_SERVER), and the keys folder where names (alice, bob) are looked up. */
export const serverOption: Options = { server: { type: 'string' }, keys: { type: 'string' } };
export const serverUrl = (v: Values): string => str(v.server) ?? process.env.CARTULARY_SERVER ?? DEFAULT_SERVER;
export const signingOptions: Options = { ...serverOption, key: { type: 'string' } };

const exists = (p: string) => stat(p).then(() => true, () => false);

/** The names of the keys in `dir` with this ending (alice for alice.key), for "did you mean". */
const keyNames = async (dir: string, ending: '.key' | '.pub') =>
  (await readdir(dir).catch(() => [])).filter((f) => f.endsWith(ending)).map((f) => f.slice(0, -ending.length));

/** A server's text on one line: it cannot start lines of its own under the command's name. */
const oneLine = (text: string) => text.replace(/[\r\n]+/g, ' ');

/**
 * The most of a server's answer read, and how long one may take, whole: a bundle of a work
 * licensed 10,000 times is ~18 MB, and a server that never ends its answer, trickles it, or
 * sends gigabytes must not hang the command or exhaust its memory.
 */
const MAX_ANSWER_BYTES = 256 * 1024 * 1024;
const answerTimeoutMs = () => Number(process.env.CARTULARY_TIMEOUT_MS) || 120_000;

/** The answer's body, up to MAX_ANSWER_BYTES, or a clear error. */
async function bodyOf(res: Response, server: string): Promise<Buffer> {
  const tooLarge = () => new CartularyError('too-large', `the answer of ${server} is over ${MAX_ANSWER_BYTES / 1024 / 1024} MB: not read`);
  if (Number(res.headers.get('content-length')) > MAX_ANSWER_BYTES) {
    await res.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body?.getReader();
  try {
    for (let read = await reader?.read(); read && !read.done; read = await reader?.read()) {
      total += read.value.length;
      if (total > MAX_ANSWER_BYTES) {
        await reader?.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(read.value);
    }
  } catch (e) {
    if (e instanceof CartularyError) throw e;
    throw unanswered(server, e);
  }
  return Buffer.concat(chunks);
}

const unanswered = (server: string, e: unknown) =>
  (e as Error).name === 'TimeoutError'
    ? new CartularyError('unavailable', `the ledger at ${server} did not answer in full within ${answerTimeoutMs() / 1000} s (CARTULARY_TIMEOUT_MS)`)
    : new CartularyError('unavailable', `the answer of ${server} broke off: ${(e as Error).message}`);

const jsonOf = async <T>(res: Response, server: string): Promise<T> => {
  const text = (await bodyOf(res, server)).toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CartularyError('malformed', `the answer of ${server} is not JSON: ${oneLine(text.slice(0, 100))}`);
  }
};

/** A problem+json answer, turned back into the CartularyError the server raised, on one line. */
async function failure(res: Response, server: string): Promise<CartularyError> {
  const text = (await bodyOf(res, server)).toString('utf8');
  try {
    const p = JSON.parse(text) as { type?: string; detail?: string; title?: string };
    const code = (p.type?.split('/').pop() ?? 'unavailable') as ErrorCode;
    return new CartularyError(code, oneLine(`${res.status} ${p.title ?? ''}: ${p.detail ?? text}`.trim()));
  } catch {
    return new CartularyError('unavailable', oneLine(`${res.status}: ${text.slice(0, 200)}`));
  }
}

export class LedgerClient {
  constructor(readonly server: string) {}

  private async request(path: string, init?: RequestInit): Promise<Response> {
    try {
      return await fetch(new URL(path, this.server), { ...init, signal: AbortSignal.timeout(answerTimeoutMs()) });
    } catch (e) {
      if ((e as Error).name === 'TimeoutError') throw unanswered(this.server, e);
      const cause = (e as Error).cause as NodeJS.ErrnoException | undefined;
      if (cause?.code === 'ECONNREFUSED') {
        throw new CartularyError('unavailable', `cannot reach the ledger at ${this.server}: nothing listens there. Is the server running (npm start)? Another server: --server URL or CARTULARY_SERVER`);
      }
      throw new CartularyError('unavailable', `cannot reach the ledger at ${this.server}: ${cause ?? (e as Error).message}`);
    }
  }

  async get<T>(path: string): Promise<T> {
    const res = await this.request(path);
    if (!res.ok) throw await failure(res, this.server);
    return jsonOf<T>(res, this.server);
  }

  /** A text or binary resource (checkpoint, tile); `null` for 404. */
  async getRaw(path: string): Promise<Uint8Array | null> {
    const res = await this.request(path);
    if (res.status === 404) return null;
    if (!res.ok) throw await failure(res, this.server);
    return new Uint8Array(await bodyOf(res, this.server));
  }

  async postJson<T>(path: string, body: unknown): Promise<T> {
    const res = await this.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw await failure(res, this.server);
    return jsonOf<T>(res, this.server);
  }

  /** Submits COSE bytes; resolves with the receipt and whether it was a repeat. */
  async submit(statement: Uint8Array): Promise<{ receipt: Receipt; repeat: boolean }> {
    const res = await this.request('/v1/statements', { method: 'POST', headers: { 'content-type': 'application/cose' }, body: Buffer.from(statement) });
    if (!res.ok) throw await failure(res, this.server);
    return { receipt: await jsonOf<Receipt>(res, this.server), repeat: res.status === 200 };
  }
}

/**
 * What a check's own evidence must be about: the very question asked, judged at the instant
 * given, or — without one — at the server's clock, within the allowed skew of this one's
 * from `asked` until now.
 */
export function aboutCheck(q: { sha256: string; uploader: string; use?: string; territory: string; at?: number }, asked: number): VerifyOptions {
  const at = q.at ?? { from: asked - MAX_CLOCK_SKEW_MS, to: Date.now() + MAX_CLOCK_SKEW_MS };
  return { about: { check: { sha256: q.sha256, uploader: q.uploader, use: q.use ?? 'publish', territory: q.territory, at } } };
}

export function client(v: Values): LedgerClient {
  const server = serverUrl(v);
  const url = URL.canParse(server) ? new URL(server) : undefined;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new UsageError(`the server "${server}" is not an http(s) URL (try http://${server.replace(/^\w+:\/\//, '')})`);
  return new LedgerClient(server);
}

/** `--key` is a secret key file, or a name in the keys folder (alice → keys/alice.key). */
export async function signingKey(v: Values): Promise<Signer> {
  const key = str(v.key);
  if (!key) throw new UsageError('--key is required: the secret key file (or name in --keys) to sign with');
  if (await exists(key)) return loadSecretKey(key);
  const dir = keysDir(v);
  const byName = join(dir, key.endsWith('.key') ? key : `${key}.key`);
  if (await exists(byName)) return loadSecretKey(byName);
  const names = await keyNames(dir, '.key');
  const near = nearest(key.replace(/\.key$/, ''), names);
  throw new CartularyError(
    'not-found',
    `no secret key "${key}": neither a file ${key} nor ${byName}` +
      (near ? `; did you mean ${near}?` : names.length ? ` (keys in ${dir}: ${names.join(', ')})` : `; make one with: cartulary keygen ${key.replace(/\.key$/, '')}`),
  );
}

/** A party: 64 hex characters, a key file, or a name in the keys folder (bob → keys/bob.pub). */
export async function partyArg(value: string | undefined, v: Values, option: string): Promise<string> {
  if (!value) throw new UsageError(`${option} is required`);
  if (/^[0-9a-f]{64}$/.test(value) || (await exists(value))) return resolveParty(value);
  const dir = keysDir(v);
  const byName = join(dir, `${value}.pub`);
  if (await exists(byName)) return resolveParty(byName);
  const near = nearest(value, await keyNames(dir, '.pub'));
  throw new CartularyError('not-found', `${option} "${value}" is neither a party (64 hex characters), a key file nor a name in ${dir}${near ? `; did you mean ${near}?` : ''}`);
}

/** An id on the command line: 64 hex characters, or a usage error saying where ids are found. */
export const idArg = (value: string | undefined, what: string): Uint8Array => {
  if (!value) throw new UsageError(`the ${what} id is required`);
  if (!/^[0-9a-fA-F]{64}$/.test(value)) {
    throw new UsageError(`the ${what} id must be 64 hex characters, not "${value.slice(0, 80)}"${value.length > 80 ? '…' : ''}: cartulary history WORK shows the ids of a work's licences and claims`);
  }
  return fromHex(value.toLowerCase(), what, 32);
};

const DAY_MS = 86_400_000;

/**
 * A date on the command line: ms since the epoch, a day (2027-12-31), or a time
 * (2027-12-31T12:00, 2027-12-31T12:00:00+02:00). Days and times without a zone are UTC, so
 * the same command means the same instant on every machine. A day given as the `end` of a
 * window covers the whole of that day: the window ends (exclusively) at the next midnight UTC.
 * Every caller says which it reads (no default), so no window ends a day early by mistake.
 */
export function dateArg(value: string | undefined, option: string, as: 'instant' | 'end'): number | undefined {
  if (value === undefined) return undefined;
  const fail = () => new CartularyError('invalid', `${option} "${value}" is not a date (try 2027-12-31, 2027-12-31T12:00Z or ms since the epoch)`);
  let ms: number;
  if (/^\d+$/.test(value)) ms = Number(value);
  else if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    ms = Date.parse(`${value}T00:00:00Z`);
    // Date.parse rolls 2027-02-30 over into March: a day that does not exist is refused.
    if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) throw fail();
    if (as === 'end') ms += DAY_MS;
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?$/.test(value)) {
    ms = Date.parse(/(Z|[+-]\d{2}:\d{2})$/.test(value) ? value : `${value}Z`);
  } else throw fail();
  if (!Number.isSafeInteger(ms) || ms < 0) throw fail();
  return ms;
}

/** An instant as the ledger stores it, in ms, and readable (UTC). */
export const instant = (ms: number) => `${new Date(ms).toISOString()} (${ms})`;

export const listArg = (v: Values[string]): string[] =>
  (Array.isArray(v) ? v : [v]).flatMap((x) => (typeof x === 'string' ? x.split(',') : [])).map((x) => x.trim()).filter(Boolean);

/** Territories as statements carry them: ISO 3166-1 alpha-2 codes, in any case here, or * for everywhere. */
export const territoriesArg = (v: Values[string], option: string): string[] =>
  listArg(v).map((given) => {
    const code = given.toUpperCase();
    if (code !== WORLD && !ISO_3166_ALPHA2.has(code)) throw new UsageError(`${option} "${given}" is not a territory: an ISO 3166-1 alpha-2 code (FR, DE, CN…) or * for everywhere`);
    return code;
  });

/** Uses as statements carry them (DESIGN §4). */
export const usesArg = (v: Values[string], option: string): Use[] =>
  listArg(v).map((given) => {
    if (!(USES as readonly string[]).includes(given)) throw new UsageError(`${option} "${given}" is not a use: one of ${USES.join(', ')}`);
    return given as Use;
  });

/** A submission's outcome: its receipt in lines, or with --json as one document (with `extra` facts). */
export function printReceipt(io: Io, v: Values, what: string, r: { receipt: Receipt; repeat: boolean }, extra: Record<string, unknown> = {}): void {
  if (v.json) {
    io.out(JSON.stringify({ ...extra, repeat: r.repeat, receipt: r.receipt }, null, 2));
    return;
  }
  io.out(`${what}${r.repeat ? ' (already in the ledger: first receipt)' : ''}`);
  io.out(`  id:    ${r.receipt.id}`);
  io.out(`  index: ${r.receipt.index}   time: ${new Date(r.receipt.time).toISOString()}   tree size: ${r.receipt.inclusionProof.size}`);
}

/** A party as people read it: "Alice Films (3f2a9c…)", or its id when it has no profile. */
export const partyLabel = (id: string, names: Map<string, string>, full = false): string => {
  const shown = full ? id : `${id.slice(0, 12)}…`;
  const name = names.get(id);
  return name ? `${JSON.stringify(name)} (${shown})` : shown;
};
