/**
 * Starting and stopping the HTTP server around a ledger.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { openLedger, type Ledger } from '../store/ledger.js';
import { createApp } from './app.js';
import { Handlers } from './handlers.js';

export interface ServeOptions {
  port: number;
  host: string;
  dataDir: string;
  keysDir: string;
  origin?: string;
  /** submissions per client per minute */
  rateLimit?: number;
  /** pre-publish checks per client per minute */
  checkRateLimit?: number;
  logger?: Logger;
}

export interface RunningServer {
  url: string;
  ledger: Ledger;
  server: Server;
  /** Stops taking connections, answers every accepted submission, closes the store. */
  close(): Promise<void>;
}

/** Generous enough that a platform's bulk client and the benchmark are not throttled on loopback. */
export const DEFAULT_RATE_LIMIT = 600_000;
/** Checks are costlier and open to anyone: 100 a second per client unless the operator says otherwise. */
export const DEFAULT_CHECK_RATE_LIMIT = 6_000;
const VERSION = '0.1.0';

const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'the request headers are over 16 KiB'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'the request took too long to arrive'],
  default: [400, 'Bad Request', 'the request is not valid HTTP/1.1'],
};

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  // Buffered, asynchronous log writes: one syscall per 4 KiB rather than one per request.
  const logger = opts.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' }, pino.destination({ dest: 1, sync: false, minLength: 4096 }));
  const ledger = await openLedger({ dataDir: opts.dataDir, keysDir: opts.keysDir, ...(opts.origin ? { origin: opts.origin } : {}) });
  const app = createApp(new Handlers(ledger), { rateLimit: opts.rateLimit ?? DEFAULT_RATE_LIMIT, checkRateLimit: opts.checkRateLimit ?? DEFAULT_CHECK_RATE_LIMIT, logger, version: VERSION });
  const server = createServer(app);
  // Bound slow and idle clients so a flood of them cannot hold the server.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 4_096;
  // Requests Node's parser rejects before Express sees them still get a problem+json answer.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const [status, title, detail] = CLIENT_ERRORS[err.code ?? ''] ?? CLIENT_ERRORS.default!;
    const body = JSON.stringify({ type: 'about:blank', title, status, detail });
    socket.end(`HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => resolve());
    });
  } catch (e) {
    await ledger.close();
    throw e;
  }
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `http://${host}:${port}`;
  let closing: Promise<void> | null = null;
  return {
    url,
    ledger,
    server,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await ledger.sequencer.close(); // every accepted submission gets its receipt
        // Keep-alive connections turn idle as their last answers go out: close them as they do,
        // and give up on any that still hold a request after a few seconds.
        const sweep = setInterval(() => server.closeIdleConnections(), 20);
        const force = setTimeout(() => server.closeAllConnections(), 5_000);
        server.closeIdleConnections();
        await closed;
        clearInterval(sweep);
        clearTimeout(force);
        await ledger.store.close();
        logger.flush();
      })();
      return closing;
    },
  };
}
