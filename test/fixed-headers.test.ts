/**
 * Fixed headers (src/http/fixed-headers.ts): what helmet and cors set, recorded once and
 * made in one step, is exactly what they set as middleware, over real HTTP; a middleware
 * that does not pass the request on at once is refused; and the ledger's server answers a
 * CORS preflight through cors itself, with the same protections as every other answer.
 */
import type { AddressInfo } from 'node:net';
import cors from 'cors';
import express from 'express';
import helmet from 'helmet';
import { afterEach, describe, expect, it } from 'vitest';
import { apply, record } from '../src/http/fixed-headers.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';

const headersOf = (res: Response) => {
  const out: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (!['date', 'content-length', 'etag', 'keep-alive', 'connection'].includes(name)) out[name] = value;
  });
  return out;
};

describe('fixed headers', () => {
  let server: ServerFixture | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('recorded once, are what helmet and cors set as middleware', async () => {
    const protections = helmet({ contentSecurityPolicy: { useDefaults: true, directives: { 'img-src': ["'self'", 'data:'] } } });
    const sharing = cors({ methods: ['GET'], exposedHeaders: ['X-Request-Id'] });
    const fixed = [...record(protections), ...record(sharing)];
    expect(fixed.map((c) => c.name.toLowerCase())).toEqual(expect.arrayContaining(['content-security-policy', 'x-content-type-options', 'strict-transport-security', 'x-powered-by', 'access-control-allow-origin']));
    const app = express();
    app.get('/as-middleware', protections, sharing, (_req, res) => void res.json({ ok: true }));
    app.get('/recorded', (_req, res, next) => (apply(res, fixed), next()), (_req, res) => void res.json({ ok: true }));
    const listening = app.listen(0, '127.0.0.1');
    await new Promise((ok) => listening.once('listening', ok));
    try {
      const url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
      const [a, b] = await Promise.all([fetch(`${url}/as-middleware`), fetch(`${url}/recorded`)]);
      expect(headersOf(b)).toEqual(headersOf(a));
      expect(b.headers.get('x-powered-by')).toBeNull(); // helmet's removal is recorded too
    } finally {
      listening.close();
    }
  });

  it('are not recorded from a middleware that does not pass the request on at once', () => {
    const preflight = cors({ methods: ['GET'] });
    expect(() => record(preflight, { method: 'OPTIONS', headers: { origin: 'https://example.org' } })).toThrow(/does not pass the request on/);
    expect(() => record((_req, _res, next) => void setTimeout(next, 1))).toThrow(/does not pass the request on/);
  });

  it("the ledger's server answers a preflight through cors, protected as every answer", async () => {
    server = await serverFixture();
    const read = await server.get('/v1/log');
    const preflight = await fetch(`${server.url}/v1/log`, { method: 'OPTIONS', headers: { origin: 'https://example.org', 'access-control-request-method': 'GET' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET,HEAD');
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    for (const name of ['content-security-policy', 'strict-transport-security', 'x-content-type-options', 'x-frame-options', 'access-control-expose-headers']) {
      expect(preflight.headers.get(name), name).toBe(read.headers.get(name));
      expect(read.headers.get(name), name).not.toBeNull();
    }
  });
});
