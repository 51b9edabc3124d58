/**
 * The Express 5 application: protections, body parsing, the route table, and problem+json
 * for every error. Behaviour lives in handlers.ts; this file is glue.
 */
import { randomUUID } from 'node:crypto';
import cors from 'cors';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { CartularyError } from '../core/errors.js';
import { MAX_STATEMENT_BYTES } from '../core/cose.js';
import { admission } from './admission.js';
import { apply, record } from './fixed-headers.js';
import type { Handlers } from './handlers.js';
import { openApiDocument } from './openapi.js';
import { pagesRouter } from './pages.js';
import { toProblem } from './problem.js';
import { ROUTES, type Route } from './routes.js';
import { MAX_BATCH_STATEMENTS } from './schemas.js';

export interface AppOptions {
  /** submissions per client per minute */
  rateLimit: number;
  /** pre-publish checks per client per minute */
  checkRateLimit: number;
  logger: Logger;
  version: string;
  /**
   * Express's `trust proxy`: which proxies' X-Forwarded-For to believe when telling
   * clients apart for the rate limit (a hop count, or addresses and subnets). Off by default:
   * behind a proxy, every client then shares the proxy's limit.
   */
  trustProxy?: number | string;
  /** the built explorer (scripts/build-web.ts): served at `/`, its files under /assets/ */
  webDir: string;
}

/** An X-Request-Id from a client or proxy is kept when it is short and plain; otherwise one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const COSE = 'application/cose';

/**
 * One policy for every answer: the explorer's own script and style only, no inline code,
 * fetches to this origin only, no framing, no plug-ins, no forms posting elsewhere.
 */
const CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
};
const JSON_LIMIT = 64 * 1024;

/**
 * One structured line per request once it is answered: what was asked and answered, and the
 * request id (echoed in X-Request-Id) that ties a client's report to the line; never bodies
 * or headers that could carry anything secret. (pino-http did the same with a child logger
 * and several listeners per request: measured ~15 % of the write path.)
 */
function requestLog(logger: Logger) {
  return (req: Request, res: Response) => {
    const started = performance.now();
    const given = req.get('x-request-id');
    const reqId = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
    res.locals.reqId = reqId;
    res.setHeader('X-Request-Id', reqId);
    // Not even listened for when the line would be dropped (a benchmark's LOG_LEVEL=warn).
    if (logger.isLevelEnabled('info')) {
      res.once('finish', () => {
        logger.info({ reqId, method: req.method, url: req.originalUrl, status: res.statusCode, ms: Math.round((performance.now() - started) * 10) / 10, remote: req.ip }, 'request');
      });
    }
  };
}

/**
 * A JSON answer written directly: what `res.json` would send for these answers (no ETag, no
 * JSON settings, no freshness to check without validators), without its content-type
 * lookup and checks: inclusion proofs at 100 k entries 4,400 → ~4,950/s (alternated with the
 * read floor, three rounds each).
 */
function sendJson(res: Response, body: unknown, type = 'application/json; charset=utf-8'): void {
  const json = JSON.stringify(body) ?? '';
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.end(res.req.method === 'HEAD' ? undefined : json);
}

function sendProblem(res: Response, error: unknown): void {
  const problem = toProblem(error);
  res.status(problem.status);
  sendJson(res, problem, 'application/problem+json; charset=utf-8');
}

/** body-parser's own errors, as CartularyErrors with the right code. */
function fromBodyParser(err: { type?: string; status?: number; message?: string }): CartularyError | null {
  switch (err.type) {
    case 'entity.too.large':
      return new CartularyError('too-large', `the body is over the limit for this route`);
    case 'entity.parse.failed':
      return new CartularyError('malformed', `the body is not valid JSON: ${err.message ?? ''}`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new CartularyError('unsupported-media-type', err.message ?? 'unsupported encoding');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new CartularyError('malformed', err.message ?? 'the body could not be read');
    default:
      return typeof err.status === 'number' && err.status >= 400 && err.status < 500
        ? new CartularyError('malformed', err.message ?? 'bad request')
        : null;
  }
}

function bodyParsers(route: Route) {
  if (!route.body) return [];
  const accepted = [route.body.cose ? COSE : null, route.body.json ? 'application/json' : null].filter(Boolean) as string[];
  return [
    (req: Request, _res: Response, next: NextFunction) => {
      if (!req.is(accepted)) {
        next(new CartularyError('unsupported-media-type', `this route takes ${accepted.join(' or ')}, not ${req.get('content-type') ?? 'a body without a content type'}`));
        return;
      }
      next();
    },
    ...(route.body.cose ? [express.raw({ type: COSE, limit: MAX_STATEMENT_BYTES })] : []),
    ...(route.body.json ? [express.json({ type: 'application/json', limit: route.body.jsonLimit ?? JSON_LIMIT, strict: true })] : []),
  ];
}

export function createApp(handlers: Handlers, opts: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Express would hash every response body (POSTs too) for an ETag; entries and proofs are
  // addressed by index and size, so clients need no validators to cache them.
  app.set('etag', false);
  app.set('query parser', 'simple');
  if (opts.trustProxy !== undefined) app.set('trust proxy', opts.trustProxy);
  // Every answer, in one layer (each layer costs every request): helmet's protections, and
  // CORS — reads are public, so a verifier running in a browser can fetch proofs from
  // anywhere — both fixed headers made in one step (fixed-headers.ts), a preflight still
  // answered by cors itself; and the request's id and log line.
  const corsFor = cors({ methods: ['GET', 'HEAD'], exposedHeaders: ['X-Request-Id'] });
  const fixed = [...record(helmet({ contentSecurityPolicy: { useDefaults: false, directives: CSP } })), ...record(corsFor)];
  const logged = requestLog(opts.logger);
  app.use((req: Request, res: Response, next: NextFunction) => {
    apply(res, fixed);
    logged(req, res);
    if (req.method === 'OPTIONS') corsFor(req, res, next);
    else next();
  });
  const limiter = (limit: number, what: string) =>
    rateLimit({
      windowMs: 60_000,
      limit,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      handler: (_req, res) => sendProblem(res, new CartularyError('rate-limited', `more than ${limit} ${what} in a minute from this client; slow down`)),
    });
  // A batch may carry MAX_BATCH_STATEMENTS submissions: batches are limited so that they
  // bring no more statements a minute than single submissions may. A check costs far more
  // than a read (a fingerprint search, evidence bundles), and anyone may ask one: its own
  // limit, so nobody can hog the search (issue 10.2).
  const limiters = {
    write: limiter(opts.rateLimit, 'submissions'),
    batch: limiter(Math.max(1, Math.floor(opts.rateLimit / MAX_BATCH_STATEMENTS)), 'batches'),
    check: limiter(opts.checkRateLimit, 'checks'),
    // A work's bundle carries its whole chain: as costly as a check for a much-licensed work.
    evidence: limiter(opts.checkRateLimit, "works' evidence bundles"),
  };
  // Two batches read and sequenced at a time (the sequencer takes them one after the other in
  // any case), eight more in line: their bodies together stay under ~0.5 GB at the largest.
  const admitted: Partial<Record<NonNullable<Route['limit']>, RequestHandler>> = { batch: admission('batches', 2, 8) };

  // The API first: every request walks the layers in order until one answers, and the API
  // answers nearly all of them.
  for (const route of ROUTES) {
    // A wildcard parameter (`*path`) arrives as its segments.
    const wildcard = route.path.includes('*');
    const limits = route.limit ? [limiters[route.limit], ...(admitted[route.limit] ? [admitted[route.limit]!] : [])] : [];
    app[route.method](route.path, ...limits, ...bodyParsers(route), async (req: Request, res: Response, next: NextFunction) => {
      try {
        if (!route.fromHead) handlers.assertTrusted();
        const body = Buffer.isBuffer(req.body) ? new Uint8Array(req.body) : req.body;
        const given = req.params as Record<string, string | string[]>;
        const params = wildcard ? Object.fromEntries(Object.entries(given).map(([k, v]) => [k, Array.isArray(v) ? v.join('/') : v])) : (given as Record<string, string>);
        const reply = await route.run(handlers, { params, query: req.query, body });
        res.status(reply.status);
        if (reply.headers) res.set(reply.headers);
        if (reply.body instanceof Uint8Array) res.type(reply.contentType ?? 'application/octet-stream').send(Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength));
        else if (reply.contentType) res.type(reply.contentType).send(reply.body);
        else sendJson(res, reply.body);
      } catch (e) {
        next(e);
      }
    });
  }

  // The explorer: a static page and its assets. Until it is built, `/` is a plain 404.
  app.get('/', (_req, res, next) => {
    res.sendFile(join(opts.webDir, 'index.html'), (err) => err && next(new CartularyError('not-found', 'the explorer is not built here (npm run build)')));
  });
  app.use('/assets', express.static(opts.webDir, { index: false, fallthrough: true, maxAge: 0 }));

  const openapi = openApiDocument(opts.version);
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.use(pagesRouter());

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(new CartularyError('not-found', `no route ${req.method} ${req.path}`));
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const known = err instanceof CartularyError ? err : fromBodyParser(err as { type?: string });
    if (!known) opts.logger.error({ err, reqId: res.locals.reqId, method: req.method, url: req.originalUrl }, 'unhandled error');
    if (res.headersSent) return;
    sendProblem(res, known ?? err);
  });
  return app;
}
