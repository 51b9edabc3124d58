/** A real server on a free loopback port with fresh folders; its log goes to a file. */
import { createWriteStream } from 'node:fs';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { startServer, type RunningServer } from '../src/http/server.js';
import { tempDir } from './helpers.js';

export interface ServerFixture extends RunningServer {
  dir: string;
  logFile: string;
  verifierKey: string;
  get(path: string): Promise<Response>;
  post(path: string, body: BodyInit, contentType: string): Promise<Response>;
  submit(bytes: Uint8Array): Promise<Response>;
}

export async function serverFixture(opts: { rateLimit?: number; checkRateLimit?: number; dir?: string; trustProxy?: number | string; webDir?: string } = {}): Promise<ServerFixture> {
  const dir = opts.dir ?? (await tempDir());
  const logFile = `${dir}/server.log`;
  const logger = pino({ level: 'info' }, createWriteStream(logFile, { flags: 'a' }));
  const running = await startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir: `${dir}/data`,
    keysDir: `${dir}/keys`,
    logger,
    ...(opts.rateLimit ? { rateLimit: opts.rateLimit } : {}),
    ...(opts.checkRateLimit ? { checkRateLimit: opts.checkRateLimit } : {}),
    ...(opts.trustProxy !== undefined ? { trustProxy: opts.trustProxy } : {}),
    ...(opts.webDir ? { webDir: opts.webDir } : {}),
  });
  const get = (path: string) => fetch(`${running.url}${path}`);
  const post = (path: string, body: BodyInit, contentType: string) => fetch(`${running.url}${path}`, { method: 'POST', body, headers: { 'content-type': contentType } });
  return {
    ...running,
    dir,
    logFile,
    verifierKey: running.ledger.sequencer.verifierKey,
    get,
    post,
    submit: (bytes) => post('/v1/statements', Buffer.from(bytes), 'application/cose'),
  };
}

/**
 * For a test file: a function that starts servers, every one of which is closed after each
 * test (closing one early, to restart it, is fine: close is idempotent).
 */
export function serversClosedAfterEach(): (opts?: Parameters<typeof serverFixture>[0]) => Promise<ServerFixture> {
  const open: ServerFixture[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  return async (opts = {}) => {
    const s = await serverFixture(opts);
    open.push(s);
    return s;
  };
}
