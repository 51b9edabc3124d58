/**
 * An HTTP fuzzer for a running ledger: random and mutated bodies, content types, header
 * sizes, query strings and path segments, sent to every route over a real socket. It
 * checks that no answer is a 5xx, every error is problem+json, nothing hangs, and the tree
 * grows by exactly the number of statements the server accepted.
 */
import fc from 'fast-check';
import { request } from 'node:http';
import { toBase64 } from '../../src/core/bytes.js';
import { signStatement } from '../../src/core/cose.js';
import { randomSeed, sha256, signerFromSeed } from '../../src/core/crypto.js';

export interface FuzzReport {
  requests: number;
  accepted: number;
  serverErrors: string[];
  notProblemJson: string[];
  hung: string[];
  clientRefused: number;
  sizeBefore: number;
  sizeAfter: number;
}

interface Req {
  method: string;
  path: string;
  contentType: string | null;
  body: Uint8Array | null;
  fill: number;
}

const signer = signerFromSeed(randomSeed());
const valid = () => signStatement({ type: 'register', issuedAt: Date.now(), sha256: sha256(randomSeed()), size: 1, mediaType: 'video/mp4', title: 'fuzz' }, signer);
const pool = Array.from({ length: 16 }, valid);
const hex = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 0, maxLength: 70 });
const segment = fc.oneof(hex, fc.string({ maxLength: 20 }), fc.constantFrom('0', '-1', '1e9', '99999999999999999999', '..', '%00', '%ff', 'null'));
const queryValue = fc.oneof(fc.nat().map(String), fc.integer().map(String), hex, fc.string({ maxLength: 12 }), fc.constantFrom('', '1.5', 'NaN', '0x10'));

const pathArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('/checkpoint', '/v1/log', '/healthz', '/openapi.json', '/v1/statements', '/v1/check'),
  segment.map((s) => `/v1/entries/${encodeURIComponent(s)}`),
  segment.map((s) => `/v1/entries/${encodeURIComponent(s)}/evidence`),
  segment.map((s) => `/v1/statements/${encodeURIComponent(s)}`),
  segment.map((s) => `/v1/works/${encodeURIComponent(s)}`),
  segment.map((s) => `/v1/works/${encodeURIComponent(s)}/evidence`),
  segment.map((s) => `/v1/parties/${encodeURIComponent(s)}`),
  fc.tuple(fc.constantFrom('/v1/proofs/inclusion', '/v1/proofs/consistency', '/v1/works'), fc.array(fc.tuple(fc.constantFrom('index', 'size', 'from', 'to', 'sha256', 'x'), queryValue), { maxLength: 4 })).map(
    ([p, q]) => `${p}?${q.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`,
  ),
  fc.array(segment, { maxLength: 4 }).map((s) => `/${s.map(encodeURIComponent).join('/')}`),
);

const mutate = (bytes: Uint8Array) =>
  fc.oneof(
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
      const out = new Uint8Array(bytes);
      out.set([out[i % out.length]! ^ x], i % out.length);
      return out;
    }),
    fc.nat().map((n) => bytes.subarray(0, n % bytes.length)),
    fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([i, ins]) => new Uint8Array([...bytes.subarray(0, i % bytes.length), ...ins, ...bytes.subarray(i % bytes.length)])),
  );

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const bodyArb: fc.Arbitrary<Uint8Array | null> = fc.oneof(
  fc.constant(null),
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom(...pool).chain(mutate),
  fc.constantFrom(...pool).chain(mutate).map((b) => json({ statement: toBase64(b) })),
  fc.jsonValue({ maxDepth: 3 }).map(json),
  fc.record({ sha256: hex, uploader: hex, use: fc.string({ maxLength: 12 }), territory: fc.string({ maxLength: 3 }), at: fc.oneof(fc.integer(), fc.double()) }, { requiredKeys: [] }).map(json),
  fc.nat({ max: 200_000 }).map((n) => new Uint8Array(n)),
);

export const requestArb: fc.Arbitrary<Req> = fc.record({
  method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'),
  path: pathArb,
  contentType: fc.option(fc.constantFrom('application/cose', 'application/json', 'text/plain', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', 'application/cose; x=1', '*/*', '')),
  body: bodyArb,
  fill: fc.oneof(fc.constant(0), fc.constant(0), fc.nat({ max: 40_000 })),
});

function send(url: string, r: Req, timeoutMs: number): Promise<{ status: number; type: string; body: string } | 'hung' | 'refused'> {
  return new Promise((resolve) => {
    const target = new URL(url);
    let req;
    try {
      req = request({
        host: target.hostname,
        port: target.port,
        method: r.method,
        path: r.path,
        headers: {
          ...(r.contentType !== null ? { 'content-type': r.contentType } : {}),
          ...(r.fill ? { 'x-fill': 'a'.repeat(r.fill) } : {}),
          // Framed explicitly: for GET, HEAD, DELETE and OPTIONS Node's client would send a body unframed.
          ...(r.body ? { 'content-length': String(r.body.length) } : {}),
          connection: 'close',
        },
      });
    } catch {
      resolve('refused'); // the client itself will not send it (an invalid path or header)
      return;
    }
    const timer = setTimeout(() => {
      req.destroy();
      resolve('hung');
    }, timeoutMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString() });
      });
      res.on('error', () => resolve('refused'));
    });
    req.on('error', () => {
      clearTimeout(timer);
      resolve('refused');
    });
    req.end(r.body ? Buffer.from(r.body) : undefined);
  });
}

const treeSize = async (url: string) => ((await (await fetch(`${url}/v1/log`)).json()) as { size: number }).size;

export async function fuzz(url: string, count: number, opts: { concurrency?: number; seed?: number } = {}): Promise<FuzzReport> {
  const requests = fc.sample(requestArb, { numRuns: count, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) });
  // A few untouched valid statements among them: the accounting must count them.
  for (let i = 0; i < requests.length; i += 250) requests[i] = { method: 'POST', path: '/v1/statements', contentType: 'application/cose', body: valid(), fill: 0 };
  const report: FuzzReport = { requests: 0, accepted: 0, serverErrors: [], notProblemJson: [], hung: [], clientRefused: 0, sizeBefore: await treeSize(url), sizeAfter: 0 };
  const describe = (r: Req) => `${r.method} ${r.path.slice(0, 80)} (${r.contentType ?? 'no type'}, ${r.body?.length ?? 0} bytes)`;
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const r = requests[next++]!;
      const res = await send(url, r, 10_000);
      report.requests++;
      if (res === 'hung') report.hung.push(describe(r));
      else if (res === 'refused') report.clientRefused++;
      else {
        if (res.status >= 500) report.serverErrors.push(`${res.status} for ${describe(r)}: ${res.body.slice(0, 200)}`);
        if (res.status === 201 && r.path === '/v1/statements') report.accepted++;
        if (res.status >= 400 && r.method !== 'HEAD') {
          let ok = res.type.startsWith('application/problem+json');
          try {
            ok &&= (JSON.parse(res.body) as { status: number }).status === res.status;
          } catch {
            ok = false;
          }
          if (!ok) report.notProblemJson.push(`${res.status} ${res.type} for ${describe(r)}`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 16 }, worker));
  report.sizeAfter = await treeSize(url);
  return report;
}

export interface PressureReport {
  /** idle sockets held open during the run */
  flood: number;
  /** requests made by well-behaved clients meanwhile, and the slowest answer */
  served: number;
  failed: number;
  slowestMs: number;
  /** whether the trickled request was answered or cut off, and after how long */
  slowClient: string;
}

/**
 * A slow client trickling a body, and a flood of idle connections, while ordinary clients
 * keep asking: the server must keep answering them promptly.
 */
export async function pressure(url: string, opts: { flood: number; trickleMs: number; requests: number }): Promise<PressureReport> {
  const { connect } = await import('node:net');
  const target = new URL(url);
  const sockets = await Promise.all(
    Array.from({ length: opts.flood }, () => new Promise<import('node:net').Socket>((ok) => {
      const s = connect(Number(target.port), target.hostname, () => ok(s));
      s.on('error', () => ok(s));
    })),
  );
  const slowStarted = Date.now();
  const slow = new Promise<string>((ok) => {
    const s = connect(Number(target.port), target.hostname);
    const body = Buffer.from(signStatement({ type: 'party', issuedAt: Date.now(), name: 'slow' }, signer));
    s.on('error', () => ok(`reset after ${Date.now() - slowStarted} ms`));
    let answer = '';
    s.on('data', (d: Buffer) => (answer += d.toString()));
    s.on('close', () => ok(answer ? `answered ${answer.split('\r\n')[0]} after ${Date.now() - slowStarted} ms` : `closed after ${Date.now() - slowStarted} ms`));
    s.write(`POST /v1/statements HTTP/1.1\r\nHost: x\r\nContent-Type: application/cose\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    let i = 0;
    const step = Math.max(1, Math.floor(opts.trickleMs / body.length));
    const timer = setInterval(() => {
      if (i >= body.length || s.destroyed) return clearInterval(timer);
      s.write(body.subarray(i, i + 1));
      i++;
    }, step);
  });
  let served = 0;
  let failed = 0;
  let slowestMs = 0;
  const until = Date.now() + opts.trickleMs;
  const client = async () => {
    while (Date.now() < until || served + failed < opts.requests) {
      const t0 = Date.now();
      try {
        const res = await fetch(`${url}/v1/log`, { signal: AbortSignal.timeout(5_000) });
        await res.text();
        if (res.ok) served++;
        else failed++;
      } catch {
        failed++;
      }
      slowestMs = Math.max(slowestMs, Date.now() - t0);
      if (served + failed >= opts.requests && Date.now() >= until) break;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await Promise.all([client(), client(), client(), client()]);
  const slowClient = await slow;
  for (const s of sockets) s.destroy();
  return { flood: sockets.length, served, failed, slowestMs, slowClient };
}
