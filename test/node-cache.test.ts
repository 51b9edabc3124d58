/**
 * The node cache (src/store/node-cache.ts): the tree's levels in pages, bounded by a budget
 * that raises the floor as the tree grows, filled from the store at a start or kept across a
 * clean restart; and a real ledger whose proofs, served from it, are the reference tree's.
 */
import { describe, expect, it } from 'vitest';
import { hashRanges, inclusionPlan, consistencyPlan, type NodeId } from '../src/core/merkle.js';
import { NodeCache } from '../src/store/node-cache.js';
import { RecordView } from '../src/store/record-view.js';
import type { SimilarityIndex } from '../src/core/similarity.js';
import { readUintBE } from '../src/core/bytes.js';
import { openLedger } from '../src/store/ledger.js';
import { openStore } from '../src/store/open-store.js';
import { PREFIX, prefixRange } from '../src/store/layout.js';
import { MappedPages, PAGE_BYTES } from '../src/store/mapped-pages.js';
import { ledgerFixture, memoryTree, party, stmt, tempDir } from './helpers.js';

const nodeHash = ({ level, index }: NodeId) => {
  const h = new Uint8Array(32);
  new DataView(h.buffer).setUint32(0, level);
  new DataView(h.buffer).setUint32(4, index);
  h[31] = 0xa5;
  return h;
};

describe('the node cache', () => {
  it('keeps nothing until it knows the tree, then only levels within its budget', () => {
    const cache = new NodeCache(64);
    cache.set({ level: 5, index: 0 }, nodeHash({ level: 5, index: 0 }));
    expect(cache.get({ level: 5, index: 0 })).toBeUndefined();

    cache.noteTreeSize(32); // 2 × 32 nodes fit in 64: every level
    for (const id of [{ level: 0, index: 31 }, { level: 0, index: 5000 }, { level: 3, index: 2 }]) cache.set(id, nodeHash(id));
    expect(cache.get({ level: 0, index: 31 })).toEqual(nodeHash({ level: 0, index: 31 }));
    expect(cache.get({ level: 0, index: 5000 })).toEqual(nodeHash({ level: 0, index: 5000 }));
    expect(cache.get({ level: 3, index: 2 })).toEqual(nodeHash({ level: 3, index: 2 }));
    expect(cache.get({ level: 0, index: 30 })).toBeUndefined(); // never set
    expect(cache.get({ level: 3, index: 1 << 20 })).toBeUndefined(); // past the level's arrays

    cache.noteTreeSize(100); // 2 × 100 / 2^2 = 50 ≤ 64: levels 2 and up
    expect(cache.get({ level: 0, index: 31 })).toBeUndefined();
    cache.set({ level: 1, index: 0 }, nodeHash({ level: 1, index: 0 }));
    expect(cache.get({ level: 1, index: 0 })).toBeUndefined();
    expect(cache.get({ level: 3, index: 2 })).toEqual(nodeHash({ level: 3, index: 2 }));

    cache.noteTreeSize(32); // a floor never falls: the dropped levels stay dropped
    cache.set({ level: 0, index: 1 }, nodeHash({ level: 0, index: 1 }));
    expect(cache.get({ level: 0, index: 1 })).toBeUndefined();
  });

  it('fills its levels from the store top down, a level in one pass from its first node not held, stops when told, and leaves a node the store lacks unfilled', async () => {
    const asked: Array<[number, number, number]> = [];
    const read = (missing?: { level: number; index: number }) =>
      async function* (level: number, from: number, to: number): AsyncIterable<Array<[number, Uint8Array]>> {
        asked.push([level, from, to]);
        for (let first = from; first < to; first += 4096) {
          const ids = Array.from({ length: Math.min(4096, to - first) }, (_, i) => ({ level, index: first + i }));
          yield ids.filter((id) => id.level !== missing?.level || id.index !== missing.index).map((id): [number, Uint8Array] => [id.index, nodeHash(id)]);
        }
      };
    const size = 10_000;
    const whole = new NodeCache(1 << 13); // 2 × 10,000 / 2^2 = 5,000 ≤ 8,192: levels 2 and up
    whole.noteTreeSize(size);
    await whole.fill(size, read(), () => false);
    expect(asked[0]).toEqual([13, 0, 1]);
    expect(asked.at(-1)).toEqual([2, 0, 2500]);
    for (let level = 2; level <= 13; level++) {
      const nodes = Math.floor(size / 2 ** level);
      expect(whole.get({ level, index: nodes - 1 })).toEqual(nodeHash({ level, index: nodes - 1 }));
      expect(whole.get({ level, index: nodes })).toBeUndefined(); // not complete yet: not in the store
    }
    expect(whole.get({ level: 1, index: 0 })).toBeUndefined();

    // Held whole already (as reopened after a clean shutdown): nothing is read.
    asked.length = 0;
    await whole.fill(size, read(), () => false);
    expect(asked).toEqual([]);

    // The tree grew since (a node restarted behind its writer): each level from where it ended.
    await whole.fill(12_000, read(), () => false);
    expect(asked).toEqual(Array.from({ length: 12 }, (_, i) => 13 - i).map((level) => [level, Math.floor(size / 2 ** level), Math.floor(12_000 / 2 ** level)]).filter(([, from, to]) => from! < to!));
    expect(whole.get({ level: 2, index: 2999 })).toEqual(nodeHash({ level: 2, index: 2999 }));

    asked.length = 0;
    const stopped = new NodeCache(1 << 13);
    stopped.noteTreeSize(size);
    await stopped.fill(size, read(), () => asked.length >= 3);
    expect(asked.map(([level]) => level)).toEqual([13, 12, 11]);
    expect(stopped.get({ level: 12, index: 1 })).toEqual(nodeHash({ level: 12, index: 1 }));
    expect(stopped.get({ level: 11, index: 0 })).toBeUndefined();

    const damaged = new NodeCache(1 << 13);
    damaged.noteTreeSize(size);
    await damaged.fill(size, read({ level: 9, index: 7 }), () => false);
    expect(damaged.get({ level: 9, index: 7 })).toBeUndefined();
    for (const index of [0, 6, 8, 18]) expect(damaged.get({ level: 9, index })).toEqual(nodeHash({ level: 9, index })); // none misplaced
    expect(damaged.get({ level: 8, index: 0 })).toEqual(nodeHash({ level: 8, index: 0 }));
  });

  it('takes no more pages than its budget allows, and a mapped file gives a dropped level\'s pages again', async () => {
    const pages = MappedPages.scratch(await tempDir());
    let budget = 1 << 15; // 4 pages of 8 Ki hashes
    const cache = new NodeCache({ source: pages.source, budget: () => budget, release: (given) => pages.release(given) });
    cache.noteTreeSize(1 << 14); // 2^15 nodes: every level
    for (let index = 0; index < 1 << 14; index++) cache.set({ level: 0, index }, nodeHash({ level: 0, index }));
    for (let index = 0; index < 1 << 13; index++) cache.set({ level: 1, index }, nodeHash({ level: 1, index }));
    const grown = pages.mappedBytes;
    expect(grown).toBe(3 * PAGE_BYTES);
    expect(cache.get({ level: 0, index: 12_345 })).toEqual(nodeHash({ level: 0, index: 12_345 }));

    // The budget falls (as when the file cannot grow): a page for each of the 15 levels of
    // the tree at most, whatever is asked.
    budget = 1;
    for (let k = 0; k < 40; k++) cache.set({ level: 2, index: k << 13 }, nodeHash({ level: 2, index: k << 13 }));
    expect(cache.get({ level: 2, index: 0 })).toEqual(nodeHash({ level: 2, index: 0 }));
    expect(cache.get({ level: 2, index: 39 << 13 })).toBeUndefined();
    expect(pages.mappedBytes).toBe(16 * PAGE_BYTES);

    // Level 0 dropped as the tree grows: its two pages come back, zeroed, for level 1's second and level 3's first.
    budget = 1 << 15;
    cache.noteTreeSize(1 << 15);
    expect(cache.get({ level: 0, index: 12_345 })).toBeUndefined();
    cache.set({ level: 1, index: 1 << 13 }, nodeHash({ level: 1, index: 1 << 13 }));
    cache.set({ level: 3, index: 0 }, nodeHash({ level: 3, index: 0 }));
    expect(pages.mappedBytes).toBe(16 * PAGE_BYTES);
    expect(cache.get({ level: 1, index: (1 << 13) + 1 })).toBeUndefined();
    expect(cache.get({ level: 1, index: 1 << 13 })).toEqual(nodeHash({ level: 1, index: 1 << 13 }));
    expect(cache.get({ level: 1, index: 8000 })).toEqual(nodeHash({ level: 1, index: 8000 }));
    expect(cache.get({ level: 3, index: 0 })).toEqual(nodeHash({ level: 3, index: 0 }));
    // 16 pages, and bitmaps: level 1's of two pages' nodes, level 2's grown to its node 12 << 13, level 3's first
    expect(cache.bytes).toBe(16 * PAGE_BYTES + 2048 + 16384 + 1024);
    pages.close();
  });

  it('remembers the ranges a proof folds, shared by every view, but never one folded from a run that missed nodes', () => {
    const reference = memoryTree(Array.from({ length: 100 }, (_, i) => Uint8Array.of(i)));
    // Views over a store that holds the reference tree's nodes, except the ones in `lost`.
    const viewOver = (cache: NodeCache, lost: Set<string>) => {
      const missed: string[] = [];
      const peek = (k: Uint8Array) => {
        const id = { level: k[1] as number, index: readUintBE(k.subarray(2)) };
        if (lost.has(`${id.level}/${id.index}`)) return void missed.push(`${id.level}/${id.index}`);
        return reference.read([id])[0];
      };
      // The proofs read no fingerprints: the view's index is never reached.
      return { view: new RecordView(peek, undefined as unknown as SimilarityIndex, cache, () => missed.length > 0), missed };
    };
    const plan = inclusionPlan(3, 100); // its last range, [64, 100), folds nodes [64, 96) and [96, 100)
    const expected = hashRanges(plan, reference.read);

    const cache = new NodeCache(1); // no level cached: every node is read from the store
    cache.noteTreeSize(100);
    expect(viewOver(cache, new Set()).view.hashRanges(plan)).toEqual(expected);
    expect(cache.ranges.get('64-100')).toEqual(hashRanges([[64, 100]], reference.read)[0]);
    const again = viewOver(cache, new Set(['5/2', '2/24'])); // [64, 100)'s nodes gone from the store
    expect(again.view.hashRanges(plan)).toEqual(expected); // from the remembered fold
    expect(again.missed).toEqual([]);

    const fresh = new NodeCache(1);
    fresh.noteTreeSize(100);
    const incomplete = viewOver(fresh, new Set(['5/2']));
    expect(incomplete.view.hashRanges(plan)).not.toEqual(expected); // folded over a placeholder, discarded by its caller
    expect(incomplete.missed).toEqual(['5/2']);
    expect(fresh.ranges.get('64-100')).toBeUndefined();
    expect(viewOver(fresh, new Set()).view.hashRanges(plan)).toEqual(expected);
  });

  it("a ledger's node cache comes back with its indexes after a clean restart, read from no node of the store", async () => {
    const f = await ledgerFixture();
    const alice = party();
    for (let i = 0; i < 300; i++) await f.submit(stmt.register(alice));
    const size = f.ledger.sequencer.size;
    await f.ledger.store.noteTreeSize(size); // filled at open
    const leaves: Uint8Array[] = [];
    for (let i = 0; i < size; i++) leaves.push((await f.ledger.store.read((view) => view.leaf(i)))!);
    const reference = memoryTree(leaves);
    await f.ledger.close();
    const store = await openStore(`${f.dir}/data`);
    try {
      // Every node gone from the store before the cache could be filled from it: what proofs read, the restart kept.
      const nodes = await store.kv.range(prefixRange(PREFIX.node));
      expect(nodes.length).toBeGreaterThan(size);
      await store.write(nodes.map(([key]) => ({ type: 'del' as const, key })));
      await store.noteTreeSize(size); // a fill now would find nothing to read
      for (const [index, to] of [[0, size], [137, size], [size - 1, size], [64, 200]] as const) {
        expect(await store.read((view) => hashRanges(inclusionPlan(index, to), view.readNodes))).toEqual(hashRanges(inclusionPlan(index, to), reference.read));
      }
      expect(store.nodeCache.bytes).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it("a real ledger's proofs come from its cache once filled at a start, and are the reference tree's", async () => {
    const f = await ledgerFixture();
    const alice = party();
    for (let i = 0; i < 300; i++) await f.submit(stmt.register(alice));
    await f.ledger.close();
    // What /metrics reports as cartulary_node_cache_filling: true from the fill's start to its end.
    const store = await openStore(`${f.dir}/data`);
    const size0 = (await store.latestCheckpoint())!.size;
    expect(store.nodeFilling).toBe(false);
    const filled = store.noteTreeSize(size0);
    expect(store.nodeFilling).toBe(true);
    await filled;
    expect(store.nodeFilling).toBe(false);
    await store.close();
    const ledger = await openLedger({ dataDir: `${f.dir}/data`, keysDir: `${f.dir}/keys` });
    try {
      const size = ledger.sequencer.size;
      const leaves: Uint8Array[] = [];
      for (let i = 0; i < size; i++) leaves.push((await ledger.store.read((view) => view.leaf(i)))!);
      const reference = memoryTree(leaves);
      await ledger.store.noteTreeSize(size); // the fill begun at open has ended
      expect(ledger.store.nodeFilling).toBe(false);
      // Every node gone from the store: what proofs read now, they read from the cache.
      const nodes = await ledger.store.kv.range(prefixRange(PREFIX.node));
      let complete = 0;
      for (let level = 0; 2 ** level <= size; level++) complete += Math.floor(size / 2 ** level);
      expect(nodes.length).toBe(complete);
      await ledger.store.write(nodes.map(([key]) => ({ type: 'del' as const, key })));
      for (const [index, to] of [[0, size], [137, size], [size - 1, size], [64, 200]] as const) {
        const fromStore = await ledger.store.read((view) => hashRanges(inclusionPlan(index, to), view.readNodes));
        expect(fromStore).toEqual(hashRanges(inclusionPlan(index, to), reference.read));
        const consistency = await ledger.store.read((view) => hashRanges(consistencyPlan(index + 1, to), view.readNodes));
        expect(consistency).toEqual(hashRanges(consistencyPlan(index + 1, to), reference.read));
      }
    } finally {
      await ledger.close();
    }
  });
});
