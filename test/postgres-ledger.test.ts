/**
 * The ledger kept in PostgreSQL, on real processes: kill -9 under load loses nothing; one
 * writer and read-only nodes share the database; a second writer is refused; a read-only
 * node refuses a checkpoint whose history differs from the one it served, and with an index
 * folder keeps its indexes and that refusal across restarts.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { toHex, uintBE } from '../src/core/bytes.js';
import { formatVerifierKey, signCheckpoint } from '../src/core/checkpoint.js';
import { checkCosignedCheckpoint, parsePolicy } from '../src/core/policy.js';
import { randomSeed, sha256 } from '../src/core/crypto.js';
import { encodeFrames, FINGERPRINT_KIND } from '../src/core/fingerprint.js';
import { CompactRange } from '../src/core/merkle.js';
import { CartularyError } from '../src/core/errors.js';
import type { Follower } from '../src/store/follower.js';
import { createKeyPair, loadOrCreateKey } from '../src/store/key-files.js';
import { READ_TIMEOUT_MS } from '../src/store/postgres-kv.js';
import { DEFAULT_ORIGIN, openFollowerLedger, openLedger } from '../src/store/ledger.js';
import { verifyBundle } from '../src/verify/index.js';
import { crashTest } from '../scripts/lib/crash.js';
import { runCli, startChildCommand, startChildServer, type ChildServer } from '../scripts/lib/child-server.js';
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

/** Waits until the node's log says `what` (its log is flushed within a second). */
async function logged(node: ChildServer, what: RegExp): Promise<void> {
  for (let i = 0; i < 30 && !what.test(node.output()); i++) await new Promise((r) => setTimeout(r, 100));
  expect(node.output()).toMatch(what);
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

  it('one writer and a read-only node share it: the node follows, serves reads and checks (asked right after a commit, it checks the new checkpoint there and then), and answers writes with 503 naming the writer; a second writer is refused', async () => {
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
      // Asked at once, before the node's next poll: the store already shows the licence, and
      // the node checks the new checkpoint there and then rather than cite one that lacks it
      // (a 500 for its check and the work's evidence, until it polled).
      for (let i = 0; i < 3; i++) {
        const more = await post(writer.url, stmt.license(alice, work.id, party().id));
        expect(more.status).toBe(201);
        const [asked, evidence] = await Promise.all([
          fetch(`${reader.url}/v1/check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ uploader: party().id, territory: 'FR', sha256: toHex(sha256(film)), use: 'publish' }) }),
          fetch(`${reader.url}/v1/works/${work.id}/evidence`),
        ]);
        expect([asked.status, evidence.status]).toEqual([200, 200]);
        const bundle = await evidence.json();
        expect(verifyBundle(bundle, (await json(`${writer.url}/v1/log`)).verifierKey as string, { about: { work: work.id } })).toMatchObject({ ok: true });
        expect((bundle as { claims: { licences: unknown[] } }).claims.licences).toHaveLength(i + 2);
      }
      const frames = Array.from({ length: 12 }, (_, i) => ({ timeMs: i * 1000, hash: sha256(randomSeed()).subarray(0, 16) }));
      const filmed = await post(writer.url, stmt.register(alice, Buffer.from(randomSeed()), { title: 'Frames', fingerprints: [{ kind: FINGERPRINT_KIND, value: encodeFrames(frames) }] }));
      const framed = (await filmed.json()) as { id: string; index: number };
      await following(reader, framed.index + 1);
      expect(((await json(`${reader.url}/v1/works/${work.id}`)) as { licenceCount: number }).licenceCount).toBe(4);
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

  it('a read-only node with an index folder reopens its indexes at a restart and catches up with what the writer added meanwhile; a store put back to an earlier tree is refused until the folder is removed', async () => {
    const dir = await tempDir();
    const store = await freshDatabase();
    const writer = await startChildServer(`${dir}/data`, `${dir}/keys`, { args: ['--store', store] });
    const readerArgs = ['--store', store, '--read-only', '--index-dir', `${dir}/reader-index`];
    let reader = await startChildServer(`${dir}/unused`, `${dir}/keys`, { args: readerArgs });
    const alice = party();
    const framesOf = () => Array.from({ length: 12 }, (_, i) => ({ timeMs: i * 1000, hash: sha256(randomSeed()).subarray(0, 16) }));
    const register = async (title: string, frames: ReturnType<typeof framesOf>) => {
      const res = await post(writer.url, stmt.register(alice, Buffer.from(randomSeed()), { title, fingerprints: [{ kind: FINGERPRINT_KIND, value: encodeFrames(frames) }] }));
      expect(res.status).toBe(201);
      return ((await res.json()) as { id: string; index: number });
    };
    // What a node finds of a clip of `frames`, and of a title.
    const finds = async (node: ChildServer, frames: ReturnType<typeof framesOf>, title: string) => {
      const clip = frames.slice(3, 9).map((f) => ({ timeMs: f.timeMs - 3000, hash: f.hash }));
      const res = await fetch(`${node.url}/v1/check`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ uploader: party().id, territory: 'FR', title: `《${title}》解说`, fingerprints: { kind: FINGERPRINT_KIND, frames: Buffer.from(encodeFrames(clip)).toString('base64') } }),
      });
      const body = (await res.json()) as { matches: Array<{ work: { id: string } }>; titles: Array<{ work: { id: string } }> };
      return { matches: body.matches.map((m) => m.work.id), titles: body.titles.map((t) => t.work.id) };
    };
    try {
      const [firstFrames, laterFrames] = [framesOf(), framesOf()];
      const first = await register('深海迷航', firstFrames);
      await following(reader, first.index + 1);
      await logged(reader, /fingerprint indexes built from the records/);
      await stop(reader);
      expect(reader.output()).not.toMatch(/indexes not saved/);

      // The writer goes on while the node is down.
      const later = await register('星际边城', laterFrames);
      reader = await startChildServer(`${dir}/unused`, `${dir}/keys`, { args: readerArgs });
      await logged(reader, new RegExp(`fingerprint indexes reopened as saved at size ${first.index + 1}, caught up to ${later.index + 1}`));
      expect((await json(`${reader.url}/v1/log`)).size).toBe(later.index + 1);
      expect(await finds(reader, firstFrames, '深海迷航')).toEqual({ matches: [first.id], titles: [first.id] });
      expect(await finds(reader, laterFrames, '星际边城')).toEqual({ matches: [later.id], titles: [later.id] });
      // and follows on as before
      const last = await register('归途', framesOf());
      await following(reader, last.index + 1);
      expect((await finds(reader, framesOf(), '归途')).titles).toEqual([last.id]);
      // One node a folder: a second node given the same one is refused while the first runs.
      const second = await runCli(['serve', '--port', '0', '--keys', `${dir}/keys`, ...readerArgs]);
      expect(second.code).not.toBe(0);
      expect(second.output).toMatch(/index folder .* is in use by another process/);

      // The database put back as it was one entry earlier (its latest checkpoint gone): the
      // node's watermark refuses to serve less than it served, until its folder is removed.
      await Promise.all([stop(writer), stop(reader)]);
      await sql(store, 'DELETE FROM cartulary_kv WHERE k = $1', [Buffer.concat([Buffer.from('C'), Buffer.from(uintBE(last.index + 1, 8))])]);
      const rolledBack = await runCli(['serve', '--port', '0', '--keys', `${dir}/keys`, ...readerArgs]);
      expect(rolledBack.code).not.toBe(0);
      expect(rolledBack.output).toMatch(new RegExp(`smaller than the ${last.index + 1} of the tree this node served before it stopped.*remove this node's index folder`, 's'));
      await rm(`${dir}/reader-index`, { recursive: true });
      reader = await startChildServer(`${dir}/unused`, `${dir}/keys`, { args: readerArgs });
      expect((await json(`${reader.url}/v1/log`)).size).toBe(last.index);
    } finally {
      await Promise.all([stop(writer), stop(reader)]);
    }
  }, 90_000);

  it('a read-only node whose database cannot answer for a moment keeps serving and moves on at a later poll, not refusing', async () => {
    const dir = await tempDir();
    const store = await freshDatabase();
    const writer = await openLedger({ dataDir: `${dir}/data`, keysDir: `${dir}/keys`, store });
    const node = await openFollowerLedger({ dataDir: `${dir}/unused`, keysDir: `${dir}/keys`, store }, { intervalMs: 60_000 });
    const follower = node.sequencer as Follower;
    try {
      await writer.sequencer.submit(stmt.register(party()));
      const read = node.store.read.bind(node.store);
      node.store.read = () => Promise.reject(new CartularyError('unavailable', 'the database is restarting'));
      await expect(follower.poll()).rejects.toThrow(/the database is restarting/);
      expect(follower.ready).toBe(true);
      expect(follower.size).toBe(0); // still the empty tree it started from
      node.store.read = read;
      await follower.poll();
      expect(follower.size).toBe(1);
      expect(follower.failure).toBeNull();
    } finally {
      await node.close();
      await writer.close();
    }
  });

  it("a read-only node given the witness policy relays the cosignatures the writer collected: its checkpoint and its proofs meet the policy; a quorum note forged into the store is not relayed", async () => {
    const dir = await tempDir();
    const store = await freshDatabase();
    const ledgerKey = formatVerifierKey(DEFAULT_ORIGIN, (await createKeyPair(`${dir}/keys`, 'ledger')).publicKey);
    const witness = await startChildCommand(['witness', '--port', '0', '--data', `${dir}/w/data`, '--keys', `${dir}/w/keys`, '--name', 'court.example/w', '--log', ledgerKey]);
    const policyText = `log ${ledgerKey}\nwitness court ${(await (await fetch(`${witness.url}/witness-key`)).text()).trim()} ${witness.url}\nquorum court\n`;
    await writeFile(`${dir}/policy`, policyText);
    const writer = await startChildServer(`${dir}/data`, `${dir}/keys`, { args: ['--store', store, '--witness-policy', `${dir}/policy`] });
    const reader = await startChildServer(`${dir}/unused`, `${dir}/keys`, { args: ['--store', store, '--read-only', '--witness-policy', `${dir}/policy`] });
    try {
      const { index } = (await (await post(writer.url, stmt.register(party()))).json()) as { index: number };
      const policy = parsePolicy(policyText);
      let met = false;
      for (let i = 0; i < 100 && !met; i++) {
        const check = checkCosignedCheckpoint(await (await fetch(`${reader.url}/checkpoint`)).text(), policy);
        met = check.quorum && check.checkpoint.size === index + 1;
        if (!met) await new Promise((r) => setTimeout(r, 100));
      }
      // (the node served the ledger's signature alone, and every proof of it failed the policy)
      expect(met).toBe(true);
      await writeFile(`${dir}/proof.txt`, await (await fetch(`${reader.url}/v1/entries/${index}/tlog-proof`)).text());
      const verified = await runCli(['verify', `${dir}/proof.txt`, '--witness-policy', `${dir}/policy`]);
      expect(verified.code, verified.output).toBe(0);

      // Someone with the database puts a note with a forged cosignature line where the writer
      // keeps its quorum checkpoint: the node's checkpoint goes on meeting the policy.
      const relayed = await (await fetch(`${reader.url}/checkpoint`)).text();
      const witnessKey = policy.witnesses[0]!.key;
      const forged = `${relayed.split('\n— court.example/w ')[0]}\n— court.example/w ${Buffer.from([...witnessKey.keyId, ...new Uint8Array(72)]).toString('base64')}\n`;
      await sql(store, `UPDATE cartulary_kv SET v = $1 WHERE k = $2`, [Buffer.from(forged), Buffer.from('Mquorum-checkpoint')]);
      await new Promise((r) => setTimeout(r, 1500)); // past the node's next reading of it
      expect(checkCosignedCheckpoint(await (await fetch(`${reader.url}/checkpoint`)).text(), policy).quorum).toBe(true);
    } finally {
      await Promise.all([stop(writer), stop(reader), stop(witness)]);
    }
  }, 60_000);

  it('a read that waits on a locked table is cut short and answered 503, never left hanging; readiness says the store does not answer', async () => {
    const dir = await tempDir();
    const store = await freshDatabase();
    const writer = await startChildServer(`${dir}/data`, `${dir}/keys`, { args: ['--store', store] });
    const locker = new pg.Client({ connectionString: store });
    await locker.connect();
    try {
      expect((await post(writer.url, stmt.register(party()))).status).toBe(201);
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE cartulary_kv IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const [res, ready] = await Promise.all([fetch(`${writer.url}/v1/entries/0`, { signal: AbortSignal.timeout(READ_TIMEOUT_MS + 10_000) }), fetch(`${writer.url}/readyz`)]);
      // readiness says so too, for a load balancer (it said 200 while every read hung)
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { error: string }).error).toMatch(/the store did not answer within/);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { detail: string }).detail).toMatch(/statement timeout/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(READ_TIMEOUT_MS - 500);
      await locker.query('ROLLBACK');
      expect((await fetch(`${writer.url}/v1/entries/0`)).status).toBe(200);
      expect((await fetch(`${writer.url}/readyz`)).status).toBe(200);
    } finally {
      await locker.end();
      await stop(writer);
    }
  }, 30_000);

  it('a read-only node whose watermark is damaged refuses to start, saying what to do', async () => {
    const dir = await tempDir();
    const store = await freshDatabase();
    const writer = await openLedger({ dataDir: `${dir}/data`, keysDir: `${dir}/keys`, store });
    const paths = { dataDir: `${dir}/unused`, keysDir: `${dir}/keys`, store, indexDir: `${dir}/reader-index` };
    try {
      await writer.sequencer.submit(stmt.register(party()));
      await (await openFollowerLedger(paths)).close();
      const file = `${dir}/reader-index/served.watermark`;
      const bytes = await readFile(file);
      expect(bytes.length).toBeGreaterThan(0);
      await writeFile(file, bytes.map((b) => b ^ 0x20));
      await expect(openFollowerLedger(paths)).rejects.toMatchObject({ code: 'corrupt', message: expect.stringMatching(/served\.watermark is damaged .* remove this node's index folder/) });
    } finally {
      await writer.close();
    }
  });

  it('a read-only node refuses a checkpoint of a different history, signed with the ledger key, keeps serving the last good one and answers nothing more from the store; restarted, it refuses to start over it, by its saved indexes and by its watermark alone', async () => {
    const dir = await tempDir();
    const store = await freshDatabase();
    const writer = await startChildServer(`${dir}/data`, `${dir}/keys`, { args: ['--store', store] });
    const alice = party();
    for (let i = 0; i < 3; i++) expect((await post(writer.url, stmt.register(alice))).status).toBe(201);
    await stop(writer);
    const readerArgs = ['--store', store, '--read-only', '--index-dir', `${dir}/reader-index`];
    const reader = await startChildServer(`${dir}/unused`, `${dir}/keys`, { args: readerArgs });
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
      // Nothing more is read from a store it no longer trusts: its records may be the forger's.
      const entry = await fetch(`${reader.url}/v1/entries/0`);
      expect(entry.status).toBe(503);
      expect(((await entry.json()) as { detail: string }).detail).toMatch(/refused the store's checkpoint of size 4.*answers nothing from the store until its operator has looked/);
      // and says so in its log (flushed within a second)
      await logged(reader, /refused the store's checkpoint of size 4/);

      // Its indexes, saved at the tree it served, make a restart check that tree first: the
      // rewritten nodes no longer give it, so the node does not start over the forgery. Without
      // them (as after a crash, which leaves none), its watermark refuses it alike.
      await stop(reader);
      const restarted = await runCli(['serve', '--port', '0', '--keys', `${dir}/keys`, ...readerArgs]);
      expect(restarted.code).not.toBe(0);
      expect(restarted.output).toMatch(/the stored Merkle nodes give root .* for size 3.*no longer holds the tree this node served when it last stopped.*remove this node's index folder/s);
      await rm(`${dir}/reader-index/fingerprint-index.state`);
      const again = await runCli(['serve', '--port', '0', '--keys', `${dir}/keys`, ...readerArgs]);
      expect(again.code).not.toBe(0);
      expect(again.output).toMatch(/the store's tree of size 4 does not extend the tree this node served before it stopped \(size 3\).*remove this node's index folder/s);
    } finally {
      await stop(reader);
    }
  }, 60_000);
});
