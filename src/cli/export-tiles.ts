/**
 * `cartulary export-tiles --out DIR`: the ledger as C2SP tlog-tiles files, for any static
 * file server, CDN or object store. Incremental: only the tiles the new checkpoint adds are
 * fetched; tiles are immutable, so files already written are never touched again. The
 * checkpoint is written last, and only after the tiles on disk reproduce its root hash and
 * the previous exported checkpoint's (so the export never moves to a tree that does not
 * extend what it held).
 */
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { equalBytes, toHex } from '../core/bytes.js';
import { openCheckpoint, parseVerifierKey, type Checkpoint } from '../core/checkpoint.js';
import { CartularyError } from '../core/errors.js';
import { rootHash } from '../core/merkle.js';
import { decodeEntryBundle, decodeHashTile, tileFault, tileNodeReader, tilePath, tilesOfTree, type TileId } from '../core/tiles.js';
import { client, serverOption } from './client.js';
import { str, UsageError, type Command } from './command.js';
import { keyToTrust } from './ledger-key.js';
import { writeFileAtomic } from '../store/atomic-file.js';

const FETCH_CONCURRENCY = 16;
/** Where new tiles wait, inside the output folder (the same file system, so they move in by rename), until they check out. */
const STAGING = '.staging';

async function previousCheckpoint(out: string, key: ReturnType<typeof parseVerifierKey>): Promise<Checkpoint | null> {
  let note: string;
  try {
    note = await readFile(join(out, 'checkpoint'), 'utf8');
  } catch {
    return null;
  }
  return openCheckpoint(note, key);
}

/** A tile's file: a hash tile's hashes, an entry bundle's leaves. */
function readTileFile(path: string, tile: TileId): Uint8Array[] {
  const bytes = new Uint8Array(readFileSync(path));
  return tile.level === 'entries' ? decodeEntryBundle(bytes) : decodeHashTile(bytes, tile.width);
}

export const exportTiles: Command = {
  name: 'export-tiles',
  summary: 'write the ledger as C2SP tlog-tiles files (checkpoint, tile/…) for a static server; run again to bring them up to date',
  usage: 'cartulary export-tiles --out DIR [--server URL] [--ledger-key VKEY] [--json]',
  example: 'cartulary export-tiles --out /var/www/ledger --ledger-key ledger.vkey   (then serve /var/www/ledger with any web server)',
  options: { ...serverOption, out: { type: 'string' }, 'ledger-key': { type: 'string' } },
  async run(v, _p, io) {
    const out = str(v.out);
    if (!out) throw new UsageError('--out DIR is required');
    const api = client(v);
    const keyText = await keyToTrust(str(v['ledger-key']), api, io, undefined);
    const key = parseVerifierKey(keyText);
    const noteBytes = await api.getRaw('/checkpoint');
    if (!noteBytes) throw new CartularyError('not-found', 'the server has no checkpoint');
    const note = new TextDecoder().decode(noteBytes);
    const cp = openCheckpoint(note, key);
    const prev = await previousCheckpoint(out, key);
    if (prev && prev.size > cp.size) throw new CartularyError('conflict', `${out} holds a tree of size ${prev.size}, larger than the server's ${cp.size}; refusing to go back`);

    const had = new Set(prev ? tilesOfTree(prev.size).map(tilePath) : []);
    const todo = tilesOfTree(cp.size).filter((t) => !had.has(tilePath(t)));
    // New tiles are fetched aside and published only once they check out: a static server
    // (and a CDN behind it) serves whatever is in the folder, as immutable.
    const staging = join(out, STAGING);
    await rm(staging, { recursive: true, force: true });
    const fresh = new Set(todo.map(tilePath));
    const fileOf = (tile: TileId) => join(fresh.has(tilePath(tile)) ? staging : out, tilePath(tile));
    try {
      let next = 0;
      const worker = async () => {
        while (next < todo.length) {
          const tile = todo[next++] as TileId;
          const bytes = await api.getRaw(`/${tilePath(tile)}`);
          if (!bytes) throw new CartularyError('not-found', `the server does not serve /${tilePath(tile)} although its checkpoint of size ${cp.size} needs it`);
          await writeFileAtomic(fileOf(tile), bytes);
        }
      };
      await Promise.all(Array.from({ length: FETCH_CONCURRENCY }, worker));

      // The files must prove the checkpoint (and extend the previous one) before it is published:
      // every new tile agrees with the tiles below it (a root reads only some of them, and a
      // leaf or node changed in the server's store was published unseen), then both roots from
      // the new tree's tiles: the old tree must be its prefix.
      const onDisk = (tile: TileId) => readTileFile(fileOf(tile), tile);
      for (const tile of todo) {
        if (tile.level === 'entries') continue; // checked through the level-0 tile above it
        const fault = tileFault(tile, onDisk(tile), onDisk);
        if (fault) throw new CartularyError('verification-failed', `the server's tiles disagree with each other, so the checkpoint is not published: ${fault}`);
      }
      const read = tileNodeReader(cp.size, onDisk);
      const root = rootHash(cp.size, read);
      if (!equalBytes(root, cp.rootHash)) throw new CartularyError('verification-failed', `the exported tiles give root ${toHex(root)}, the checkpoint says ${toHex(cp.rootHash)}`);
      if (prev && !equalBytes(rootHash(prev.size, read), prev.rootHash)) {
        throw new CartularyError('verification-failed', `the server's tree of size ${cp.size} does not contain the exported tree of size ${prev.size}: a fork`);
      }
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      throw e;
    }
    // Crash point: tiles moved in before the checkpoint are ones it proves; the old checkpoint
    // still stands, and a run again fetches what is missing.
    for (const tile of todo) {
      await mkdir(dirname(join(out, tilePath(tile))), { recursive: true });
      await rename(fileOf(tile), join(out, tilePath(tile)));
    }
    await rm(staging, { recursive: true, force: true });
    await writeFileAtomic(join(out, 'checkpoint'), note);
    if (v.json) io.out(JSON.stringify({ out, size: cp.size, newTiles: todo.length, previousSize: prev?.size ?? null }));
    else io.out(`exported tree of size ${cp.size} to ${out}: ${todo.length} new tile${todo.length === 1 ? '' : 's'}${prev ? ` (was ${prev.size})` : ''}`);
    return 0;
  },
};
