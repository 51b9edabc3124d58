/**
 * C2SP tlog-tiles: the spec's own examples, a naive MTH reference for every tile hash, and a
 * real ledger whose tiles — served by it, and exported to a plain static file server —
 * are byte-identical and reproduce every inclusion and consistency proof on their own.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { openCheckpoint, parseVerifierKey } from '../src/core/checkpoint.js';
import { consistencyPlan, hashLeaf, hashRanges, inclusionPlan, rootHash, verifyConsistency, verifyInclusion } from '../src/core/merkle.js';
import { decodeEntryBundle, decodeHashTile, encodeEntryBundle, parseTilePath, tileNodeReader, tileNodes, tilePath, tilesOfTree, type TileId } from '../src/core/tiles.js';
import { main } from '../src/cli/main.js';
import { startStaticServer } from '../scripts/lib/static-server.js';
import { memoryTree, party, stmt, tempDir } from './helpers.js';
import { key } from '../src/store/layout.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';

const H = (...parts: Uint8Array[]) => new Uint8Array(createHash('sha256').update(Buffer.concat(parts)).digest());
function MTH(D: Uint8Array[]): Uint8Array {
  if (D.length === 1) return H(Uint8Array.of(0), D[0]!);
  let k = 1;
  while (k * 2 < D.length) k *= 2;
  return H(Uint8Array.of(1), MTH(D.slice(0, k)), MTH(D.slice(k)));
}

describe('tile paths and widths (tlog-tiles examples)', () => {
  it('encodes index 1234067 as x001/x234/067, as the spec does, and parses it back', () => {
    expect(tilePath({ level: 0, index: 1234067, width: 256 })).toBe('tile/0/x001/x234/067');
    expect(parseTilePath('tile/0/x001/x234/067')).toEqual({ level: 0, index: 1234067, width: 256 });
    expect(tilePath({ level: 'entries', index: 5, width: 17 })).toBe('tile/entries/005.p/17');
    expect(parseTilePath('entries/005.p/17')).toEqual({ level: 'entries', index: 5, width: 17 });
  });

  it('lists for size 70,000 the tiles the spec names: 273 full + 1 of width 112 at level 0, 1 full + 1 of 17 at level 1, 1 of 1 at level 2', () => {
    const tiles = tilesOfTree(70_000).filter((t) => t.level !== 'entries');
    const at = (level: number) => tiles.filter((t) => t.level === level).map((t) => t.width);
    expect(at(0)).toEqual([...Array(273).fill(256), 112]);
    expect(at(1)).toEqual([256, 17]);
    expect(at(2)).toEqual([1]);
    expect(at(3)).toEqual([]);
    // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile of width 1"
    expect(tilesOfTree(256).filter((t) => t.level !== 'entries')).toEqual([{ level: 0, index: 0, width: 256 }, { level: 1, index: 0, width: 1 }]);
  });

  it.each([
    ['tile/00/000', 'level'], ['tile/64/000', 'level'], ['tile/0/1', 'index element'], ['tile/0/000.p/0', 'partial width'],
    ['tile/0/000.p/256', 'partial width'], ['tile/0/000.p/07', 'partial width'], ['tile/0/x000/001', 'leading zero'], ['tile/0/001/002', 'index element'],
    ['tile/x/000', 'level'], ['tile/0', 'must be'], ['tile/0/x999/x999/x999/x999/x999/x999/999', 'too large'], ['tile/0/x001/x001/x001/x001/x001/x001/x001/001', 'must be'],
  ])('refuses %s (%s)', (path, why) => {
    expect(() => parseTilePath(path)).toThrow(why);
  });

  it('hash tiles hold the MTH of each 256^l-leaf block, per a naive RFC 6962 reference, and rebuild every node', () => {
    const leaves = Array.from({ length: 700 }, (_, i) => new TextEncoder().encode(`leaf ${i}`));
    const { read } = memoryTree(leaves);
    for (const tile of tilesOfTree(leaves.length).filter((t) => t.level !== 'entries')) {
      const span = 256 ** (tile.level as number);
      const hashes = read(tileNodes(tile));
      hashes.forEach((h, i) => expect(toHex(h)).toBe(toHex(MTH(leaves.slice((tile.index * 256 + i) * span, (tile.index * 256 + i + 1) * span)))));
    }
    const fromTiles = tileNodeReader(leaves.length, (t) => read(tileNodes(t)));
    for (const size of [1, 2, 255, 256, 257, 511, 512, 700]) expect(toHex(rootHash(size, fromTiles))).toBe(toHex(MTH(leaves.slice(0, size))));
  });

  it('entry bundles are uint16-length-prefixed leaves, and a truncated bundle is refused', () => {
    const leaves = [Uint8Array.of(1, 2, 3), new Uint8Array(0), new Uint8Array(300).fill(7)];
    const bytes = encodeEntryBundle(leaves);
    expect(toHex(bytes.subarray(0, 5))).toBe('0003010203');
    expect(bytes.length).toBe(2 + 3 + 2 + 2 + 300);
    expect(decodeEntryBundle(bytes)).toEqual(leaves);
    expect(() => decodeEntryBundle(bytes.subarray(0, bytes.length - 1))).toThrow('ends inside entry 2');
    expect(() => encodeEntryBundle([new Uint8Array(65536)])).toThrow('does not fit');
  });
});

describe('tiles of a real ledger, from the ledger and from a static export', () => {
  let server: ServerFixture | undefined;
  let closeStatic: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await closeStatic?.();
    await server?.close();
  });

  it('are byte-identical, immutable, exported incrementally, and prove every entry and the growth between checkpoints', async () => {
    server = await serverFixture();
    const alice = party();
    const submitMany = async (n: number) => {
      for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => server!.submit(stmt.register(alice)).then((r) => expect(r.status).toBe(201))));
    };
    const key = parseVerifierKey(server.verifierKey);
    const checkpoint = async (base: string) => openCheckpoint(await (await fetch(`${base}/checkpoint`)).text(), key);
    const out = `${await tempDir()}/tiles`;
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l), progress: false };
    const exportNow = () => main(['export-tiles', '--out', out, '--server', server!.url, '--ledger-key', server!.verifierKey], io);

    await submitMany(100);
    expect(await exportNow()).toBe(0);
    const old = await checkpoint(server.url);
    expect(lines.pop()).toMatch(/^exported tree of size 100 to .*: 2 new tiles$/);

    await submitMany(200);
    expect(await exportNow()).toBe(0);
    expect(lines.pop()).toBe(`exported tree of size 300 to ${out}: 5 new tiles (was 100)`);
    const fullTile = await stat(`${out}/tile/0/000`);
    expect(await exportNow()).toBe(0);
    expect(lines.pop()).toMatch(/: 0 new tiles \(was 300\)$/);
    expect((await stat(`${out}/tile/0/000`)).mtimeMs).toBe(fullTile.mtimeMs);

    const statik = await startStaticServer(out);
    closeStatic = statik.close;
    const cp = await checkpoint(server.url);
    expect(cp.size).toBe(300);
    expect((await checkpoint(statik.url)).size).toBe(300);

    const tiles = [...tilesOfTree(100), ...tilesOfTree(300)];
    expect(tiles.map(tilePath)).toEqual(expect.arrayContaining(['tile/0/000.p/100', 'tile/0/000', 'tile/0/001.p/44', 'tile/1/000.p/1', 'tile/entries/001.p/44']));
    const fetched = new Map<string, Uint8Array>();
    for (const tile of tiles) {
      const [a, b] = await Promise.all([fetch(`${server.url}/${tilePath(tile)}`), fetch(`${statik.url}/${tilePath(tile)}`)]);
      expect(a.status).toBe(200);
      expect(a.headers.get('content-type')).toBe('application/octet-stream');
      expect(a.headers.get('cache-control')).toContain('immutable');
      const bytes = new Uint8Array(await a.arrayBuffer());
      expect(toHex(new Uint8Array(await b.arrayBuffer()))).toBe(toHex(bytes));
      fetched.set(tilePath(tile), bytes);
    }

    // Proofs from the static copy alone, checked against the signed checkpoints.
    const read = tileNodeReader(cp.size, (t: TileId) => decodeHashTile(fetched.get(tilePath(t))!, t.width));
    const leaves = [...decodeEntryBundle(fetched.get('tile/entries/000')!), ...decodeEntryBundle(fetched.get('tile/entries/001.p/44')!)];
    expect(leaves).toHaveLength(300);
    for (let index = 0; index < 300; index++) {
      const proof = hashRanges(inclusionPlan(index, 300), read);
      verifyInclusion(index, 300, hashLeaf(leaves[index]!), proof, cp.rootHash);
      if (index % 37 === 0) {
        const served = (await (await server.get(`/v1/proofs/inclusion?index=${index}&size=300`)).json()) as { hashes: string[] };
        expect(proof.map(toHex)).toEqual(served.hashes);
      }
    }
    verifyConsistency(old.size, cp.size, old.rootHash, cp.rootHash, hashRanges(consistencyPlan(old.size, cp.size), read));
    // One bit flipped in the 4th hash of a tile breaks the proof of its neighbour, entry 2.
    const forged = fetched.get('tile/0/000')!.slice();
    forged[3 * 32] = (forged[3 * 32] as number) ^ 1;
    const bad = tileNodeReader(cp.size, (t: TileId) => decodeHashTile(tilePath(t) === 'tile/0/000' ? forged : fetched.get(tilePath(t))!, t.width));
    expect(() => verifyInclusion(2, 300, hashLeaf(leaves[2]!), hashRanges(inclusionPlan(2, 300), bad), cp.rootHash)).toThrow('computes root');
  });

  // A root reads only some tiles (at size 300: the level-1 tile and the partial level-0 one),
  // and no tile was checked against the entries: a store changed behind the ledger was
  // published as a mirror whose tiles contradict its own checkpoint.
  it.each([
    ['a leaf swapped for its neighbour', (s: ServerFixture) => s.ledger.store.write([{ type: 'put', key: key.leaf(3), value: s.ledger.store.sync.leaf(4)! }])],
    ['a level-0 node zeroed', (s: ServerFixture) => s.ledger.store.write([{ type: 'put', key: key.node(0, 5), value: new Uint8Array(32) }])],
  ])('export-tiles publishes no checkpoint over tiles that disagree with each other: %s in the server\'s store', async (_what, tamper) => {
    server = await serverFixture();
    const alice = party();
    for (let i = 0; i < 300; i += 50) await Promise.all(Array.from({ length: 50 }, () => server!.submit(stmt.register(alice))));
    await tamper(server);
    const out = `${await tempDir()}/tiles`;
    const lines: string[] = [];
    const code = await main(['export-tiles', '--out', out, '--server', server.url, '--ledger-key', server.verifierKey], { out: (l) => lines.push(l), err: (l) => lines.push(l), progress: false });
    expect(code).not.toBe(0);
    expect(lines.join('\n')).toMatch(/the server's tiles disagree with each other, so the checkpoint is not published: tile\/0\/000: hash [345] is not the leaf hash of entry [345]/);
    await expect(stat(`${out}/checkpoint`)).rejects.toThrow();
    // and no tile of it is left where a static server would serve it
    await expect(readdir(out)).resolves.toEqual([]);
  });

  it('answers 404 for tiles beyond the tree and 400 for paths tlog-tiles does not produce, and changes nothing', async () => {
    server = await serverFixture();
    await server.submit(stmt.register(party()));
    for (const [path, status] of [['/tile/0/000', 404], ['/tile/0/000.p/2', 404], ['/tile/1/000.p/1', 404], ['/tile/entries/001.p/1', 404], ['/tile/0/000.p/1', 200], ['/tile/0/0', 400], ['/tile/99/000', 400], ['/tile/entries/000.p/0', 400]] as const) {
      const res = await server.get(path);
      expect(res.status, path).toBe(status);
      if (status !== 200) expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    expect(server.ledger.sequencer.size).toBe(1);
  });
});

