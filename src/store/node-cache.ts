/**
 * The upper levels of the Merkle tree in memory, shared by every view of one store.
 *
 * Every proof passes through the upper levels, and a node never changes once written, so a
 * cached node is never stale and needs no invalidation. Each level is one flat array of
 * 32-byte hashes indexed by the node's index, with a bitmap of the slots filled: ~32 bytes
 * a node, where a Map of Uint8Arrays cost ~150, so the same memory holds several times the
 * levels and a proof at 1 M entries reads one node from the store instead of four.
 *
 * Bounded: levels at or above the floor hold about `budget` nodes at most (their arrays, which
 * grow by doubling, up to twice that); the floor rises with the tree (`noteTreeSize`) and the
 * levels below it are dropped.
 */
import type { NodeId, RangeMemo } from '../core/merkle.js';

/** The most nodes the cached levels hold, about: 2^20 nodes are 32 MB of hashes. */
const NODE_CACHE_NODES = 1 << 20;
const HASH = 32;
// Levels grow in steps of whole bitmap bytes, doubling, so a level filled in order is
// copied O(log n) times.
const FIRST_CAPACITY = 1024;
// Nodes read a turn while filling: a few milliseconds of the event loop.
const FILL_CHUNK = 4096;
// Folded ranges kept (~200 bytes each): a tree's right edge has one per bit of its size, so
// this holds those of many sizes; when full it starts again (each costs a few hashes).
const RANGES_KEPT = 4096;

interface Level {
  hashes: Uint8Array;
  filled: Uint8Array;
}

export class NodeCache {
  private readonly levels: Array<Level | undefined> = [];
  // Nothing is cached until the tree's size is known (a store opened only to audit never is).
  private floor = Number.POSITIVE_INFINITY;
  /**
   * Hashes of ranges that are not one node, which proofs fold from several (merkle.ts
   * `hashRanges`): every proof at one tree size folds the same few at the right edge.
   */
  readonly ranges: RangeMemo = new BoundedMemo(RANGES_KEPT);

  constructor(private readonly budget = NODE_CACHE_NODES) {}

  /** Bytes the cached levels hold (their arrays, with room to grow). */
  get bytes(): number {
    return this.levels.reduce((sum, l) => sum + (l ? l.hashes.byteLength + l.filled.byteLength : 0), 0);
  }

  /** The node's hash if cached: a view into the cache, which the caller must not write to. */
  get({ level, index }: NodeId): Uint8Array | undefined {
    if (level < this.floor) return undefined;
    const l = this.levels[level];
    if (!l || index >= l.hashes.length / HASH || ((l.filled[index >> 3] as number) & (1 << (index & 7))) === 0) return undefined;
    return l.hashes.subarray(index * HASH, index * HASH + HASH);
  }

  /** Keeps a node read from the store (or just written to it), if its level is cached. */
  set({ level, index }: NodeId, hash: Uint8Array): void {
    if (level < this.floor) return;
    let l = this.levels[level];
    if (!l || index >= l.hashes.length / HASH) l = this.levels[level] = grown(l, index + 1);
    l.hashes.set(hash, index * HASH);
    l.filled[index >> 3] = (l.filled[index >> 3] as number) | (1 << (index & 7));
  }

  /**
   * Reads the cached levels of a tree of `size` leaves from the store, top down, a chunk a
   * turn, so that soon after a start proofs read only the levels below the floor, rather
   * than each node the first time it is asked for. Ends when `stop()` says so, or at the
   * first chunk the store does not give whole (a damaged store: reads report it).
   */
  async fill(size: number, read: (level: number, first: number, count: number) => Promise<Uint8Array[]>, stop: () => boolean): Promise<void> {
    for (let level = Math.floor(Math.log2(Math.max(1, size))); level >= this.floor; level--) {
      const nodes = Math.floor(size / 2 ** level);
      for (let first = 0; first < nodes; first += FILL_CHUNK) {
        if (stop() || level < this.floor) return;
        const count = Math.min(FILL_CHUNK, nodes - first);
        const hashes = await read(level, first, count);
        if (hashes.length !== count) return;
        hashes.forEach((hash, i) => this.set({ level, index: first + i }, hash));
      }
    }
  }

  /** Raises the floor as the tree grows, so the cached levels stay within the budget. */
  noteTreeSize(size: number): void {
    let floor = 0;
    while ((2 * size) / 2 ** floor > this.budget) floor++;
    const from = Number.isFinite(this.floor) ? this.floor : floor;
    for (let level = from; level < floor; level++) this.levels[level] = undefined;
    this.floor = Math.max(from, floor);
  }
}

function grown(level: Level | undefined, atLeast: number): Level {
  const had = level ? level.hashes.length / HASH : 0;
  let capacity = Math.max(FIRST_CAPACITY, had * 2);
  while (capacity < atLeast) capacity *= 2;
  const hashes = new Uint8Array(capacity * HASH);
  const filled = new Uint8Array(capacity / 8);
  if (level) {
    hashes.set(level.hashes);
    filled.set(level.filled);
  }
  return { hashes, filled };
}

class BoundedMemo extends Map<string, Uint8Array> implements RangeMemo {
  constructor(private readonly most: number) {
    super();
  }
  override set(key: string, hash: Uint8Array): this {
    if (this.size >= this.most) this.clear();
    return super.set(key, hash);
  }
}
