import { CartularyError } from '../core/errors.js';
import { partyArg } from './client.js';
import { closedOnSignal, dataDir, keysDir, ledgerFolders, storeUrl, str, type Command } from './command.js';
import { policyArg } from './policy-file.js';

export function portOf(value: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port > 65535) throw new CartularyError('invalid', `port "${value}" is not a TCP port (0–65535)`);
  return port;
}

/**
 * `--trust-proxy`: a hop count, or the proxies' addresses and subnets (comma-separated, or
 * loopback / linklocal / uniquelocal). `true` would let any client pick its own address and
 * so its own rate limit: refused.
 */
async function trustProxyOf(value: string | undefined): Promise<number | string | undefined> {
  if (value === undefined || value === '') return undefined;
  if (/^\d{1,2}$/.test(value)) return Number(value);
  if (value === 'true') throw new CartularyError('invalid', '--trust-proxy true would let every client choose its own address; give the number of proxies in front (1) or their addresses');
  const { default: express } = await import('express');
  try {
    express().set('trust proxy', value);
  } catch (e) {
    throw new CartularyError('invalid', `--trust-proxy "${value}": ${(e as Error).message}; give a hop count or addresses and subnets, comma-separated`);
  }
  return value;
}

export const serve: Command = {
  name: 'serve',
  summary: 'serve the ledger over HTTP (creates keys/ledger.key and data/ on first start)',
  usage:
    'cartulary serve [--port 8080] [--host 127.0.0.1] [--data DIR | --store postgres://… [--read-only] [--index-dir DIR] [--public-url URL]] [--keys DIR] [--origin NAME] [--registrar PARTY] [--rate-limit N] [--check-rate-limit N] [--trust-proxy HOPS|ADDRS] [--witness-policy FILE] [--json]\n' +
    '  --index-dir: where a node on PostgreSQL (the writer or a read-only node: one folder each) keeps its fingerprint indexes, title filter and Merkle node cache between starts (locked while it runs), instead of building them at every start\n' +
    '  environment: PORT, HOST, CARTULARY_DATA, CARTULARY_STORE, CARTULARY_INDEX_DIR, CARTULARY_KEYS, CARTULARY_TRUST_PROXY, LOG_LEVEL (flags win)',
  example: 'cartulary serve --port 9000 --origin registry.example.org/ledger   (in a container: HOST=0.0.0.0 cartulary serve)',
  options: { ...ledgerFolders, port: { type: 'string' }, host: { type: 'string' }, 'rate-limit': { type: 'string' }, 'check-rate-limit': { type: 'string' }, 'trust-proxy': { type: 'string' }, 'witness-policy': { type: 'string' }, 'read-only': { type: 'boolean' }, 'index-dir': { type: 'string' }, 'public-url': { type: 'string' } },
  async run(v, _p, io) {
    // The server's modules load only for `serve`, so every client command starts faster.
    const { startServer, DEFAULT_CHECK_RATE_LIMIT, DEFAULT_RATE_LIMIT } = await import('../http/server.js');
    const perMinute = (option: string, fallback: number, what: string) => {
      const n = str(v[option]) === undefined ? fallback : Number(str(v[option]));
      if (!Number.isInteger(n) || n < 1) throw new CartularyError('invalid', `--${option} must be a whole number of ${what} per minute`);
      return n;
    };
    const rateLimit = perMinute('rate-limit', DEFAULT_RATE_LIMIT, 'submissions');
    const checkRateLimit = perMinute('check-rate-limit', DEFAULT_CHECK_RATE_LIMIT, 'checks');
    const trustProxy = await trustProxyOf(str(v['trust-proxy']) ?? process.env.CARTULARY_TRUST_PROXY);
    const keys = keysDir(v);
    const indexDir = str(v['index-dir']) ?? (process.env.CARTULARY_INDEX_DIR || undefined);
    const running = await startServer({
      port: portOf(str(v.port) ?? process.env.PORT ?? '8080'),
      host: str(v.host) ?? process.env.HOST ?? '127.0.0.1',
      dataDir: dataDir(v),
      keysDir: keys,
      ...(storeUrl(v) ? { store: storeUrl(v) as string } : {}),
      ...(v['read-only'] ? { readOnly: true } : {}),
      ...(indexDir ? { indexDir } : {}),
      ...(str(v['public-url']) ? { publicUrl: str(v['public-url']) as string } : {}),
      origin: str(v.origin),
      ...(str(v.registrar) === undefined ? {} : { registrar: await partyArg(str(v.registrar), v, '--registrar') }),
      rateLimit,
      ...(trustProxy !== undefined ? { trustProxy } : {}),
      ...(str(v['witness-policy']) ? { witnessPolicy: await policyArg(str(v['witness-policy']) as string) } : {}),
      checkRateLimit,
    });
    const stopped = closedOnSignal(() => running.close(), io);
    const { ledger } = running;
    const started = { url: running.url, origin: ledger.origin, verifierKey: ledger.sequencer.verifierKey, registrar: ledger.registrar, size: ledger.sequencer.size, createdKey: ledger.createdKey ? `${keys}/ledger.key` : null };
    if (v.json) io.err(JSON.stringify(started));
    else {
      io.err(`${started.createdKey ? `created ledger key ${started.createdKey}; ` : ''}ledger "${started.origin}" with ${started.size} entries${v['read-only'] ? ' (read-only: following the writer)' : ''}`);
      io.err(`verifier key: ${started.verifierKey}`);
      io.err(`registrar:    ${started.registrar}`);
      io.err(`listening on ${started.url}`);
    }
    await stopped;
    return 0;
  },
};
