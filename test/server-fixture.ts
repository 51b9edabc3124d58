/** A real server on a free loopback port with fresh folders; its log goes to a file. */
import { createWriteStream } from 'node:fs';
import { pino } from 'pino';
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

export async function serverFixture(opts: { rateLimit?: number; checkRateLimit?: number; dir?: string } = {}): Promise<ServerFixture> {
  const dir = opts.dir ?? (await tempDir());
  const logFile = `${dir}/server.log`;
  const logger = pino({ level: 'info' }, createWriteStream(logFile, { flags: 'a' }));
  const running = await startServer({ port: 0, host: '127.0.0.1', dataDir: `${dir}/data`, keysDir: `${dir}/keys`, logger, ...(opts.rateLimit ? { rateLimit: opts.rateLimit } : {}), ...(opts.checkRateLimit ? { checkRateLimit: opts.checkRateLimit } : {}) });
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
