/**
 * Starting and stopping the HTTP server around a ledger.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { CartularyError } from '../core/errors.js';
import { WRITER_META } from '../store/follower.js';
import { openFollowerLedger, openLedger, type ServedLedger } from '../store/ledger.js';
import { VERSION } from '../version.js';
import { createApp } from './app.js';
import { Handlers } from './handlers.js';
import { parseVerifierKey } from '../core/checkpoint.js';
import { equalBytes } from '../core/bytes.js';
import type { Policy } from '../core/policy.js';
import { WitnessPublisher, type PublisherOptions } from '../witness/publisher.js';
import { RelayedCosignatures } from '../witness/relayed.js';
import { Metrics } from './metrics.js';

export interface ServeOptions {
  port: number;
  host: string;
  dataDir: string;
  keysDir: string;
  /** a PostgreSQL URL to keep the ledger in, instead of LevelDB in `dataDir` */
  store?: string;
  /** where a PostgreSQL writer keeps its fingerprint indexes between starts */
  indexDir?: string;
  /** follow the writer of a ledger kept in PostgreSQL: serve reads, refuse writes (503 naming the writer) */
  readOnly?: boolean;
  /** the URL this writer tells read-only nodes to send writes to (by default, the one it listens on) */
  publicUrl?: string;
  origin?: string;
  /** the registrar party (hex), fixed when the ledger is created */
  registrar?: string;
  /** submissions per client per minute */
  rateLimit?: number;
  /** Express `trust proxy` for telling clients apart behind a proxy (see AppOptions) */
  trustProxy?: number | string;
  /** pre-publish checks per client per minute */
  checkRateLimit?: number;
  logger?: Logger;
  /** the built explorer; by default the package's dist/web */
  webDir?: string;
  /** send every checkpoint to these witnesses (C2SP tlog-policy) */
  witnessPolicy?: Policy;
  witnessTuning?: PublisherOptions;
}

export interface RunningServer {
  url: string;
  ledger: ServedLedger;
  server: Server;
  /** Stops taking connections, answers every accepted submission, closes the store. */
  close(): Promise<void>;
}

/** Generous enough that a platform's bulk client and the benchmark are not throttled on loopback. */
export const DEFAULT_RATE_LIMIT = 600_000;
/** Buffered log lines reach stdout at least this often, so `tail -f` follows a quiet server. */
const LOG_FLUSH_MS = 1_000;
// From src/http (tests, tsx) and from dist/http (the package) alike, two levels up is the root.
const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url));
/** Checks are costlier and open to anyone: 100 a second per client unless the operator says otherwise. */
export const DEFAULT_CHECK_RATE_LIMIT = 6_000;

const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'the request headers are over 16 KiB'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'the request took too long to arrive'],
  default: [400, 'Bad Request', 'the request is not valid HTTP/1.1'],
};

/** A ledger refuses to start on a policy it cannot follow: one that names other logs, or witnesses without a URL. */
function checkPolicyFor(policy: Policy, verifierKey: string): Policy {
  const own = parseVerifierKey(verifierKey);
  if (policy.logs.length > 0 && !policy.logs.some((l) => l.key.name === own.name && equalBytes(l.key.publicKey, own.publicKey))) {
    throw new CartularyError('invalid', `the witness policy lists logs, but not this ledger (${verifierKey})`);
  }
  const noUrl = policy.witnesses.find((w) => !w.url);
  if (noUrl) throw new CartularyError('invalid', `witness ${noUrl.name} has no URL in the policy: the ledger cannot reach it`);
  return policy;
}

/** Why a listen failed, in one line an operator can act on. */
function listenError(e: NodeJS.ErrnoException, host: string, port: number): CartularyError {
  const where = `${host}:${port}`;
  const why: Record<string, string> = {
    EADDRINUSE: `${where} is already in use (another server?); stop it or choose another --port`,
    EACCES: `not allowed to listen on ${where} (ports below 1024 need privileges); choose another --port`,
    EADDRNOTAVAIL: `${host} is not an address of this machine; choose another --host`,
    ENOTFOUND: `${host} does not resolve; choose another --host`,
  };
  return new CartularyError('unavailable', `cannot listen: ${why[e.code ?? ''] ?? `${where}: ${e.message}`}`, { cause: e });
}

function notYet(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '1' });
  res.end(JSON.stringify({ type: 'about:blank', title: 'Service Unavailable', status: 503, detail: 'the ledger is starting' }));
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  // Buffered, asynchronous log writes (one syscall per 4 KiB rather than one per request),
  // flushed on a timer so a quiet server's lines still appear.
  const logger = opts.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' }, pino.destination({ dest: 1, sync: false, minLength: 4096 }));
  const flusher = setInterval(() => logger.flush(), LOG_FLUSH_MS).unref();
  let handle: RequestListener = notYet;
  const server = createServer((req, res) => handle(req, res));
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
  // The port is taken before the ledger is opened: a busy port must not leave a new key and
  // data folder behind.
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => resolve());
    });
  } catch (e) {
    clearInterval(flusher);
    throw listenError(e as NodeJS.ErrnoException, opts.host, opts.port);
  }
  /** A start-up that failed after listening gives everything back before it reports why. */
  const giveUp = async (e: unknown, opened?: ServedLedger): Promise<never> => {
    clearInterval(flusher);
    await opened?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw e;
  };
  const metrics = new Metrics();
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `http://${host}:${port}`;
  let ledger: ServedLedger;
  try {
    const paths = { dataDir: opts.dataDir, keysDir: opts.keysDir, ...(opts.store ? { store: opts.store } : {}), ...(opts.indexDir ? { indexDir: opts.indexDir } : {}), ...(opts.origin ? { origin: opts.origin } : {}), ...(opts.registrar ? { registrar: opts.registrar } : {}) };
    if (opts.readOnly) {
      if (!opts.store) throw new CartularyError('invalid', 'a read-only node follows a ledger kept in PostgreSQL: give --store postgres://…');
      ledger = await openFollowerLedger({ ...paths, store: opts.store }, { log: (message) => logger.error(message) });
    } else {
      ledger = await openLedger(paths);
    }
  } catch (e) {
    return giveUp(e);
  }
  const saved = ledger.store.indexesSavedAt;
  logger.info(
    { indexesSavedAt: saved ?? null, size: ledger.sequencer.size },
    saved === undefined
      ? `fingerprint indexes built from the records${opts.readOnly && !opts.indexDir ? ' (a read-only node without --index-dir builds them at every start, and keeps no watermark of the trees it served)' : ''}`
      : `fingerprint indexes reopened as saved at size ${saved}${saved < ledger.sequencer.size ? `, caught up to ${ledger.sequencer.size}` : ''}`,
  );
  // Read-only nodes answer writes with the writer's address: a shared store says where it is.
  if (opts.store && !opts.readOnly) {
    try {
      await ledger.store.setMeta(WRITER_META, opts.publicUrl ?? url);
    } catch (e) {
      return giveUp(e, ledger);
    }
  }
  metrics.treeSize = () => ledger.sequencer.size;
  metrics.fingerprintIndex = () => ({ frames: ledger.store.similarity.frames, bytes: ledger.store.similarity.bytes });
  metrics.patchIndex = () => ({ frames: ledger.store.patches.frames, bytes: ledger.store.patches.bytes });
  metrics.soundIndex = () => ({ works: ledger.store.sound.size, bytes: ledger.store.sound.bytes });
  metrics.indexPages = () => ledger.store.indexPages;
  metrics.nodeCache = () => ({ bytes: ledger.store.nodeCache.bytes, filling: ledger.store.nodeFilling });
  ledger.sequencer.onCommit((b) => metrics.committed(b));
  let witnesses: WitnessPublisher | RelayedCosignatures | undefined;
  if (opts.readOnly && opts.witnessPolicy) {
    // The writer sends checkpoints to witnesses; a read-only node given a policy relays the
    // cosignatures the writer collected, once they meet it.
    try {
      witnesses = await RelayedCosignatures.open(ledger.store, ledger.sequencer, opts.witnessPolicy);
    } catch (e) {
      return giveUp(e, ledger);
    }
  } else if (opts.witnessPolicy) {
    try {
      witnesses = await WitnessPublisher.open(checkPolicyFor(opts.witnessPolicy, ledger.sequencer.verifierKey), ledger.store, ledger.sequencer, {
        ...opts.witnessTuning,
        log: (entry, message) => logger.warn(entry, message),
      });
    } catch (e) {
      return giveUp(e, ledger);
    }
  }
  handle = createApp(new Handlers(ledger, Date.now, witnesses, metrics), {
    rateLimit: opts.rateLimit ?? DEFAULT_RATE_LIMIT,
    checkRateLimit: opts.checkRateLimit ?? DEFAULT_CHECK_RATE_LIMIT,
    logger,
    version: VERSION,
    webDir: opts.webDir ?? DEFAULT_WEB_DIR,
    ...(opts.trustProxy !== undefined ? { trustProxy: opts.trustProxy } : {}),
  });
  if (witnesses instanceof WitnessPublisher) witnesses.start();
  let closing: Promise<void> | null = null;
  return {
    url,
    ledger,
    server,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await ledger.sequencer.close(); // every accepted submission gets its receipt
        await witnesses?.close();
        // Keep-alive connections turn idle as their last answers go out: close them as they do,
        // and give up on any that still hold a request after a few seconds.
        const sweep = setInterval(() => server.closeIdleConnections(), 20);
        const force = setTimeout(() => server.closeAllConnections(), 5_000);
        server.closeIdleConnections();
        await closed;
        clearInterval(sweep);
        clearTimeout(force);
        await ledger.store.close();
        if (ledger.store.indexesNotSaved) logger.warn({ reason: ledger.store.indexesNotSaved }, 'fingerprint indexes not saved: the next start rebuilds them');
        clearInterval(flusher);
        logger.flush();
      })();
      return closing;
    },
  };
}
