/**
 * Witnesses (C2SP tlog-witness, tlog-cosignature/v1): the spec's own cosignature example,
 * the add-checkpoint rules one by one, and two real witness processes on loopback that
 * cosign a real ledger, refuse a fork signed with the same key forever, and keep their
 * state across a restart.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { startWitness } from '../src/witness/server.js';
import { afterEach, describe, expect, it } from 'vitest';
import { fromBase64, readUintBE, toBase64, toHex, utf8 } from '../src/core/bytes.js';
import { formatVerifierKey, openCheckpoint, parseVerifierKey, signCheckpoint, signNote, verifyNote } from '../src/core/checkpoint.js';
import { cosign, cosignedMessage, findCosignature, formatWitnessKey, parseWitnessKey } from '../src/core/cosignature.js';
import { randomSeed, sha256, signerFromSeed } from '../src/core/crypto.js';
import { EMPTY_ROOT } from '../src/core/merkle.js';
import { formatAddCheckpoint, judgeAddCheckpoint, parseAddCheckpoint } from '../src/core/witness.js';
import { startChildCommand, type ChildServer } from '../scripts/lib/child-server.js';
import { memoryTree, party, stmt, tempDir } from './helpers.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';
import { consistencyPlan, hashRanges, rootHash } from '../src/core/merkle.js';

describe('signed-note (the Go reference implementation\'s example, golang.org/x/mod/sumdb/note)', () => {
  const vkey = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
  const skey = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
  const text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const note = `${text}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

  it('derives the same key id and vkey, signs the same bytes, and verifies the note', () => {
    const seed = fromBase64(skey.split('+').slice(4).join('+'), 'skey').subarray(1);
    const signer = signerFromSeed(seed);
    expect(formatVerifierKey('PeterNeumann', signer.publicKey)).toBe(vkey);
    expect(signNote(text, 'PeterNeumann', signer)).toBe(note);
    expect(verifyNote(note, parseVerifierKey(vkey))).toBe(text);
    expect(() => verifyNote(note.replace('problem,', 'problem;'), parseVerifierKey(vkey))).toThrow('does not verify');
  });

  // Each line of the key cost a signature check: a witness took 567 forged lines in one
  // request (80–270 ms of CPU each), and forty such requests held a genuine one for 1.3 s.
  it("costs one signature check at most: the key's first line decides, as in Go's note.Open, and a note of more than 100 lines is refused unread", () => {
    const key = parseVerifierKey(vkey);
    const good = note.slice(text.length + 1);
    const forged = `\u2014 PeterNeumann ${toBase64(new Uint8Array([...key.keyId, ...new Uint8Array(64)]))}\n`;
    const other = `\u2014 SomeoneElse ${toBase64(randomSeed())}\n`;
    expect(verifyNote(`${text}\n${other.repeat(99)}${good}`, key)).toBe(text);
    expect(() => verifyNote(`${text}\n${forged}${good}`, key)).toThrow('signature does not verify');
    expect(() => verifyNote(`${text}\n${other.repeat(100)}${good}`, key)).toThrow('note has 101 signature lines; at most 100 are read');
  });
});

describe('tlog-cosignature/v1', () => {
  // The example of https://c2sp.org/tlog-cosignature: its signed message, and its cosignature line.
  const specBody = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
  const specLine = 'jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==';

  it("builds the spec example's signed message byte for byte, and reads the spec's line as key id ‖ time 1679315147 ‖ signature", () => {
    expect(new TextDecoder().decode(cosignedMessage(specBody, 1679315147))).toBe(
      'cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
    );
    const raw = fromBase64(specLine, 'line');
    expect(raw.length).toBe(4 + 8 + 64);
    expect(readUintBE(raw, 4, 8)).toBe(1679315147);
  });

  it('signs and verifies; a flipped bit, a wrong key or a log-type key id is not a cosignature', () => {
    const w = signerFromSeed(randomSeed());
    const key = parseWitnessKey(formatWitnessKey('witness.example/w1', w.publicKey));
    const log = signerFromSeed(randomSeed());
    const note = signCheckpoint({ origin: 'example.com/log', size: 3, rootHash: new Uint8Array(32).fill(9) }, log);
    const body = note.slice(0, note.indexOf('\n\n') + 1);
    const line = cosign(body, key.name, w, 1_700_000_000);
    expect(findCosignature(note + line, key)).toEqual({ witness: 'witness.example/w1', time: 1_700_000_000 });
    expect(findCosignature(note, key)).toBeNull();
    const raw = fromBase64(line.split(' ')[2]!.trim(), 'sig');
    raw[20] = (raw[20] as number) ^ 1;
    expect(() => findCosignature(`${note}— witness.example/w1 ${toBase64(raw)}\n`, key)).toThrow('does not verify');
    // the same key as a log key (type 0x01) has another key id, so the line is not its
    expect(toHex(parseVerifierKey(formatVerifierKey('witness.example/w1', w.publicKey)).keyId)).not.toBe(toHex(key.keyId));
    expect(() => parseWitnessKey(formatVerifierKey('witness.example/w1', w.publicKey))).toThrow('signature type 1');
  });
});

describe('add-checkpoint rules', () => {
  const log = signerFromSeed(randomSeed());
  const origin = 'example.com/log';
  const logs = new Map([[origin, parseVerifierKey(formatVerifierKey(origin, log.publicKey))]]);
  const leaves = Array.from({ length: 20 }, (_, i) => utf8(`leaf ${i}`));
  const { read } = memoryTree(leaves);
  const root = (n: number) => memoryTree(leaves.slice(0, n)).tree.root();
  const note = (n: number, r = root(n)) => signCheckpoint({ origin, size: n, rootHash: r }, log);
  const proof = (m: number, n: number) => hashRanges(consistencyPlan(m, n), read);
  const judge = (body: string, last?: { size: number; rootHash: Uint8Array }) => judgeAddCheckpoint(parseAddCheckpoint(body), logs, () => last);

  it.each([
    ['the first checkpoint, from 0', () => judge(formatAddCheckpoint({ oldSize: 0, proof: [], note: note(5) })), 200],
    ['an extension with its proof', () => judge(formatAddCheckpoint({ oldSize: 5, proof: proof(5, 12), note: note(12) }), { size: 5, rootHash: root(5) }), 200],
    ['a stale old size', () => judge(formatAddCheckpoint({ oldSize: 0, proof: [], note: note(12) }), { size: 5, rootHash: root(5) }), 409],
    ['a forged proof', () => judge(formatAddCheckpoint({ oldSize: 5, proof: proof(5, 12).map((h, i) => (i === 0 ? h.map((b, j) => (j === 0 ? b ^ 1 : b)) : h)), note: note(12) }), { size: 5, rootHash: root(5) }), 422],
    ['the same size, another root', () => judge(formatAddCheckpoint({ oldSize: 5, proof: [], note: note(5, root(6)) }), { size: 5, rootHash: root(5) }), 422],
    ['size 0 without the empty root', () => judge(formatAddCheckpoint({ oldSize: 0, proof: [], note: note(0, root(1)) })), 422],
    ['a proof from 0', () => judge(formatAddCheckpoint({ oldSize: 0, proof: proof(5, 12), note: note(12) })), 422],
    ['an old size beyond the checkpoint', () => judge(formatAddCheckpoint({ oldSize: 13, proof: [], note: note(12) })), 400],
    ['an unknown origin', () => judge(formatAddCheckpoint({ oldSize: 0, proof: [], note: signCheckpoint({ origin: 'other.example/log', size: 0, rootHash: EMPTY_ROOT }, log) })), 404],
    ['a signature by another key', () => judge(formatAddCheckpoint({ oldSize: 0, proof: [], note: signCheckpoint({ origin, size: 5, rootHash: root(5) }, signerFromSeed(randomSeed())) })), 403],
  ] as Array<[string, () => { status: number }, number]>)('%s', (_what, run, status) => {
    expect(run().status).toBe(status);
  });

  it('answers 409 with the size it holds as text/x.tlog.size, and refuses malformed bodies', () => {
    const out = judge(formatAddCheckpoint({ oldSize: 0, proof: [], note: note(12) }), { size: 5, rootHash: root(5) });
    expect(out).toMatchObject({ status: 409, body: '5\n', contentType: 'text/x.tlog.size' });
    expect(() => parseAddCheckpoint(`old 05\n\n${note(5)}`)).toThrow('old <size>');
    expect(() => parseAddCheckpoint(`old 5\nnot-base64\n\n${note(5)}`)).toThrow('base64');
    expect(() => parseAddCheckpoint(`old 5\n${'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n'.repeat(64)}\n${note(5)}`)).toThrow('63');
  });
});

describe('witness start-up', () => {
  it('refuses a damaged state file (starting afresh would let a fork through): unreadable, a size that is no count, a kept checkpoint of another tree; and a witness with no log to follow', async () => {
    const dir = await tempDir();
    const log = formatVerifierKey('example.com/log', signerFromSeed(randomSeed()).publicKey);
    const opts = { port: 0, host: '127.0.0.1', dataDir: `${dir}/data`, keysDir: `${dir}/keys`, name: 'w.example/w' };
    await expect(startWitness({ ...opts, logs: [] })).rejects.toThrow('at least one --log');
    await mkdir(`${dir}/data`, { recursive: true });
    await writeFile(`${dir}/data/witness-state.json`, '{"version":1,"logs":{"example.com/log":{"size":3,"rootHash":"not base64"');
    await expect(startWitness({ ...opts, logs: [log] })).rejects.toThrow('is damaged');
    // A size that is no count of entries started, then answered 409 with "Infinity" or "null"
    // for good; a kept checkpoint of another tree than the one recorded beside it.
    const signer = signerFromSeed(randomSeed());
    const note = signCheckpoint({ origin: 'example.com/log', size: 3, rootHash: sha256(utf8('tree')) }, signer);
    const state = (size: unknown, kept = note) => JSON.stringify({ version: 1, logs: { 'example.com/log': { size, rootHash: toBase64(sha256(utf8('tree'))), note: kept } } });
    for (const size of ['"3"', -1, 1.5, null, '1e400', [3]]) {
      await writeFile(`${dir}/data/witness-state.json`, state(size).replace('"1e400"', '1e400'));
      await expect(startWitness({ ...opts, logs: [log] }), String(size)).rejects.toThrow(/is damaged \(.*size/);
    }
    await writeFile(`${dir}/data/witness-state.json`, state(3, signCheckpoint({ origin: 'example.com/log', size: 4, rootHash: sha256(utf8('tree')) }, signer)));
    await expect(startWitness({ ...opts, logs: [log] })).rejects.toThrow('is damaged (the checkpoint kept for example.com/log is not its tree of size 3)');
    await writeFile(`${dir}/data/witness-state.json`, state(3));
    const whole = await startWitness({ ...opts, logs: [log] });
    await whole.close();
  });
});

describe('two witness processes and a real ledger', () => {
  const children: ChildServer[] = [];
  const servers: ServerFixture[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.child.kill('SIGTERM');
      await c.exited;
    }
    for (const s of servers.splice(0)) await s.close();
  });

  const startWitnessProcess = async (dir: string, name: string, logKey: string, ...extra: string[]) => {
    const w = await startChildCommand(['witness', '--port', '0', '--data', `${dir}/data`, '--keys', `${dir}/keys`, '--name', name, '--log', logKey, ...extra]);
    children.push(w);
    return w;
  };
  const addCheckpoint = (w: ChildServer, body: string) => fetch(`${w.url}/add-checkpoint`, { method: 'POST', body });
  const checkpointOf = async (s: ServerFixture) => (await (await s.get('/checkpoint')).text());
  const proofBetween = async (s: ServerFixture, from: number, to: number) =>
    ((await (await s.get(`/v1/proofs/consistency?from=${from}&to=${to}`)).json()) as { hashes: string[] }).hashes.map((h) => Uint8Array.from(Buffer.from(h, 'hex')));

  it('cosign, refuse a fork signed with the same key (409/422, no cosignature) for good, and keep their state across a restart', async () => {
    const ledger = await serverFixture();
    servers.push(ledger);
    const alice = party();
    for (let i = 0; i < 5; i++) expect((await ledger.submit(stmt.register(alice))).status).toBe(201);
    const base = await tempDir();
    const [w1, w2] = await Promise.all([startWitnessProcess(`${base}/w1`, 'court.example/w1', ledger.verifierKey), startWitnessProcess(`${base}/w2`, 'notary.example/w2', ledger.verifierKey, '--json')]);
    const keys = await Promise.all([w1, w2].map(async (w) => parseWitnessKey(await (await fetch(`${w.url}/witness-key`)).text())));
    expect(w1.output()).toContain(`witness key: ${keys[0] ? formatWitnessKey(keys[0].name, keys[0].publicKey) : ''}`);
    // With --json its start-up line is one JSON document.
    expect(JSON.parse(w2.output().trim().split('\n')[0]!)).toEqual({ url: w2.url, witnessKey: formatWitnessKey(keys[1]!.name, keys[1]!.publicKey), logs: [ledger.verifierKey] });

    // Size 5, from 0: both cosign; the cosignatures verify under their keys and carry a time.
    const note5 = await checkpointOf(ledger);
    let cosigned = note5;
    for (const [i, w] of [w1, w2].entries()) {
      const res = await addCheckpoint(w, formatAddCheckpoint({ oldSize: 0, proof: [], note: note5 }));
      expect(res.status).toBe(200);
      const line = await res.text();
      expect(line).toMatch(/^— \S+ [A-Za-z0-9+/=]+\n$/);
      cosigned += line;
      const found = findCosignature(cosigned, keys[i]!);
      expect(found?.time).toBeGreaterThan(Date.now() / 1000 - 60);
    }
    openCheckpoint(cosigned, parseVerifierKey(ledger.verifierKey)); // the log's own signature still checks out

    // Stale old size: 409 with the witness's size.
    const again = await addCheckpoint(w1, formatAddCheckpoint({ oldSize: 0, proof: [], note: note5 }));
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toBe('text/x.tlog.size');
    expect(await again.text()).toBe('5\n');

    // Growth with a real consistency proof: cosigned.
    for (let i = 0; i < 4; i++) await ledger.submit(stmt.register(alice));
    const note9 = await checkpointOf(ledger);
    expect((await addCheckpoint(w1, formatAddCheckpoint({ oldSize: 5, proof: await proofBetween(ledger, 5, 9), note: note9 }))).status).toBe(200);
    // The same tree sent again with a forged line in the witness's own name: cosigned, and what
    // the witness publishes is the log's signature and its own cosignature, nothing the sender
    // added (the forged line came first, and the published checkpoint's cosignature failed).
    const forgedLine = `— court.example/w1 ${toBase64(new Uint8Array([...keys[0]!.keyId, ...new Uint8Array(72)]))}\n`;
    expect((await addCheckpoint(w1, formatAddCheckpoint({ oldSize: 9, proof: [], note: note9 + forgedLine }))).status).toBe(200);
    const published = await (await fetch(`${w1.url}/${toHex(sha256(utf8(ledger.ledger.origin)))}/checkpoint`)).text();
    expect(published.startsWith(note9)).toBe(true);
    expect(published.slice(note9.length)).toMatch(/^— court\.example\/w1 [A-Za-z0-9+/=]+\n$/);
    expect(findCosignature(published, keys[0]!)?.time).toBeGreaterThan(0);

    // A fork: a second ledger process holding the same key signs another history.
    const forkDir = await tempDir();
    await mkdir(`${forkDir}/keys`);
    for (const f of ['ledger.key', 'ledger.pub']) await copyFile(`${ledger.dir}/keys/${f}`, `${forkDir}/keys/${f}`);
    const fork = await serverFixture({ dir: forkDir });
    servers.push(fork);
    expect(fork.verifierKey).toBe(ledger.verifierKey);
    for (let i = 0; i < 12; i++) await fork.submit(stmt.register(alice));
    const forkNote = await checkpointOf(fork);
    const forged = await addCheckpoint(w1, formatAddCheckpoint({ oldSize: 9, proof: await proofBetween(fork, 9, 12), note: forkNote }));
    expect(forged.status).toBe(422);
    expect(await forged.text()).not.toMatch(/^—/);
    // The fork's own size-5 tree, signed by the same key, against w2 which holds the real one: 422.
    const fork5 = signCheckpoint({ origin: fork.ledger.origin, size: 5, rootHash: rootHash(5, fork.ledger.store.sync.readNodes) }, fork.ledger.signer);
    const split = await addCheckpoint(w2, formatAddCheckpoint({ oldSize: 5, proof: [], note: fork5 }));
    expect(split.status).toBe(422);
    expect(await split.text()).toMatch(/different roots/);
    // and a checkpoint signed by anyone else is refused outright (403)
    const impostor = signCheckpoint({ origin: fork.ledger.origin, size: 12, rootHash: rootHash(12, fork.ledger.store.sync.readNodes) }, signerFromSeed(randomSeed()));
    expect((await addCheckpoint(w2, formatAddCheckpoint({ oldSize: 5, proof: await proofBetween(fork, 5, 12), note: impostor }))).status).toBe(403);

    // Restart w1: the same key, the same state (size 9), and the fork still refused.
    w1.child.kill('SIGTERM');
    await w1.exited;
    children.splice(children.indexOf(w1), 1);
    const w1b = await startWitnessProcess(`${base}/w1`, 'court.example/w1', ledger.verifierKey);
    expect((await (await fetch(`${w1b.url}/witness-key`)).text()).trim()).toBe(formatWitnessKey(keys[0]!.name, keys[0]!.publicKey));
    const afterRestart = await addCheckpoint(w1b, formatAddCheckpoint({ oldSize: 0, proof: [], note: forkNote }));
    expect(afterRestart.status).toBe(409);
    expect(await afterRestart.text()).toBe('9\n');
    expect((await addCheckpoint(w1b, formatAddCheckpoint({ oldSize: 9, proof: await proofBetween(fork, 9, 12), note: forkNote }))).status).toBe(422);
    const latest = await fetch(`${w1b.url}/${toHex(sha256(utf8(ledger.ledger.origin)))}/checkpoint`);
    expect(latest.status).toBe(200);
    const held = await latest.text();
    expect(openCheckpoint(held, parseVerifierKey(ledger.verifierKey)).size).toBe(9);
    expect(findCosignature(held, keys[0]!)).not.toBeNull();
    // bad bodies and routes answer 4xx and change nothing
    expect((await addCheckpoint(w1b, 'old x\n\n')).status).toBe(400);
    expect((await fetch(`${w1b.url}/add-checkpoint`)).status).toBe(405);
    expect((await addCheckpoint(w1b, 'x'.repeat(70_000))).status).toBe(413);
    expect((await addCheckpoint(w1b, formatAddCheckpoint({ oldSize: 0, proof: [], note: note9 }))).status).toBe(409);
  }, 60_000);
});
