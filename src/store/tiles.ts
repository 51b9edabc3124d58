/**
 * Tiles (C2SP tlog-tiles) read from the store: hash tiles are the stored perfect-subtree
 * nodes themselves, entry bundles the stored leaves. Nothing is hashed per request.
 */
import { CartularyError } from '../core/errors.js';
import { encodeEntryBundle, encodeHashTile, tileNodes, tilePath, tileWidthAt, type TileId } from '../core/tiles.js';
import type { LedgerStorage } from './storage.js';

/**
 * The bytes of `tile` in the tree of `size` leaves. Throws 'not-found' when the tree does
 * not (yet) hold that many hashes or entries there: a tile, once served, never changes.
 */
export function readTile(store: LedgerStorage, tile: TileId, size: number): Uint8Array {
  const available = tileWidthAt(tile.level, tile.index, size);
  if (tile.width > available) {
    throw new CartularyError('not-found', `${tilePath(tile)} is not in the tree of size ${size} (it holds ${available} there, ${tile.width} asked for)`);
  }
  if (tile.level !== 'entries') return encodeHashTile(store.readNodes(tileNodes(tile)));
  const first = tile.index * 256;
  return encodeEntryBundle(
    Array.from({ length: tile.width }, (_, i) => {
      const leaf = store.leaf(first + i);
      if (!leaf) throw new CartularyError('corrupt', `leaf ${first + i} is missing from the store`);
      return leaf;
    }),
  );
}
