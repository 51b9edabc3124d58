/**
 * The ledger kept in PostgreSQL, on real processes: kill -9 under load loses nothing; one
 * writer and read-only nodes share the database; a second writer is refused; a read-only
 * node refuses a checkpoint whose history differs from the one it served.
 */
import { describe, expect, it } from 'vitest';
import { toHex, uintBE } from '../src/core/bytes.js';
import { signCheckpoint } from '../src/core/checkpoint.js';
import { randomSeed, sha256 } from '../src/core/crypto.js';
import { encodeFrames, FINGERPRINT_KIND } from '../src/core/fingerprint.js';
import { CompactRange } from '../src/core/merkle.js';
import { loadOrCreateKey } from '../src/store/key-files.js';
import { crashTest } from '../scripts/lib/crash.js';
import { runCli, startChildServer, type ChildServer } from '../scripts/lib/child-server.js';
import { party, stmt, tempDir } from './helpers.js';
import { freshDatabase, postgresMissing, sql } from './postgres.js';

const suite = postgresMissing ? describe.skip : describe;
if (postgresMissing) describe('the ledger in PostgreSQL', () => it.skip(`skipped: ${postgresMissing}`, () => undefined));

const post = (url: string, body: Uint8Array) => fetch(`${url}/v1/statements`, { method: 'POST', body: Buffer.from(body), headers: { 'content-type': 'application/cose' } });
const json = async (url: string) => (await fetch(url)).json() as Promise<Record<string, unknown>>;

/** Waits until the node serves a tree of at least `size` entries (it polls the store every 200 ms). */
async function following(node: ChildServer, size: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const log = await json(`${node.url}/v1/log`);
    if ((log.size as number) >= size) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the read-only node did not reach size ${size}`);
}

const stop = async (s: ChildServer) => {
  s.child.kill('SIGTERM');
  await s.exited;
};

suite('the ledger in PostgreSQL', () => {
  it('3 rounds of SIGKILL under load lose no receipt, and audit passes after each', async () => {
    const dir = await tempDir();
    const store = await freshDatabase();
    const report = await crashTest({ rounds: 3, clients: 8, minMs: 200, maxMs: 700, dataDir: `${dir}/data`, keysDir: `${dir}/keys`, store });
    expect(report.failures).toEqual([]);
    expect(report).toMatchObject({ rounds: 3, lost: 0, audits: 3 });
    expect(report.receipts).toBeGreaterThan(20);
  }, 180_000);

  it('one writer and a read-only node share it: the node follows, serves reads and checks, and answers writes with 503 naming the writer; a second writer is refused', async () => {
    const dir = await tempDir();
    const store = await freshDatabase();
    const writer = await startChildServer(`${dir}/data`, `${dir}/keys`, { args: ['--store', store] });
    const reader = await startChildServer(`${dir}/unused`, `${dir}/keys`, { args: ['--store', store, '--read-only'] });
    try {
      const alice = party();
      const film = Buffer.from(randomSeed());
      const registered = await post(writer.url, stmt.register(alice, film, { title: '流浪地球之远征' }));
      expect(registered.status).toBe(201);
      const work = ((await registered.json()) as { id: string; index: number });
      await following(reader, work.index + 1);

      // Reads are the writer's, byte for byte.
      expect(await json(`${reader.url}/v1/works/${work.id}`)).toEqual(await json(`${writer.url}/v1/works/${work.id}`));
      const proof = `/v1/proofs/inclusion?index=${work.index}&size=${work.index + 1}`;
      expect(await json(`${reader.url}${proof}`)).toEqual(await json(`${writer.url}${proof}`));
      // Checks by content and by title find it (the node indexed the new work's title).
      const check = await fetch(`${reader.url}/v1/check`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ uploader: party().id, territory: 'FR', sha256: toHex(sha256(film)), use: 'publish', title: '《流浪地球之远征》3分钟看完' }),
      });
      const verdict = (await check.json()) as { verdict: string; titles: Array<{ work: { id: string } }> };
      expect(verdict.verdict).toBe('unlicensed');
      expect(verdict.titles.map((t) => t.work.id)).toContain(work.id);

      // Writes go to the writer, which the node names.
      const refused = await post(reader.url, stmt.register(alice));
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { detail: string }).detail).toContain(writer.url);
      const batch = await fetch(`${reader.url}/v1/statements/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ statements: [Buffer.from(stmt.register(alice)).toString('base64')] }) });
      expect(batch.status).toBe(503);
      expect((await fetch(`${reader.url}/readyz`)).status).toBe(200);

      // Later writes reach the node too: a licence, and a registration whose fingerprint
      // frames the node indexes, so a re-encoded clip of it is found there.
      const licensed = await post(writer.url, stmt.license(alice, work.id, party().id));
      expect(licensed.status).toBe(201);
      const frames = Array.from({ length: 12 }, (_, i) => ({ timeMs: i * 1000, hash: sha256(randomSeed()).subarray(0, 16) }));
      const filmed = await post(writer.url, stmt.register(alice, Buffer.from(randomSeed()), { title: 'Frames', fingerprints: [{ kind: FINGERPRINT_KIND, value: encodeFrames(frames) }] }));
      const framed = (await filmed.json()) as { id: string; index: number };
      await following(reader, framed.index + 1);
      expect(((await json(`${reader.url}/v1/works/${work.id}`)) as { licenceCount: number }).licenceCount).toBe(1);
      const clip = frames.slice(3, 9).map((f) => ({ timeMs: f.timeMs - 3000, hash: f.hash }));
      const byFrames = await fetch(`${reader.url}/v1/check`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ uploader: party().id, territory: 'FR', fingerprints: { kind: FINGERPRINT_KIND, frames: Buffer.from(encodeFrames(clip)).toString('base64') } }),
      });
      const found = (await byFrames.json()) as { verdict: string; matches: Array<{ work: { id: string } }> };
      expect(found.matches.map((m) => m.work.id)).toEqual([framed.id]);
      expect(found.verdict).toBe('unlicensed');

      // A second writer on the same database is refused, naming the reason.
      const second = await runCli(['serve', '--port', '0', '--data', `${dir}/data2`, '--keys', `${dir}/keys`, '--store', store]);
      expect(second.code).not.toBe(0);
      expect(second.output).toMatch(/in use by another process/);
    } finally {
      await Promise.all([stop(writer), stop(reader)]);
    }
  }, 90_000);

  it('a read-only node refuses a checkpoint of a different history, signed with the ledger key, and keeps serving the last good one', async () => {
    const dir = await tempDir();
    const store = await freshDatabase();
    const writer = await startChildServer(`${dir}/data`, `${dir}/keys`, { args: ['--store', store] });
    const alice = party();
    for (let i = 0; i < 3; i++) expect((await post(writer.url, stmt.register(alice))).status).toBe(201);
    await stop(writer);
    const reader = await startChildServer(`${dir}/unused`, `${dir}/keys`, { args: ['--store', store, '--read-only'] });
    try {
      const good = await (await fetch(`${reader.url}/checkpoint`)).text();
      expect((await json(`${reader.url}/v1/log`)).size).toBe(3);

      // Someone with the database and the key rewrites entry 0 and signs a longer tree over it.
      const { signer } = await loadOrCreateKey(`${dir}/keys`, 'ledger');
      const origin = (await json(`${reader.url}/v1/log`)).origin as string;
      const leaves = (await sql(store, `SELECT v FROM cartulary_kv WHERE k >= $1 AND k < $2 ORDER BY k`, [Buffer.from('N\x00'), Buffer.from('N\x01')])).rows.map((r) => r.v as Buffer);
      expect(leaves).toHaveLength(3);
      const forged = [sha256(randomSeed()), leaves[1]!, leaves[2]!, sha256(randomSeed())];
      const tree = CompactRange.fromStore(0, () => []);
      for (const leaf of forged) {
        for (const { id, hash } of tree.append(leaf)) {
          const k = Buffer.concat([Buffer.from('N'), Buffer.from([id.level]), Buffer.from(uintBE(id.index, 8))]);
          await sql(store, `INSERT INTO cartulary_kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v`, [k, Buffer.from(hash)]);
        }
      }
      const note = signCheckpoint({ origin, size: 4, rootHash: tree.root() }, signer);
      await sql(store, `INSERT INTO cartulary_kv (k, v) VALUES ($1, $2)`, [Buffer.concat([Buffer.from('C'), Buffer.from(uintBE(4, 8))]), Buffer.from(note)]);

      let ready = 200;
      for (let i = 0; i < 50 && ready === 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ready = (await fetch(`${reader.url}/readyz`)).status;
      }
      expect(ready).toBe(503);
      const health = await fetch(`${reader.url}/healthz`);
      expect(health.status).toBe(503);
      expect(((await health.json()) as { error: string }).error).toMatch(/refused the store's checkpoint of size 4: .*consisten/);
      expect(await (await fetch(`${reader.url}/checkpoint`)).text()).toBe(good);
      expect((await json(`${reader.url}/v1/log`)).size).toBe(3);
      // and says so in its log (flushed within a second)
      for (let i = 0; i < 30 && !/refused the store's checkpoint/.test(reader.output()); i++) await new Promise((r) => setTimeout(r, 100));
      expect(reader.output()).toMatch(/refused the store's checkpoint of size 4/);
    } finally {
      await stop(reader);
    }
  }, 60_000);
});
