/**
 * What the client commands share: the server they talk to, the key they sign with, how a
 * party or a date is given on the command line, and submitting a statement.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fromHex } from '../core/bytes.js';
import type { Signer } from '../core/crypto.js';
import { CartularyError, type ErrorCode } from '../core/errors.js';
import type { Receipt } from '../core/receipt.js';
import { loadSecretKey, resolveParty } from '../store/key-files.js';
import { str, type Io, type Options, type Values } from './command.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** The server to talk to, and the keys folder where names (alice, bob) are looked up. */
export const serverOption: Options = { server: { type: 'string', default: DEFAULT_SERVER }, keys: { type: 'string', default: 'keys' } };
export const signingOptions: Options = { ...serverOption, key: { type: 'string' } };

const exists = (p: string) => stat(p).then(() => true, () => false);

/** A problem+json answer, turned back into the CartularyError the server raised. */
async function failure(res: Response): Promise<CartularyError> {
  const text = await res.text();
  try {
    const p = JSON.parse(text) as { type?: string; detail?: string; title?: string };
    const code = (p.type?.split('/').pop() ?? 'unavailable') as ErrorCode;
    return new CartularyError(code, `${res.status} ${p.title ?? ''}: ${p.detail ?? text}`.trim());
  } catch {
    return new CartularyError('unavailable', `${res.status}: ${text.slice(0, 200)}`);
  }
}

export class LedgerClient {
  constructor(readonly server: string) {}

  private async request(path: string, init?: RequestInit): Promise<Response> {
    try {
      return await fetch(new URL(path, this.server), init);
    } catch (e) {
      throw new CartularyError('unavailable', `cannot reach the ledger at ${this.server}: ${(e as Error).cause ?? (e as Error).message}`);
    }
  }

  async get<T>(path: string): Promise<T> {
    const res = await this.request(path);
    if (!res.ok) throw await failure(res);
    return (await res.json()) as T;
  }

  async postJson<T>(path: string, body: unknown): Promise<T> {
    const res = await this.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw await failure(res);
    return (await res.json()) as T;
  }

  /** Submits COSE bytes; resolves with the receipt and whether it was a repeat. */
  async submit(statement: Uint8Array): Promise<{ receipt: Receipt; repeat: boolean }> {
    const res = await this.request('/v1/statements', { method: 'POST', headers: { 'content-type': 'application/cose' }, body: Buffer.from(statement) });
    if (!res.ok) throw await failure(res);
    return { receipt: (await res.json()) as Receipt, repeat: res.status === 200 };
  }
}

export const client = (v: Values) => new LedgerClient(str(v.server) as string);

/** `--key` is a secret key file, or a name in the keys folder (alice → keys/alice.key). */
export async function signingKey(v: Values): Promise<Signer> {
  const key = str(v.key);
  if (!key) throw new CartularyError('invalid', '--key is required: the secret key file (or name in --keys) to sign with');
  const byName = join(str(v.keys) ?? 'keys', `${key}.key`);
  return loadSecretKey((await exists(key)) ? key : byName);
}

/** A party: 64 hex characters, a key file, or a name in the keys folder (bob → keys/bob.pub). */
export async function partyArg(value: string | undefined, v: Values, option: string): Promise<string> {
  if (!value) throw new CartularyError('invalid', `${option} is required`);
  if (!/^[0-9a-f]{64}$/.test(value) && !(await exists(value))) {
    const byName = join(str(v.keys) ?? 'keys', `${value}.pub`);
    if (await exists(byName)) return resolveParty(byName);
  }
  return resolveParty(value);
}

export const idArg = (value: string | undefined, what: string): Uint8Array => {
  if (!value) throw new CartularyError('invalid', `the ${what} id is required`);
  return fromHex(value, what, 32);
};

/** A date: ms since the epoch, or anything Date.parse reads (2026-12-31, 2026-12-31T12:00Z). */
export function dateArg(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isSafeInteger(ms)) throw new CartularyError('invalid', `${option} "${value}" is not a date (try 2026-12-31 or ms since the epoch)`);
  return ms;
}

export const listArg = (v: Values[string]): string[] =>
  (Array.isArray(v) ? v : [v]).flatMap((x) => (typeof x === 'string' ? x.split(',') : [])).map((x) => x.trim()).filter(Boolean);

/** With --json the receipt as JSON (and `extra` facts), else the lines of printReceipt. */
export function reportReceipt(io: Io, v: Values, what: string, r: { receipt: Receipt; repeat: boolean }, extra: Record<string, unknown> = {}): void {
  if (v.json) io.out(JSON.stringify({ ...r, ...extra }, null, 2));
  else printReceipt(io, what, r);
}

export function printReceipt(io: Io, what: string, r: { receipt: Receipt; repeat: boolean }): void {
  io.out(`${what}${r.repeat ? ' (already in the ledger: first receipt)' : ''}`);
  io.out(`  id:    ${r.receipt.id}`);
  io.out(`  index: ${r.receipt.index}   time: ${new Date(r.receipt.time).toISOString()}   tree size: ${r.receipt.inclusionProof.size}`);
}
