/**
 * The LevelDB backend's range reads (src/store/level-kv.ts): how many entries each step asks
 * classic-level for. A step reserves native room for that many entries (64 bytes each), kept
 * until the closed iterator is collected; a page that asks for 1,000 and finds a few must
 * not reserve room for 1,000 (checks grew the server's memory without bound that way).
 */
import { describe, expect, it } from 'vitest';
import { LevelKV } from '../src/store/level-kv.js';
import { tempDir } from './helpers.js';

describe('LevelDB range reads', () => {
  it('ask for 64 entries first when a page may hold many, and for a chunk whole when asked for chunks', async () => {
    const kv = await LevelKV.open(`${await tempDir()}/db`, { create: true });
    try {
      const keyOf = (i: number) => Uint8Array.of(7, i >> 8, i & 0xff);
      await kv.write(Array.from({ length: 3000 }, (_, i) => ({ type: 'put' as const, key: keyOf(i), value: Uint8Array.of(i & 0xff) })));
      // Record the size of every step the iterators take.
      const steps: number[] = [];
      const iterator = kv.db.iterator.bind(kv.db);
      kv.db.iterator = ((options: Parameters<typeof iterator>[0]) => {
        const it = iterator(options);
        const nextv = it.nextv.bind(it);
        it.nextv = ((size: number, ...rest: unknown[]) => (steps.push(size), nextv(size, ...(rest as []))));
        return it;
      }) as typeof kv.db.iterator;

      expect(await kv.range({ gte: keyOf(10), lt: keyOf(13), limit: 1000 })).toHaveLength(3);
      expect(steps[0]).toBe(64); // the next finds the iterator ended without a native call

      steps.length = 0;
      expect(await kv.range({ gte: keyOf(0), lt: keyOf(3000) })).toHaveLength(3000);
      expect(steps.slice(0, 4)).toEqual([64, 1024, 1024, 1024]);

      steps.length = 0;
      let read = 0;
      for await (const chunk of kv.chunks({ gte: keyOf(0), lt: keyOf(2000) }, 2001)) read += chunk.length;
      expect(read).toBe(2000);
      expect(steps[0]).toBe(2001);
    } finally {
      await kv.close();
    }
  });
});
