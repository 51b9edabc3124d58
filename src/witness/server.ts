/**
 * A C2SP tlog-witness over HTTP (node:http; three routes need no framework):
 *
 *   POST /add-checkpoint          cosign a checkpoint proven consistent with the last one
 *   GET  /witness-key             this witness's vkey (tlog-cosignature, type 0x04)
 *   GET  /<sha256(origin)>/checkpoint   the latest checkpoint it cosigned for that log
 *
 * The decision is core/witness.ts; the new state is on disk before the 200 is sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toHex, utf8 } from '../core/bytes.js';
import { parseVerifierKey, type VerifierKey } from '../core/checkpoint.js';
import { cosign, formatWitnessKey } from '../core/cosignature.js';
import { sha256, type Signer } from '../core/crypto.js';
import { CartularyError } from '../core/errors.js';
import { judgeAddCheckpoint, parseAddCheckpoint } from '../core/witness.js';
import { loadOrCreateKey } from '../store/key-files.js';
import { WitnessState } from './state.js';

export interface WitnessOptions {
  port: number;
  host: string;
  dataDir: string;
  keysDir: string;
  /** the witness's key name (tlog-cosignature: a schema-less URL that identifies it) */
  name: string;
  /** the vkeys of the logs it follows */
  logs: readonly string[];
  /** POSIX seconds; tests may pin it */
  clock?: () => number;
  /** one line per cosignature or refusal */
  log?: (line: string) => void;
}

export interface RunningWitness {
  url: string;
  verifierKey: string;
  server: Server;
  close(): Promise<void>;
}

/** A checkpoint with a few dozen cosignatures and a 63-line proof fits easily. */
const MAX_BODY = 64 * 1024;
export const WITNESS_KEY_NAME = 'witness';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new CartularyError('too-large', `the body is over ${MAX_BODY} bytes`);
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) return reject(tooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit the rest is read and dropped (the request timeout bounds it), so the 413 reaches the client.
      if (size > MAX_BODY) reject(tooLarge());
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...(status === 413 ? { connection: 'close' } : {}) }).end(body);
}

export async function startWitness(opts: WitnessOptions): Promise<RunningWitness> {
  const logs = new Map<string, VerifierKey>();
  for (const text of opts.logs) {
    const key = parseVerifierKey(text);
    if (logs.has(key.name)) throw new CartularyError('invalid', `two --log keys name the same origin "${key.name}"`);
    logs.set(key.name, key);
  }
  if (logs.size === 0) throw new CartularyError('invalid', 'a witness needs at least one --log VKEY to follow');
  const signer: Signer = (await loadOrCreateKey(opts.keysDir, WITNESS_KEY_NAME)).signer;
  const verifierKey = formatWitnessKey(opts.name, signer.publicKey);
  const state = await WitnessState.open(opts.dataDir);
  const clock = opts.clock ?? (() => Math.floor(Date.now() / 1000));
  const log = opts.log ?? (() => undefined);
  const byOriginHash = new Map([...logs.keys()].map((origin) => [toHex(sha256(utf8(origin))), origin]));

  async function addCheckpoint(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = parseAddCheckpoint(await readBody(req));
    await state.withLock(async () => {
      const outcome = judgeAddCheckpoint(request, logs, (origin) => state.get(origin));
      if (outcome.status !== 200) {
        log(`refused ${outcome.status}: ${outcome.body.trim()}`);
        send(res, outcome.status, outcome.body, outcome.contentType);
        return;
      }
      const { origin, size, rootHash } = outcome.checkpoint;
      const line = cosign(outcome.body, opts.name, signer, Math.max(1, clock()));
      // Durable before the answer: a cosignature never outlives a state that forgot it.
      await state.record(origin, { size, rootHash, note: outcome.signed + line });
      log(`cosigned ${origin} at size ${size}`);
      send(res, 200, line);
    });
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const handle = async () => {
      if (path === '/add-checkpoint') {
        if (req.method !== 'POST') return send(res, 405, 'add-checkpoint takes POST\n');
        return addCheckpoint(req, res);
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
      if (path === '/witness-key') return send(res, 200, `${verifierKey}\n`);
      const m = /^\/([0-9a-f]{64})\/checkpoint$/.exec(path);
      const record = m ? state.get(byOriginHash.get(m[1] as string) ?? '') : undefined;
      if (record) return send(res, 200, record.note);
      return send(res, 404, 'not found\n');
    };
    handle().catch((e: unknown) => {
      const known = e instanceof CartularyError;
      if (!known) log(`error: ${(e as Error).message}`);
      if (res.headersSent) return;
      const status = !known ? 500 : e.code === 'too-large' ? 413 : 400;
      send(res, status, `${known ? e.message : 'the witness failed to handle this request'}\n`);
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`,
    verifierKey,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
