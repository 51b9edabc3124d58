/**
 * The upper levels of the Merkle tree, shared by every view of one store.
 *
 * Every proof passes through the upper levels, and a node never changes once written, so a
 * cached node is never stale and needs no invalidation. Each level is a run of pages of
 * 32-byte hashes indexed by the node's index, with a bitmap of the slots filled: ~32 bytes a
 * node, where a Map of Uint8Arrays cost ~150.
 *
 * Where the pages come from sets the budget. From the heap (the default), about 2^20 nodes
 * (32 MB): a proof at 1 M entries reads one node from the store, at 10 M five. From a file
 * mapped into memory (a store's, mapped-pages.ts), about 2^25 nodes, the kernel's to page
 * out like LevelDB's own tables: every level up to ~16 M entries, so a proof reads no node
 * from the store, and the server's own memory holds none of them.
 *
 * Bounded: levels at or above the floor hold about the budget's nodes at most (and never
 * more pages than it allows, whatever the source: a mapped file that can no longer grow gives
 * heap pages, and the heap's budget holds); the floor rises with the tree (`noteTreeSize`)
 * and the levels below it are dropped, their pages given back to the source.
 */
import type { NodeId, RangeMemo } from '../core/merkle.js';
import { heapPages, PAGE_SHIFT, type PageSource } from '../core/u32-pages.js';

/** The most nodes the cached levels hold in the heap: 2^20 nodes are 32 MB of hashes. */
export const HEAP_NODES = 1 << 20;
/** The most nodes they hold in a mapped file: 2^25 nodes are 1 GB of it. */
export const MAPPED_NODES = 1 << 25;
const HASH = 32;
// A page of the source (64 Ki 32-bit values) holds 8 Ki hashes.
const PAGE_NODES_SHIFT = PAGE_SHIFT - 3;
const PAGE_NODES = 1 << PAGE_NODES_SHIFT;
// Nodes read a turn while filling: a few milliseconds of the event loop.
export const FILL_CHUNK = 4096;
// Folded ranges kept (~200 bytes each): a tree's right edge has one per bit of its size, so
// this holds those of many sizes; when full it starts again (each costs a few hashes).
const RANGES_KEPT = 4096;

interface Level {
  // The pages as the source gave them (a mapped file knows its own by these), and byte views of them.
  given: Array<Uint32Array | undefined>;
  pages: Array<Uint8Array | undefined>;
  // grows by doubling: 1 bit a node
  filled: Uint8Array;
}

/** Where a node cache's pages come from: the source, what it may hold, and where pages dropped go back. */
export interface NodePages {
  source: PageSource;
  /** nodes the cache may hold now (may fall: a mapped file that can no longer grow) */
  budget(): number;
  /** takes back pages of a dropped level (a mapped file gives them again) */
  release?(pages: Uint32Array[]): void;
}

/** What a node cache holds, for a store to keep across restarts: its floor, and each level's pages (holes undefined) and bitmap. */
export interface NodeCacheImage {
  floor: number | null;
  levels: Array<{ pages: Array<Uint32Array | undefined>; filled: Uint8Array } | undefined>;
}

const onTheHeap: NodePages = { source: heapPages, budget: () => HEAP_NODES };
const bytesOf = (page: Uint32Array) => new Uint8Array(page.buffer, page.byteOffset, page.byteLength);

export class NodeCache {
  private readonly levels: Array<Level | undefined> = [];
  private held = 0;
  private levelsKept = 0;
  private restoredFloor: number | null = null;
  // Nothing is cached until the tree's size is known (a store opened only to audit never is).
  private floor = Number.POSITIVE_INFINITY;
  /**
   * Hashes of ranges that are not one node, which proofs fold from several (merkle.ts
   * `hashRanges`): every proof at one tree size folds the same few at the right edge.
   */
  readonly ranges: RangeMemo = new BoundedMemo(RANGES_KEPT);

  /**
   * Pages from `pages` (the heap by default), or a fixed budget of nodes in heap pages
   * (tests); with `image`, the levels of a cache as it was, over its own pages. An image
   * whose bitmaps name a node on a page it does not have is refused (RangeError).
   */
  constructor(
    private readonly pages: NodePages | number = onTheHeap,
    image?: NodeCacheImage,
  ) {
    if (!image) return;
    checkNodeImage(image);
    // Used once the tree's size is noted (a server's store), never by a store opened only to
    // audit, which must read every node from the store itself.
    this.restoredFloor = image.floor;
    image.levels.forEach((saved, level) => {
      if (!saved) return;
      const given = [...saved.pages];
      this.levels[level] = { given, pages: given.map((p) => (p ? bytesOf(p) : undefined)), filled: saved.filled };
      this.held += given.filter((p) => p !== undefined).length;
    });
  }

  /** What the cache holds (its pages and bitmaps, not copies). */
  get image(): NodeCacheImage {
    return {
      floor: Number.isFinite(this.floor) ? this.floor : this.restoredFloor,
      levels: this.levels.map((l) => (l ? { pages: l.given, filled: l.filled } : undefined)),
    };
  }

  private budget(): number {
    return typeof this.pages === 'number' ? this.pages : this.pages.budget();
  }

  /** Bytes of the pages the cached levels hold, and of their bitmaps. */
  get bytes(): number {
    return this.held * PAGE_NODES * HASH + this.levels.reduce((sum, l) => sum + (l ? l.filled.byteLength : 0), 0);
  }

  /** The node's hash if cached: a view into the cache, which the caller must not write to. */
  get({ level, index }: NodeId): Uint8Array | undefined {
    if (level < this.floor) return undefined;
    const l = this.levels[level];
    if (!l || !isSet(l.filled, index)) return undefined;
    const at = (index & (PAGE_NODES - 1)) * HASH;
    return l.pages[index >> PAGE_NODES_SHIFT]!.subarray(at, at + HASH);
  }

  /** Keeps a node read from the store (or just written to it), if its level is cached and the budget allows. */
  set({ level, index }: NodeId, hash: Uint8Array): void {
    if (level < this.floor) return;
    const p = index >> PAGE_NODES_SHIFT;
    const l = this.levels[level] ?? (this.full() ? undefined : (this.levels[level] = { given: [], pages: [], filled: new Uint8Array(PAGE_NODES / 8) }));
    if (!l) return;
    let page = l.pages[p];
    if (page === undefined) {
      if (this.full()) return;
      const given = typeof this.pages === 'number' ? heapPages() : this.pages.source();
      l.given[p] = given;
      page = l.pages[p] = bytesOf(given);
      this.held++;
    }
    if (index >= l.filled.length * 8) {
      let bits = l.filled.length * 8;
      while (bits <= index) bits *= 2;
      const filled = new Uint8Array(bits / 8);
      filled.set(l.filled);
      l.filled = filled;
    }
    page.set(hash, (index & (PAGE_NODES - 1)) * HASH);
    l.filled[index >> 3] = (l.filled[index >> 3] as number) | (1 << (index & 7));
  }

  // The budget's nodes in whole pages, and a page more for each level kept (each level's last
  // is partly filled): what the levels at or above the floor need, and never more.
  private full(): boolean {
    return this.held + 1 > Math.ceil(this.budget() / PAGE_NODES) + this.levelsKept;
  }

  /**
   * Reads the cached levels of a tree of `size` leaves from the store, top down, each level
   * in one pass of chunks of FILL_CHUNK (index, hash) pairs, a chunk a turn, so that soon
   * after a start proofs read only the levels below the floor, rather than each node the
   * first time it is asked for. A level is read from its first node not held: a cache
   * reopened as a clean shutdown left it reads nothing, or only the nodes the tree grew by
   * since. A node the store lacks (damage: reads report it) stays unfilled. Ends when
   * `stop()` says so.
   */
  async fill(size: number, read: (level: number, from: number, to: number) => AsyncIterable<Array<[number, Uint8Array]>>, stop: () => boolean): Promise<void> {
    for (let level = topLevel(size); level >= this.floor; level--) {
      const nodes = Math.floor(size / 2 ** level);
      const from = this.firstMissing(level, nodes);
      if (from === nodes) continue;
      for await (const chunk of read(level, from, nodes)) {
        if (stop() || level < this.floor) return;
        for (const [index, hash] of chunk) this.set({ level, index }, hash);
      }
    }
  }

  /** The level's first node not cached, or `count` when its first `count` all are. */
  private firstMissing(level: number, count: number): number {
    const l = this.levels[level];
    if (!l) return 0;
    let i = 0;
    while (i < count && isSet(l.filled, i)) i++;
    return i;
  }

  /** Raises the floor as the tree grows, so the cached levels stay within the budget. */
  noteTreeSize(size: number): void {
    const budget = this.budget();
    let floor = 0;
    while ((2 * size) / 2 ** floor > budget) floor++;
    const from = Number.isFinite(this.floor) ? this.floor : Math.min(this.restoredFloor ?? floor, floor);
    for (let level = from; level < floor; level++) this.drop(level);
    this.floor = Math.max(from, floor);
    this.levelsKept = Math.max(0, topLevel(size) + 1 - this.floor);
  }

  private drop(level: number): void {
    const l = this.levels[level];
    this.levels[level] = undefined;
    if (!l) return;
    const given = l.given.filter((p): p is Uint32Array => p !== undefined);
    this.held -= given.length;
    if (typeof this.pages !== 'number') this.pages.release?.(given);
  }
}

/** Refuses (RangeError) an image a cache could not read: a bad floor, or a bitmap naming a node on a page it does not have. */
export function checkNodeImage(image: NodeCacheImage): void {
  if (image.floor !== null && !(Number.isSafeInteger(image.floor) && image.floor >= 0)) throw new RangeError(`a floor of ${image.floor}`);
  image.levels.forEach((saved, level) => {
    if (!saved) return;
    const { filled, pages } = saved;
    if (filled.length === 0 || (filled.length & (filled.length - 1)) !== 0) throw new RangeError(`level ${level}: a bitmap of ${filled.length} bytes`);
    for (let byte = 0; byte < filled.length; byte++) {
      if (filled[byte] !== 0 && pages[(byte * 8) >> PAGE_NODES_SHIFT] === undefined) throw new RangeError(`level ${level}: node ${byte * 8} on no page`);
    }
  });
}

/** The highest level of a tree of `size` leaves with a complete node (its root's, for a power of two). */
const topLevel = (size: number) => Math.floor(Math.log2(Math.max(1, size)));

const isSet = (filled: Uint8Array, index: number) => index < filled.length * 8 && ((filled[index >> 3] as number) & (1 << (index & 7))) !== 0;

class BoundedMemo extends Map<string, Uint8Array> implements RangeMemo {
  constructor(private readonly most: number) {
    super();
  }
  override set(key: string, hash: Uint8Array): this {
    if (this.size >= this.most) this.clear();
    return super.set(key, hash);
  }
}
