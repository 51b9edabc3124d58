/** POST /v1/statements/batch (DESIGN §7, issue 11.5) on a real server: each statement judged alone, in order. */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { toBase64 } from '../src/core/bytes.js';
import { parseVerifierKey } from '../src/core/checkpoint.js';
import { verifyReceipt, type Receipt } from '../src/core/receipt.js';
import { MAX_BATCH_BODY, MAX_STATEMENT_BASE64 } from '../src/http/schemas.js';
import { party, stmt } from './helpers.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';

let servers: ServerFixture[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

type Result = (Receipt & { status: 200 | 201 }) | { type: string; status: number; detail: string };

async function batch(s: ServerFixture, statements: string[]) {
  const res = await s.post('/v1/statements/batch', JSON.stringify({ statements }), 'application/json');
  return { status: res.status, body: (await res.json()) as { results: Result[]; detail?: string } };
}

const size = async (s: ServerFixture) => ((await (await s.get('/v1/log')).json()) as { size: number }).size;

describe('a batch of statements', () => {
  it('answers each in its place: receipts for the good, problems for the bad, the first receipt for repeats', async () => {
    const s = await serverFixture();
    servers.push(s);
    const [alice, bob, mallory] = [party(), party(), party()];
    const earlierBytes = stmt.register(alice);
    const earlier = (await (await s.submit(earlierBytes)).json()) as Receipt;
    const fresh = stmt.register(bob);
    const forged = stmt.register(alice);
    forged[forged.length - 1]! ^= 1; // the last byte of the signature
    const statements = [
      toBase64(fresh),
      'not base64!',
      toBase64(forged),
      toBase64(stmt.transfer(mallory, earlier.id, mallory.id)), // not the owner
      toBase64(fresh), // the same statement again, in the same batch
      toBase64(earlierBytes), // already in the log
      toBase64(stmt.license(alice, earlier.id, bob.id)),
    ];
    const before = await size(s);
    const { status, body } = await batch(s, statements);
    expect(status).toBe(200);
    expect(body.results.map((r) => r.status)).toEqual([201, 400, 401, 403, 200, 200, 201]);
    const [first, , , , again, old] = body.results as Receipt[];
    expect(again).toMatchObject({ id: first!.id, index: first!.index });
    expect(old).toMatchObject({ id: earlier.id, index: earlier.index });
    expect((body.results[3] as { detail: string }).detail).toMatch(/only the owner/);
    // Exactly the two new statements were appended, and their receipts verify.
    expect(await size(s)).toBe(before + 2);
    const key = parseVerifierKey(s.verifierKey);
    for (const r of body.results.filter((r): r is Receipt & { status: 201 } => r.status === 201)) {
      const entry = (await (await s.get(`/v1/entries/${r.index}`)).json()) as { leaf: string };
      verifyReceipt(r, Uint8Array.from(Buffer.from(entry.leaf, 'base64')), key);
    }
    // The whole batch again: every statement is now a repeat or the same refusal; nothing is appended.
    const replay = await batch(s, statements);
    expect(replay.body.results.map((r) => r.status)).toEqual([200, 400, 401, 403, 200, 200, 200]);
    expect(await size(s)).toBe(before + 2);
  });

  it('refuses an empty batch, one over 1,000 statements, and a body of the wrong shape, appending nothing', async () => {
    const s = await serverFixture();
    servers.push(s);
    const one = toBase64(stmt.register(party()));
    for (const statements of [[], Array.from({ length: 1001 }, () => one)]) {
      const { status, body } = await batch(s, statements);
      expect(status).toBe(400);
      expect(body.detail).toMatch(/statements/);
    }
    const res = await s.post('/v1/statements/batch', JSON.stringify({ statement: one }), 'application/json');
    expect(res.status).toBe(400);
    expect(await size(s)).toBe(0);
  });

  it('reads two batches at a time with others in line, a freed place going first to a client holding none; turns away the rest with 503 and Retry-After; refuses what cannot be a batch unread', async () => {
    const s = await serverFixture({ rateLimit: 1_000_000, trustProxy: 1 });
    servers.push(s);
    const { hostname, port } = new URL(s.url);
    const body = () => JSON.stringify({ statements: [toBase64(stmt.register(party()))] });
    const answered: string[] = [];
    // A batch from `client` (the proxy's header names it): its headers and all of its body, or only the start until `finish`.
    const send = (name: string, client: string, whole: boolean) =>
      new Promise<{ finish: () => void; answer: Promise<string> }>((ok) => {
        const text = body();
        const socket = connect(Number(port), hostname, () => {
          socket.write(`POST /v1/statements/batch HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Forwarded-For: ${client}\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\n\r\n${whole ? text : text.slice(0, 10)}`);
          let got = '';
          socket.on('data', (d: Buffer) => (got += d.toString()));
          const answer = new Promise<string>((done) => socket.on('close', () => { answered.push(name); done(got.split('\r\n')[0]!); }));
          ok({ finish: () => socket.write(text.slice(10)), answer });
        });
      });
    const settle = () => new Promise((r) => setTimeout(r, 300));
    // Client A: two batches read (their bodies held back), four in line, the most one client may wait with.
    const [a1, a2] = [await send('A1', '10.0.0.1', false), await send('A2', '10.0.0.1', false)];
    const waiting = [];
    for (let i = 3; i <= 6; i++) waiting.push(await send(`A${i}`, '10.0.0.1', true));
    await settle();
    const turned = await fetch(`${s.url}/v1/statements/batch`, { method: 'POST', body: body(), headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.0.0.1' } });
    expect(turned.status).toBe(503);
    expect(turned.headers.get('retry-after')).toBe('1');
    expect(((await turned.json()) as { detail: string }).detail).toMatch(/2 batches are being taken and 4 wait already/);
    // Client B joins the line behind A's four; when one of A's batches ends, B's goes first.
    const b1 = await send('B1', '10.0.0.2', true);
    await settle();
    a1.finish();
    expect(await a1.answer).toBe('HTTP/1.1 200 OK');
    expect(await b1.answer).toBe('HTTP/1.1 200 OK');
    expect(answered).toEqual(['A1', 'B1']);
    a2.finish();
    for (const w of [a2, ...waiting]) expect(await w.answer).toBe('HTTP/1.1 200 OK');
    expect(await size(s)).toBe(7);

    // An item longer than any statement, and a body longer than any batch, are refused before anything is judged.
    const long = await batch(s, ['A'.repeat(MAX_STATEMENT_BASE64 + 1)]);
    expect([long.status, long.body.detail]).toEqual([400, expect.stringMatching(/statements/)]);
    const huge = await s.post('/v1/statements/batch', ' '.repeat(MAX_BATCH_BODY + 1), 'application/json');
    expect(huge.status).toBe(413);
    expect(await size(s)).toBe(7);
  });

  it('counts against the write rate limit as the statements it may carry', async () => {
    const s = await serverFixture({ rateLimit: 1000 }); // one batch a minute
    servers.push(s);
    expect((await batch(s, [toBase64(stmt.register(party()))])).status).toBe(200);
    const second = await batch(s, [toBase64(stmt.register(party()))]);
    expect(second.status).toBe(429);
    expect(await size(s)).toBe(1);
  });
});
