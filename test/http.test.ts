/** Every route of DESIGN §7 over real HTTP, success and error, against a real server and store. */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { toBase64, toHex } from '../src/core/bytes.js';
import { openCheckpoint, parseVerifierKey } from '../src/core/checkpoint.js';
import { sha256 } from '../src/core/crypto.js';
import { hashLeaf, verifyConsistency, verifyInclusion } from '../src/core/merkle.js';
import { proofHashes, verifyReceipt, type Receipt } from '../src/core/receipt.js';
import { STATUS } from '../src/http/problem.js';
import { ROUTES } from '../src/http/routes.js';
import { openApiPath } from '../src/http/openapi.js';
import { verifyBundle } from '../src/verify/index.js';
import { content, party, stmt } from './helpers.js';
import { serversClosedAfterEach } from './server-fixture.js';

const server = serversClosedAfterEach();

async function expectProblem(res: Response, status: number, detail?: RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await res.json()) as { type: string; title: string; status: number; detail: string };
  expect(body.status).toBe(status);
  expect(body.type).toMatch(/^\/problems\/[a-z-]+$/);
  expect(body.title.length).toBeGreaterThan(0);
  if (detail) expect(body.detail).toMatch(detail);
  expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+|node_modules|\/work\//);
  return body;
}

describe('HTTP API', () => {
  it('serves every route of DESIGN §7', async () => {
    const s = await server();
    const [alice, bob] = [party(), party()];
    const file = content();
    const reg = await s.submit(stmt.register(alice, file));
    expect(reg.status).toBe(201);
    const receipt = (await reg.json()) as Receipt;
    // JSON form of a submission
    const licRes = await s.post('/v1/statements', JSON.stringify({ statement: toBase64(stmt.license(alice, receipt.id, bob.id)) }), 'application/json');
    expect(licRes.status).toBe(201);
    const licence = (await licRes.json()) as Receipt;
    await s.submit(stmt.party(alice, 'Alice Films'));
    const key = parseVerifierKey(s.verifierKey);

    const cpText = await (await s.get('/checkpoint')).text();
    expect(openCheckpoint(cpText, key).size).toBe(3);
    const log = (await (await s.get('/v1/log')).json()) as { size: number; rootHash: string; checkpoint: string; verifierKey: string; origin: string };
    expect(log).toMatchObject({ size: 3, checkpoint: cpText, verifierKey: s.verifierKey, origin: 'cartulary.local/ledger' });
    expect(log.rootHash).toBe(toHex(openCheckpoint(cpText, key).rootHash));

    const entry = (await (await s.get('/v1/entries/0')).json()) as { leaf: string; id: string; type: string; signer: string; payload: { sha256: string } };
    expect(entry).toMatchObject({ id: receipt.id, type: 'register', signer: alice.id, payload: { sha256: toHex(sha256(file)) } });
    verifyReceipt(receipt, Uint8Array.from(Buffer.from(entry.leaf, 'base64')), key);
    expect(await (await s.get(`/v1/statements/${licence.id}`)).json()).toMatchObject({ index: 1, type: 'license' });

    const inc = (await (await s.get('/v1/proofs/inclusion?index=0&size=3')).json()) as { hashes: string[] };
    verifyInclusion(0, 3, hashLeaf(Uint8Array.from(Buffer.from(entry.leaf, 'base64'))), proofHashes(inc.hashes), openCheckpoint(cpText, key).rootHash);
    const cons = (await (await s.get('/v1/proofs/consistency?from=1&to=3')).json()) as { hashes: string[] };
    verifyConsistency(1, 3, openCheckpoint(receipt.checkpoint, key).rootHash, openCheckpoint(cpText, key).rootHash, proofHashes(cons.hashes));

    const works = (await (await s.get(`/v1/works?sha256=${toHex(sha256(file))}`)).json()) as Array<{ id: string }>;
    expect(works.map((w) => w.id)).toEqual([receipt.id]);
    const work = await (await s.get(`/v1/works/${receipt.id}`)).json();
    expect(work).toMatchObject({ id: receipt.id, owner: alice.id, registrant: alice.id, status: 'registered', contestedBy: [], history: [0, 1], licences: [{ id: licence.id, standing: 'standing' }] });
    expect(verifyBundle(await (await s.get(`/v1/works/${receipt.id}/evidence`)).json(), s.verifierKey)).toMatchObject({ ok: true });
    expect(verifyBundle(await (await s.get('/v1/entries/2/evidence')).json(), s.verifierKey)).toMatchObject({ ok: true });

    expect(await (await s.get(`/v1/parties/${alice.id}`)).json()).toMatchObject({ profile: { name: 'Alice Films' }, works: [receipt.id], licences: [] });
    expect(await (await s.get(`/v1/parties/${bob.id}`)).json()).toMatchObject({ profile: null, works: [], licences: [licence.id] });

    const check = await s.post('/v1/check', JSON.stringify({ sha256: toHex(sha256(file)), uploader: bob.id, use: 'clip', territory: 'FR' }), 'application/json');
    const verdict = (await check.json()) as { verdict: string; licence: { id: string }; evidence: unknown };
    expect(verdict).toMatchObject({ verdict: 'licensed', licence: { id: licence.id } });
    expect(verifyBundle(verdict.evidence, s.verifierKey)).toMatchObject({ ok: true, verdict: 'licensed' });

    expect(await (await s.get('/healthz')).json()).toEqual({ ok: true, size: 3 });
    const cors = await s.get('/v1/log');
    expect(cors.headers.get('access-control-allow-origin')).toBe('*');
    expect(cors.headers.get('x-content-type-options')).toBe('nosniff');
    // HEAD: the GET's headers, its length, no body.
    const got = await s.get('/v1/proofs/inclusion?index=1&size=3');
    const head = await fetch(`${s.url}/v1/proofs/inclusion?index=1&size=3`, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-type'), head.headers.get('content-length')]).toEqual([200, 'application/json; charset=utf-8', String((await got.text()).length)]);
    expect(await head.text()).toBe('');
  });

  it('answers a repeat with 200 and the first receipt', async () => {
    const s = await server();
    const bytes = stmt.register(party());
    const first = await s.submit(bytes);
    const again = await s.submit(bytes);
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(await again.json()).toEqual(await first.json());
  });

  it('answers every error with problem+json, the right status and a precise detail, and changes nothing', async () => {
    const s = await server();
    const [alice, bob] = [party(), party()];
    const file = content();
    const work = ((await (await s.submit(stmt.register(alice, file))).json()) as Receipt).id;
    const sizeBefore = s.ledger.sequencer.size;

    await expectProblem(await s.submit(Uint8Array.of(0xa1, 0x01)), 400, /does not decode/);
    await expectProblem(await s.submit(Uint8Array.of(0xa1, 0x61, 0x61, 0x01)), 400, /COSE_Sign1 must be an array/);
    await expectProblem(await s.post('/v1/statements', '{"statement": 12}', 'application/json'), 400, /body\.statement/);
    await expectProblem(await s.post('/v1/statements', '{"statement": "not base64!"}', 'application/json'), 400, /base64/);
    await expectProblem(await s.post('/v1/statements', '{not json', 'application/json'), 400, /not valid JSON/);
    const tampered = stmt.register(alice);
    tampered.set([tampered.at(-1)! ^ 1], tampered.length - 1);
    await expectProblem(await s.submit(tampered), 401, /signature does not verify/);
    await expectProblem(await s.submit(stmt.transfer(bob, work, bob.id)), 403, /only the owner/);
    await expectProblem(await s.submit(stmt.transfer(alice, toHex(sha256(Uint8Array.of(5))), bob.id)), 404, /not in the ledger/);
    const conflict = await expectProblem(await s.submit(stmt.register(alice, file)), 409, new RegExp(work));
    expect(conflict).toMatchObject({ work, field: 'payload.sha256' });
    await expectProblem(await s.post('/v1/statements', Buffer.alloc(40_000), 'application/cose'), 413);
    await expectProblem(await s.post('/v1/statements', 'hello', 'text/plain'), 415, /application\/cose or application\/json/);
    await expectProblem(await s.post('/v1/check', '{}', 'text/plain'), 415);
    await expectProblem(await s.submit(stmt.register(alice, undefined, { issuedAt: Date.now() + 3_600_000 })), 400, /issuedAt/);

    await expectProblem(await s.get('/v1/entries/99'), 404);
    await expectProblem(await s.get('/v1/entries/-1'), 400, /natural number/);
    await expectProblem(await s.get('/v1/entries/1e3'), 400);
    await expectProblem(await s.get(`/v1/works/${'0'.repeat(64)}`), 404);
    await expectProblem(await s.get('/v1/works/xyz'), 400, /64 lowercase hex/);
    await expectProblem(await s.get('/v1/works?sha256=abc'), 400);
    await expectProblem(await s.get('/v1/proofs/inclusion?index=5&size=2'), 404, /beyond/);
    await expectProblem(await s.get('/v1/proofs/inclusion?index=1&size=1'), 400, /less than/);
    await expectProblem(await s.get('/v1/proofs/inclusion?index=0&index=1&size=1'), 400);
    await expectProblem(await s.get('/v1/proofs/consistency?from=2&to=1'), 400, /must not be greater/);
    await expectProblem(await s.get('/v1/proofs/consistency?from=1&to=9'), 404, /beyond/);
    await expectProblem(await s.get(`/v1/parties/${bob.id}`), 404);
    await expectProblem(await s.post('/v1/check', JSON.stringify({ sha256: toHex(sha256(file)), uploader: bob.id, use: 'steal', territory: 'XX' }), 'application/json'), 400, /body\.use.*body\.territory/s);
    const patched = (patches: string) => JSON.stringify({ fingerprints: { kind: 'phash-dhash/v1', frames: Buffer.alloc(20).toString('base64'), patches }, uploader: bob.id, territory: 'FR' });
    await expectProblem(await s.post('/v1/check', patched(Buffer.alloc(30).toString('base64')), 'application/json'), 400, /body\.fingerprints\.patches: fingerprint records must be a multiple of 20 bytes/);
    await expectProblem(await s.post('/v1/check', patched('A'.repeat(96_004)), 'application/json'), 400, /body\.fingerprints\.patches/);
    await expectProblem(await s.get('/no/such/route'), 404);
    expect(s.ledger.sequencer.size).toBe(sizeBefore);
  });

  it('rate-limits submissions per client with 429', async () => {
    const s = await server({ rateLimit: 3 });
    for (let i = 0; i < 3; i++) expect((await s.submit(stmt.register(party()))).status).toBe(201);
    const limited = await s.submit(stmt.register(party()));
    await expectProblem(limited, 429, /slow down/);
    expect((await s.get('/v1/log')).status).toBe(200); // reads are not limited
  });

  it('publishes an OpenAPI 3.1 document that redocly lint and swagger-parser both pass, with every route and status', async () => {
    const s = await server();
    const doc = (await (await s.get('/openapi.json')).json()) as {
      openapi: string;
      servers: unknown[];
      paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers.length).toBeGreaterThan(0);
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Problem', 'Receipt', 'Work', 'Licence', 'CheckResult']));
    expect(JSON.stringify(doc)).not.toContain('#/$defs/');
    const operationIds = new Set<string>();
    for (const r of ROUTES) {
      const op = doc.paths[openApiPath(r.path)]?.[r.method];
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      operationIds.add(op!.operationId);
      for (const status of [...Object.keys(r.statuses ?? { 200: '' }), ...r.errors.map(String)]) expect(op!.responses[status], `${r.path} ${status}`).toBeDefined();
    }
    expect(operationIds.size).toBe(ROUTES.length);
    expect(Object.keys(doc.paths['/v1/statements']!.post!.responses)).toEqual(expect.arrayContaining(['200', '201']));

    // Both validators, on the document exactly as served.
    const file = `${s.dir}/openapi.json`;
    await writeFile(file, JSON.stringify(doc));
    const lint = spawnSync(process.execPath, ['node_modules/@redocly/cli/bin/cli.js', 'lint', '--format', 'json', file], {
      encoding: 'utf8',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
      timeout: 60_000,
    });
    const report = JSON.parse(lint.stdout.slice(lint.stdout.indexOf('{'))) as { totals: { errors: number; warnings: number }; problems: unknown[] };
    expect(report.totals, JSON.stringify(report.problems, null, 1)).toMatchObject({ errors: 0, warnings: 0 });
    expect(lint.status).toBe(0);
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toMatchObject({ openapi: '3.1.0' });
  }, 90_000);

  it('serves the API reference at /docs from its own origin, and a page for every problem type', async () => {
    const s = await server();
    const docs = await s.get('/docs');
    expect(docs.status).toBe(200);
    const csp = docs.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    const html = await docs.text();
    expect(html).toContain('<redoc spec-url="/openapi.json">');
    // every script the page loads is served here, none from elsewhere
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts).toEqual(['/docs/redoc.standalone.js']);
    const bundle = await s.get(scripts[0]!);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);

    // A problem's type resolves, against the server's own address, to a page describing it.
    const problem = (await (await s.get(`/v1/works/${'0'.repeat(64)}`)).json()) as { type: string; title: string };
    const page = await fetch(new URL(problem.type, s.url));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const text = await page.text();
    expect(text).toContain(`<h1>${problem.title}</h1>`);
    expect(text).toMatch(/HTTP status <strong>404<\/strong>/);
    const index = await (await s.get('/problems')).text();
    for (const code of Object.keys(STATUS)) {
      expect(index).toContain(`href="/problems/${code}"`);
      expect((await s.get(`/problems/${code}`)).status).toBe(200);
    }
    await expectProblem(await s.get('/problems/no-such-problem'), 404);

    // The format specification the OpenAPI document cites is served where it says.
    const doc = (await (await s.get('/openapi.json')).json()) as { externalDocs: { url: string } };
    const format = await fetch(new URL(doc.externalDocs.url, s.url));
    expect(format.status).toBe(200);
    expect(await format.text()).toMatch(/^# Cartulary format specification\n[\s\S]*## 10\. Evidence bundles and attestations/);
  });

  it('keeps every receipt valid across a restart between writes', async () => {
    const first = await server();
    const receipts: Receipt[] = [];
    for (let i = 0; i < 5; i++) receipts.push((await (await first.submit(stmt.register(party()))).json()) as Receipt);
    await first.close();
    const second = await server({ dir: first.dir });
    for (let i = 0; i < 5; i++) receipts.push((await (await second.submit(stmt.register(party()))).json()) as Receipt);
    const key = parseVerifierKey(second.verifierKey);
    const latest = openCheckpoint(await (await second.get('/checkpoint')).text(), key);
    expect(latest.size).toBe(10);
    for (const r of receipts) {
      const entry = (await (await second.get(`/v1/entries/${r.index}`)).json()) as { leaf: string };
      const { checkpoint } = verifyReceipt(r, Uint8Array.from(Buffer.from(entry.leaf, 'base64')), key);
      const cons = (await (await second.get(`/v1/proofs/consistency?from=${checkpoint.size}&to=10`)).json()) as { hashes: string[] };
      verifyConsistency(checkpoint.size, 10, checkpoint.rootHash, latest.rootHash, proofHashes(cons.hashes));
    }
  });
});
