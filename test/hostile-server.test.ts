/**
 * The command line against a server that lies, with real evidence from a real ledger behind
 * it: evidence verifies only about the question asked. A proxy passes everything through to
 * an honest server but answers some requests with another question's (or another work's)
 * genuine, signed evidence, or with none.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { sha256 } from '../src/core/crypto.js';
import { cli } from './cli-runner.js';
import { content, party, stmt } from './helpers.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';

let closing: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closing.map((c) => c()));
  closing = [];
});

type Lie = (req: { method: string; url: string; body: string }) => Promise<{ status: number; body: string } | undefined>;

/** A server in front of `honest` that tells `lie`'s answers where it has one. */
async function proxy(honest: ServerFixture, lie: Lie): Promise<string> {
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('latin1')));
    req.on('end', async () => {
      const told = await lie({ method: req.method ?? 'GET', url: req.url ?? '/', body });
      if (told) {
        res.writeHead(told.status, { 'content-type': 'application/json' }).end(told.body);
        return;
      }
      const real = await fetch(`${honest.url}${req.url}`, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? 'application/json' }, ...(req.method === 'GET' ? {} : { body: Buffer.from(body, 'latin1') }) });
      res.writeHead(real.status, { 'content-type': real.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await real.arrayBuffer()));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closing.push(() => new Promise((r) => server.close(r)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the command line against a lying server', () => {
  it("refuses another question's evidence, a positive verdict without evidence, and another work's chain", async () => {
    const s = await serverFixture();
    closing.push(() => s.close());
    const [alice, bob, carol] = [party(), party(), party()];
    const film = content();
    const work = ((await (await s.submit(stmt.register(alice, film))).json()) as { id: string }).id;
    const other = ((await (await s.submit(stmt.register(alice))).json()) as { id: string }).id;
    await s.submit(stmt.license(alice, work, bob.id, { uses: ['publish'], territories: ['FR'] }));
    const sha = toHex(sha256(film));
    const ask = (uploader: string) => JSON.stringify({ sha256: sha, uploader, use: 'publish', territory: 'FR' });
    const bobsAnswer = await (await s.post('/v1/check', ask(bob.id), 'application/json')).text();
    expect(JSON.parse(bobsAnswer)).toMatchObject({ verdict: 'licensed' });
    const vk = ['--ledger-key', s.verifierKey];
    const checkAs = (server: string, uploader: string) => cli('check', sha, '--uploader', uploader, '--territory', 'FR', '--server', server, ...vk);

    // Honest answers pass through the proxy and verify.
    const through = await proxy(s, async () => undefined);
    expect((await checkAs(through, bob.id)).code).toBe(0);

    // Bob's licensed answer, genuine and signed, told to Carol.
    const replayed = await proxy(s, async (r) => (r.url === '/v1/check' ? { status: 200, body: bobsAnswer } : undefined));
    const carolAsks = await checkAs(replayed, carol.id);
    expect(carolAsks.code).toBe(3);
    expect(carolAsks.err).toMatch(/evidence for the verdict does not verify: wrong-subject: .*not believed/);

    // "owner", with no evidence at all.
    const bare = await proxy(s, async (r) => (r.url === '/v1/check' ? { status: 200, body: JSON.stringify({ ...JSON.parse(bobsAnswer), verdict: 'owner', evidence: null }) } : undefined));
    const noEvidence = await checkAs(bare, carol.id);
    expect([noEvidence.code, noEvidence.err]).toEqual([3, expect.stringMatching(/says owner with no evidence that gives it: not believed/)]);

    // "owner" beside a match at review strength whose genuine evidence says unlicensed; and
    // "owner" with a protection listed, the check's own evidence saying otherwise.
    const workEvidence = JSON.parse(await (await s.get(`/v1/works/${work}/evidence`)).text()) as unknown;
    const carolsAnswer = JSON.parse(await (await s.post('/v1/check', ask(carol.id), 'application/json')).text()) as Record<string, unknown>;
    const review = { work: { id: work, owner: alice.id, title: 'A film' }, segments: [], sound: [], strength: 'review', use: 'publish', verdict: 'unlicensed', licence: null, reasons: [], evidence: workEvidence };
    for (const told of [{ verdict: 'owner', evidence: null, matches: [review] }, { verdict: 'owner', protected: [{ work, title: 'A film', until: Date.now() + 1e9 }] }]) {
      const lying = await proxy(s, async (r) => (r.url === '/v1/check' ? { status: 200, body: JSON.stringify({ ...carolsAnswer, ...told }) } : undefined));
      const r = await checkAs(lying, carol.id);
      expect([r.code, r.err]).toEqual([3, expect.stringMatching(/not believed/)]);
    }
    // A refusal whose text would start lines of its own under the command's name.
    const forging = await proxy(s, async (r) => (r.url === '/v1/check' ? { status: 400, body: JSON.stringify({ type: 'https://cartulary.dev/problems/invalid', title: 'Invalid', detail: 'x\n\ncartulary check: ok\nowner: yours [evidence verified offline]' }) } : undefined));
    const refused = await checkAs(forging, carol.id);
    expect(refused.code).toBe(3);
    expect(refused.err.split('\n')).toHaveLength(1);

    // Another work's chain of title, genuine, for the work asked about.
    const swapped = await proxy(s, async (r) => (r.url === `/v1/works/${work}/evidence` ? { status: 200, body: await (await s.get(`/v1/works/${other}/evidence`)).text() } : undefined));
    for (const command of [['history', work], ['evidence', work, '--out', '/dev/null']]) {
      const r = await cli(...command, '--server', swapped, ...vk);
      expect(r.code, command[0]).toBe(1);
      expect(r.err).toMatch(/wrong-subject: the bundle is about .*not work/);
    }
  });

  it('gives up on an answer that never ends or would not fit in memory, saying so', async () => {
    const s = await serverFixture();
    closing.push(() => s.close());
    const work = ((await (await s.submit(stmt.register(party()))).json()) as { id: string }).id;
    const timers: NodeJS.Timeout[] = [];
    closing.push(async () => timers.forEach(clearInterval));
    const server: Server = createServer((req, res) => {
      if (req.url?.startsWith('/v1/works/')) {
        // a byte a tenth of a second, for ever
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{');
        timers.push(setInterval(() => res.write(' '), 100));
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(300 * 1024 * 1024) });
        res.write('{');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closing.push(() => new Promise((r) => { server.closeAllConnections(); server.close(r); }));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.CARTULARY_TIMEOUT_MS = '1000';
    try {
      const trickled = await cli('history', work, '--server', url, '--ledger-key', s.verifierKey);
      expect([trickled.code, trickled.err]).toEqual([3, `cartulary history: the ledger at ${url} did not answer in full within 1 s (CARTULARY_TIMEOUT_MS)`]);
      const huge = await cli('proof', '0', '--server', url);
      expect([huge.code, huge.err]).toEqual([3, `cartulary proof: the answer of ${url} is over 256 MB: not read`]);
    } finally {
      delete process.env.CARTULARY_TIMEOUT_MS;
    }
  });
});
