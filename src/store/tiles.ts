/**
 * Tiles (C2SP tlog-tiles) read from the store: hash tiles are the stored perfect-subtree
 * nodes themselves, entry bundles the stored leaves. Nothing is hashed per request.
 */
import { CartularyError } from '../core/errors.js';
import { encodeEntryBundle, encodeHashTile, TILE_HEIGHT, TILE_WIDTH, tilePath, tileWidthAt, type TileId } from '../core/tiles.js';
import type { LedgerStorage } from './storage.js';

/**
 * The bytes of `tile` in the tree of `size` leaves, from one range read of the store.
 * Throws 'not-found' when the tree does not (yet) hold that many hashes or entries there:
 * a tile, once served, never changes.
 */
export async function readTile(store: LedgerStorage, tile: TileId, size: number): Promise<Uint8Array> {
  const available = tileWidthAt(tile.level, tile.index, size);
  if (tile.width > available) {
    throw new CartularyError('not-found', `${tilePath(tile)} is not in the tree of size ${size} (it holds ${available} there, ${tile.width} asked for)`);
  }
  const entries = tile.level === 'entries';
  // A hash tile at level L lists the stored nodes of tree level 8·L (core/tiles.ts).
  const family = tile.level === 'entries' ? { leaf: true as const } : { level: tile.level * TILE_HEIGHT };
  const values = await store.consecutive(family, tile.index * TILE_WIDTH, tile.width);
  if (values.length !== tile.width) throw new CartularyError('corrupt', `${tilePath(tile)}: ${tile.width - values.length} of its ${entries ? 'leaves' : 'nodes'} are missing from the store`);
  return entries ? encodeEntryBundle(values) : encodeHashTile(values);
}

/** Full tiles kept in memory, by bytes (a full hash tile is 8 KiB, an entry bundle ~100 KiB). */
const FULL_TILE_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * readTile with the full tiles most recently asked for kept in memory: a full tile never
 * changes, so a hot one costs no store read at all. Partial tiles are read each time (they
 * are small, and each tree size has its own).
 */
export class TileCache {
  private readonly full = new Map<string, Uint8Array>();
  private bytes = 0;

  constructor(private readonly store: LedgerStorage) {}

  async read(tile: TileId, size: number): Promise<Uint8Array> {
    if (tile.width < TILE_WIDTH) return readTile(this.store, tile, size);
    const path = tilePath(tile);
    const hit = this.full.get(path);
    if (hit) {
      this.full.delete(path); // most recent last
      this.full.set(path, hit);
      return hit;
    }
    const bytes = await readTile(this.store, tile, size);
    this.full.set(path, bytes);
    this.bytes += bytes.length;
    for (const [oldest, value] of this.full) {
      if (this.bytes <= FULL_TILE_CACHE_BYTES) break;
      this.full.delete(oldest);
      this.bytes -= value.length;
    }
    return bytes;
  }
}
