/**
 * A closed-loop HTTP load generator over keep-alive connections: `concurrency` clients
 * each send the next request as soon as the previous one is answered, for a fixed time.
 */
import { Agent, request } from 'node:http';

export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  body?: Buffer;
  contentType?: string;
}

export interface LoadResult {
  ok: number;
  errors: number;
  statuses: Record<number, number>;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  bodies: string[];
}

export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

export async function load(
  url: string,
  opts: { concurrency: number; durationMs: number; next: (i: number, client: number) => RequestSpec | undefined; keepBodies?: (status: number) => boolean },
): Promise<LoadResult> {
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const bodies: string[] = [];
  let ok = 0;
  let errors = 0;
  let i = 0;
  const started = performance.now();
  const deadline = started + opts.durationMs;
  const send = (spec: RequestSpec) =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = request(
        { agent, host: target.hostname, port: target.port, method: spec.method, path: spec.path, headers: spec.body ? { 'content-type': spec.contentType ?? 'application/json', 'content-length': spec.body.length } : {} },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            latencies.push(performance.now() - t0);
            const status = res.statusCode ?? 0;
            statuses[status] = (statuses[status] ?? 0) + 1;
            if (status < 400) ok++;
            else errors++;
            if (opts.keepBodies?.(status)) bodies.push(Buffer.concat(chunks).toString());
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(spec.body);
    });
  const client = async (c: number) => {
    while (performance.now() < deadline) {
      const spec = opts.next(i++, c);
      if (!spec) return;
      await send(spec);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, c) => client(c)));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { ok, errors, statuses, seconds, perSecond: ok / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? 0, bodies };
}
