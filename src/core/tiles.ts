/**
 * C2SP tlog-tiles: the tree as static, immutable resources.
 *
 *   tile/<L>/<N>[.p/<W>]        hash tile: the Merkle Tree Hashes at tree height 8·L,
 *                               indices N·256 … N·256+W-1 (a full tile has W = 256)
 *   tile/entries/<N>[.p/<W>]    entry bundle: leaves N·256 … N·256+W-1, each as
 *                               big-endian uint16 length ‖ leaf bytes
 *
 * <N> is written as zero-padded 3-digit path elements, all but the last prefixed with
 * "x" (1234067 → x001/x234/067). A hash at tile level L is the hash of a perfect subtree
 * of height 8·L, which is exactly a node the store keeps (merkle.ts NodeId): hash tiles
 * are read from stored nodes, never recomputed.
 */
import { concatBytes, equalBytes, readUintBE, uintBE } from './bytes.js';
import { CartularyError } from './errors.js';
import { hashChildren, hashLeaf, HASH_SIZE, type NodeId, type NodeReader } from './merkle.js';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
/** tlog-tiles: `<L>` is between 0 and 63. */
export const MAX_TILE_LEVEL = 63;
/** An entry bundle prefixes each leaf with a uint16 length. */
export const MAX_BUNDLED_LEAF = 0xffff;

/** A hash tile (level a number) or an entry bundle (level 'entries'); width 1…256. */
export interface TileId {
  readonly level: number | 'entries';
  readonly index: number;
  readonly width: number;
}

const malformed = (path: string, why: string) => new CartularyError('malformed', `tile path "${path.slice(0, 120)}": ${why}`, { field: 'path' });
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

/** The tree level (height) whose nodes a hash tile of tile level `level` lists. */
const treeLevel = (level: number) => level * TILE_HEIGHT;

/** The path of a tile, without a leading slash: `tile/0/x001/x234/067.p/5`. */
export function tilePath(tile: TileId): string {
  const groups: string[] = [];
  let n = tile.index;
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  const index = groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
  return `tile/${tile.level}/${index}${tile.width < TILE_WIDTH ? `.p/${tile.width}` : ''}`;
}

/**
 * Parses a tile path (with or without the leading "tile/"), refusing anything tlog-tiles
 * would not produce: leading zeroes, levels over 63, widths outside 1…255 for partial
 * tiles, indices beyond 2^53.
 */
export function parseTilePath(path: string): TileId {
  const parts = (path.startsWith('tile/') ? path.slice(5) : path).split('/');
  if (parts.length < 2 || parts.length > 8) throw malformed(path, 'must be tile/<L>/<N>[.p/<W>]');
  const levelText = parts[0] as string;
  let level: number | 'entries';
  if (levelText === 'entries') level = 'entries';
  else {
    if (!DECIMAL.test(levelText) || Number(levelText) > MAX_TILE_LEVEL) throw malformed(path, `level "${levelText.slice(0, 8)}" is not a decimal from 0 to ${MAX_TILE_LEVEL}`);
    level = Number(levelText);
  }
  let rest = parts.slice(1);
  let width = TILE_WIDTH;
  if (rest.length >= 2 && rest[rest.length - 2]?.endsWith('.p')) {
    const w = rest[rest.length - 1] as string;
    if (!DECIMAL.test(w) || Number(w) < 1 || Number(w) >= TILE_WIDTH) throw malformed(path, `partial width "${w.slice(0, 8)}" is not a decimal from 1 to 255`);
    width = Number(w);
    rest = [...rest.slice(0, -2), (rest[rest.length - 2] as string).slice(0, -2)];
  }
  let index = 0;
  rest.forEach((g, i) => {
    const last = i === rest.length - 1;
    const digits = last ? g : g.startsWith('x') ? g.slice(1) : null;
    if (digits === null || !/^[0-9]{3}$/.test(digits)) throw malformed(path, `index element "${g.slice(0, 8)}" is not ${last ? '' : 'x'}NNN`);
    index = index * 1000 + Number(digits);
  });
  if (rest.length > 1 && rest[0] === 'x000') throw malformed(path, 'index has a leading zero group');
  if (!Number.isSafeInteger(index)) throw malformed(path, 'index is too large');
  return { level, index, width };
}

/**
 * How many hashes (or entries) tile `index` at `level` holds in a tree of `size` leaves:
 * 0 when it does not exist yet, 256 when it is full (tlog-tiles: the partial tile at level
 * l of a tree of size s has floor(s / 256^l) mod 256 entries).
 */
export function tileWidthAt(level: number | 'entries', index: number, size: number): number {
  const below = Math.floor(size / TILE_WIDTH ** (level === 'entries' ? 0 : level)); // hashes at this level
  return Math.max(0, Math.min(TILE_WIDTH, below - index * TILE_WIDTH));
}

/** Every tile (hash tiles and entry bundles) of a tree of `size`: full ones, then each level's partial one. */
export function tilesOfTree(size: number): TileId[] {
  const out: TileId[] = [];
  for (const level of ['entries', ...Array.from({ length: MAX_TILE_LEVEL + 1 }, (_, l) => l)] as Array<number | 'entries'>) {
    const hashes = Math.floor(size / TILE_WIDTH ** (level === 'entries' ? 0 : level));
    if (hashes === 0) break;
    const full = Math.floor(hashes / TILE_WIDTH);
    for (let index = 0; index < full; index++) out.push({ level, index, width: TILE_WIDTH });
    if (hashes % TILE_WIDTH > 0) out.push({ level, index: full, width: hashes % TILE_WIDTH });
  }
  return out;
}

/** The stored tree nodes a hash tile lists, left to right. */
export function tileNodes(tile: TileId): NodeId[] {
  if (tile.level === 'entries') throw new RangeError('an entry bundle lists leaves, not nodes');
  const level = treeLevel(tile.level);
  return Array.from({ length: tile.width }, (_, i) => ({ level, index: tile.index * TILE_WIDTH + i }));
}

/** A hash tile's bytes: its hashes concatenated. */
export const encodeHashTile = (hashes: readonly Uint8Array[]): Uint8Array => concatBytes(...hashes);

export function decodeHashTile(bytes: Uint8Array, width: number): Uint8Array[] {
  if (bytes.length !== width * HASH_SIZE) throw new CartularyError('malformed', `a hash tile of width ${width} is ${width * HASH_SIZE} bytes, got ${bytes.length}`);
  return Array.from({ length: width }, (_, i) => bytes.slice(i * HASH_SIZE, (i + 1) * HASH_SIZE));
}

/** An entry bundle: each leaf as big-endian uint16 length ‖ bytes. */
export function encodeEntryBundle(leaves: readonly Uint8Array[]): Uint8Array {
  return concatBytes(
    ...leaves.flatMap((leaf) => {
      if (leaf.length > MAX_BUNDLED_LEAF) throw new RangeError(`a leaf of ${leaf.length} bytes does not fit an entry bundle`);
      return [uintBE(leaf.length, 2), leaf];
    }),
  );
}

export function decodeEntryBundle(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    if (at + 2 > bytes.length) throw new CartularyError('malformed', 'entry bundle ends inside a length prefix');
    const length = readUintBE(bytes, at, 2);
    if (at + 2 + length > bytes.length) throw new CartularyError('malformed', `entry bundle ends inside entry ${out.length}`);
    out.push(bytes.slice(at + 2, at + 2 + length));
    at += 2 + length;
  }
  return out;
}

/**
 * A NodeReader over hash tiles, for a client that holds nothing but tiles (any tlog-tiles
 * server or a static mirror) and a checkpoint of `size`. A node at tree level l lies in
 * the tile at level floor(l/8); below that tile's own height it is recomputed from the
 * tile's hashes (tlog-tiles: the levels between are "reconstructed by hashing"). Requires
 * that every node asked for is a perfect subtree of the tree of `size`.
 */
export function tileNodeReader(size: number, readTile: (tile: TileId) => Uint8Array[]): NodeReader {
  const cache = new Map<string, Uint8Array[]>();
  const tileHashes = (tile: TileId) => {
    const path = tilePath(tile);
    let hashes = cache.get(path);
    if (!hashes) {
      hashes = readTile(tile);
      if (hashes.length !== tile.width) throw new CartularyError('verification-failed', `tile ${path} has ${hashes.length} hashes, expected ${tile.width}`);
      cache.set(path, hashes);
    }
    return hashes;
  };
  return (ids) =>
    ids.map(({ level, index }) => {
      const tileLevel = Math.floor(level / TILE_HEIGHT);
      const span = 2 ** (level - treeLevel(tileLevel)); // tile hashes under this node
      const first = index * span;
      const tileIndex = Math.floor(first / TILE_WIDTH);
      const width = tileWidthAt(tileLevel, tileIndex, size);
      if (first + span > tileIndex * TILE_WIDTH + width) throw new RangeError(`node ${level}/${index} is not inside a tree of size ${size}`);
      const hashes = tileHashes({ level: tileLevel, index: tileIndex, width });
      return subtreeRoot(hashes.slice(first - tileIndex * TILE_WIDTH, first - tileIndex * TILE_WIDTH + span));
    });
}

/** The root of the perfect subtree whose nodes one level down are `row` (a power of two of them). */
function subtreeRoot(row: readonly Uint8Array[]): Uint8Array {
  let level = [...row];
  while (level.length > 1) level = level.flatMap((h, i) => (i % 2 === 0 ? [hashChildren(h, level[i + 1] as Uint8Array)] : []));
  return level[0] as Uint8Array;
}

/**
 * What is wrong with a hash tile, given the tiles below it (null: nothing): a level-0 tile
 * must hold its entry bundle's leaf hashes, a higher one the roots of the full tiles one
 * level down. A root or a proof reads only some of a tree's tiles; a copy made to be served
 * to others (a static mirror) checks each of them so. `below` gives a hash tile's hashes, or
 * an entry bundle's leaves.
 */
export function tileFault(tile: TileId, hashes: readonly Uint8Array[], below: (tile: TileId) => Uint8Array[]): string | null {
  if (tile.level === 'entries') throw new RangeError('an entry bundle is checked through the level-0 tile above it');
  const leaves = tile.level === 0 ? below({ level: 'entries', index: tile.index, width: tile.width }) : [];
  if (tile.level === 0 && leaves.length !== tile.width) return `${tilePath({ level: 'entries', index: tile.index, width: tile.width })} holds ${leaves.length} entries, not ${tile.width}`;
  for (let j = 0; j < tile.width; j++) {
    const expected = tile.level === 0 ? hashLeaf(leaves[j] as Uint8Array) : subtreeRoot(below({ level: tile.level - 1, index: tile.index * TILE_WIDTH + j, width: TILE_WIDTH }));
    if (!equalBytes(expected, hashes[j] as Uint8Array)) return `${tilePath(tile)}: hash ${j} is not ${tile.level === 0 ? `the leaf hash of entry ${tile.index * TILE_WIDTH + j}` : `the root of the tile below it`}`;
  }
  return null;
}
