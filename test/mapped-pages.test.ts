import { execFile } from 'node:child_process';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { deflateSync, inflateSync } from 'node:zlib';
import * as cbor from 'cborg';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../src/core/crypto.js';
import { encodeFrames, FINGERPRINT_KIND, PATCH_KIND } from '../src/core/fingerprint.js';
import { encodeSound, SOUND_KIND } from '../src/core/soundtrack.js';
import { PAGE_SHIFT } from '../src/core/u32-pages.js';
import type { LedgerStore } from '../src/store/ledger-store.js';
import { openLedger, type LedgerPaths } from '../src/store/ledger.js';
import { MappedPages, PAGE_BYTES } from '../src/store/mapped-pages.js';
import { openStore } from '../src/store/open-store.js';
import { content, party, stmt, tempDir } from './helpers.js';
import { freshDatabase, postgresMissing } from './postgres.js';

const run = promisify(execFile);

/** The fixture's output, run with the file-size limit (KB) given, or none. */
async function fill(dir: string, works: number, limitKb?: number) {
  const limit = limitKb === undefined ? '' : `ulimit -f ${limitKb}; `;
  const { stdout } = await run('bash', ['-c', `${limit}exec node --import tsx test/fixtures/mapped-index.ts "$0" "$1"`, dir, String(works)], { timeout: 120_000 });
  return JSON.parse(stdout) as { mappedBytes: number; heapBytes: number; failure: string | null; frames: number; inFile: unknown[]; inHeap: unknown[] };
}

describe('mapped index pages', () => {
  it('gives zeroed pages of their own from a file that is gone from the folder as soon as it is made', async () => {
    const dir = await tempDir();
    const pages = MappedPages.scratch(dir);
    const given = Array.from({ length: 12 }, () => pages.source());
    expect(given.every((p) => p.length === 1 << PAGE_SHIFT && p.every((v) => v === 0))).toBe(true);
    given.forEach((p, i) => p.fill(i + 1));
    expect(given.map((p) => p[0] === p[p.length - 1] && p[0])).toEqual(given.map((_, i) => i + 1));
    expect(pages.mappedBytes).toBe(12 * PAGE_BYTES);
    expect(pages.heapBytes).toBe(0);
    expect(pages.failure).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
    pages.close();
    // pages already given outlive the file's descriptor
    expect(given[11]?.[7]).toBe(12);
  });

  it('an index over mapped pages finds exactly what one over the heap finds', async () => {
    const out = await fill(await tempDir(), 60);
    expect(out.failure).toBeNull();
    expect(out.heapBytes).toBe(0);
    expect(out.mappedBytes).toBeGreaterThan(2 ** 20);
    expect(out.frames).toBe(60 * 700);
    expect(out.inFile.length).toBeGreaterThanOrEqual(9);
    expect(out.inFile).toEqual(out.inHeap);
  });

  it('a file that cannot grow (as on a full disk) leaves the index whole in heap pages, with the same answers', async () => {
    const out = await fill(await tempDir(), 60, 2048);
    expect(out.failure).toMatch(/EFBIG/);
    expect(out.mappedBytes).toBe(2 ** 21);
    expect(out.heapBytes).toBeGreaterThan(0);
    expect(out.frames).toBe(60 * 700);
    expect(out.inFile.length).toBeGreaterThanOrEqual(9);
    expect(out.inFile).toEqual(out.inHeap);
  });

  it('where the folder cannot take the file, every page is a heap page', async () => {
    const pages = MappedPages.scratch(`${await tempDir()}/missing`);
    const page = pages.source();
    page[3] = 9;
    expect(page[3]).toBe(9);
    expect(pages.failure).toMatch(/ENOENT/);
    expect(pages.heapBytes).toBe(PAGE_BYTES);
    expect(pages.mappedBytes).toBe(0);
  });
});

describe('fingerprint indexes kept across a clean restart', () => {
  const hash = (w: number, f: number) => sha256(Uint8Array.of(0x51, w, f)).slice(0, 16);
  const prints = (w: number) => [
    { kind: FINGERPRINT_KIND, value: encodeFrames(Array.from({ length: 30 }, (_, f) => ({ timeMs: f * 1000, hash: hash(w, f) }))) },
    { kind: PATCH_KIND, value: encodeFrames(Array.from({ length: 20 }, (_, f) => ({ timeMs: f * 1000, hash: hash(w, 100 + f) }))) },
    { kind: SOUND_KIND, value: encodeSound({ step: 1, values: Uint32Array.from({ length: 40 }, (_, i) => new DataView(sha256(Uint8Array.of(0x52, w, i)).buffer).getUint32(0)) }) },
  ];
  // A query near two frames of each work: every work's hits, in the index's total order.
  const query = (works: number) => Array.from({ length: works }, (_, w) => [3, 17].map((f) => ({ timeMs: w * 100 + f, hash: hash(w, f) }))).flat();
  const answers = (store: LedgerStore, works: number) => ({
    frames: store.similarity.search(query(works)),
    patches: store.patches.search(query(works).map((q, i) => ({ ...q, hash: hash(Math.floor(i / 2), 100 + (i % 2) * 7) }))),
    sound: store.sound.search(Uint32Array.from({ length: 40 }, (_, i) => new DataView(sha256(Uint8Array.of(0x52, 1, i)).buffer).getUint32(0))).map((m) => m.work),
  });
  // A rebuild adds works in the order of their ids; saved indexes keep the order they were added in (ledger order).
  const order = (store: LedgerStore) => store.similarity.image.works;

  async function registerWorks(paths: LedgerPaths, from: number, to: number) {
    const ledger = await openLedger(paths);
    const owner = party();
    for (let w = from; w < to; w++) await ledger.sequencer.submit(stmt.register(owner, content(), { title: `Saved index film ${w}`, fingerprints: prints(w) }));
    const inLedgerOrder = [...order(ledger.store)];
    await ledger.close();
    return inLedgerOrder;
  }

  it('reopens the indexes and title filter a clean shutdown saved, answering and growing as if never closed', async () => {
    const dir = await tempDir();
    const [dataDir, keysDir] = [`${dir}/data`, `${dir}/keys`];
    const added = await registerWorks({ dataDir, keysDir }, 0, 8);
    expect(added.length).toBe(8);
    expect(await readdir(dataDir)).toEqual(expect.arrayContaining(['fingerprint-index.pages', 'fingerprint-index.state']));

    // Reopened: the same works in the order they were added, not rebuilt in id order.
    const store = await openStore(dataDir);
    expect(order(store)).toEqual(added);
    expect(added).not.toEqual([...added].sort());
    // Taken at start: a crash from here on finds no saved state and rebuilds.
    expect(await readdir(dataDir)).not.toContain('fingerprint-index.state');
    const reopened = answers(store, 8);
    // the title filter came back with them
    expect((await store.findTitles('《Saved index film 5》')).matches.map((m) => m.work)).toEqual([added[5]]);
    await store.close();
    expect(store.indexesNotSaved).toBeUndefined();
    expect(reopened.frames.length).toBe(16);
    expect(new Set(reopened.patches.map((h) => h.work)).size).toBe(8);
    expect(reopened.sound.length).toBe(1);

    // More works on the reopened indexes, then the same store rebuilt from its records.
    await registerWorks({ dataDir, keysDir }, 8, 12);
    const grown = await openStore(dataDir);
    const afterGrowth = answers(grown, 12);
    expect(order(grown).slice(0, 8)).toEqual(added);
    await grown.close();
    await rm(`${dataDir}/fingerprint-index.state`);
    const rebuilt = await openStore(dataDir);
    expect(order(rebuilt)).toEqual([...order(rebuilt)].sort());
    expect(answers(rebuilt, 12)).toEqual(afterGrowth);
    expect(afterGrowth.frames.length).toBe(24);
    await rebuilt.close();
  });

  (postgresMissing ? it.skip : it)('by a PostgreSQL writer in its index folder, locked while it runs; without one they are built at every start', async () => {
    const dir = await tempDir();
    const [store, other] = [await freshDatabase(), await freshDatabase()];
    const indexDir = `${dir}/index`;
    const added = await registerWorks({ dataDir: `${dir}/data`, keysDir: `${dir}/keys`, store, indexDir }, 0, 8);
    expect(await readdir(indexDir)).toEqual(expect.arrayContaining(['fingerprint-index.pages', 'fingerprint-index.state', 'lock']));

    // Reopened in the order the works were added, not rebuilt in id order.
    const reopened = await openStore(store, { indexDir });
    expect(order(reopened)).toEqual(added);
    expect(added).not.toEqual([...added].sort());
    const kept = answers(reopened, 8);
    expect(kept.frames.length).toBe(16);
    // Another ledger's writer given the same folder is refused while it is held, before it touches its database.
    await expect(openStore(other, { indexDir })).rejects.toThrow(/index folder .* is in use by another process/);
    await reopened.close();
    expect(reopened.indexesNotSaved).toBeUndefined();

    // Without the folder they are rebuilt, with the same answers; a LevelDB store has no use for one.
    await expect(openStore(`${dir}/data`, { indexDir })).rejects.toThrow(/index folder is for a node on PostgreSQL/);
    const rebuilt = await openStore(store);
    expect(order(rebuilt)).toEqual([...added].sort());
    expect(answers(rebuilt, 8)).toEqual(kept);
    await rebuilt.close();
  });

  /** A store of six works whose clean shutdown saved its indexes, and their answers. */
  async function savedStore() {
    const dir = await tempDir();
    const [dataDir, keysDir] = [`${dir}/data`, `${dir}/keys`];
    await registerWorks({ dataDir, keysDir }, 0, 6);
    const first = await openStore(dataDir);
    const truth = answers(first, 6);
    await first.close();
    return { dir, dataDir, keysDir, truth };
  }

  it('rebuilds, with the same answers, when the saved pages are damaged or newer than the store; catches them up when older', async () => {
    const { dir, dataDir, keysDir, truth } = await savedStore();

    // one bit of the pages file flipped
    const pagesFile = `${dataDir}/fingerprint-index.pages`;
    const bytes = await readFile(pagesFile);
    bytes[4096 + 17] = (bytes[4096 + 17] as number) ^ 0x10;
    await writeFile(pagesFile, bytes);
    const damaged = await openStore(dataDir);
    expect(order(damaged)).toEqual([...order(damaged)].sort());
    expect(answers(damaged, 6)).toEqual(truth);
    await damaged.close();

    // Saved files from before two more registrations, put back beside the grown store: the
    // store holds the checkpoint they name, so they are reopened and the two added after them.
    await cp(dataDir, `${dir}/old`, { recursive: true, filter: (f) => !f.includes('/LOCK') });
    const savedOrder = order(await (async () => {
      const s = await openStore(`${dir}/old`);
      await s.close();
      return s;
    })());
    const grownOrder = await registerWorks({ dataDir, keysDir }, 6, 8);
    const grownAnswers = answers(await (async () => {
      const s = await openStore(dataDir);
      await s.close();
      return s;
    })(), 8);
    const [newerPages, newerState] = await Promise.all(['fingerprint-index.pages', 'fingerprint-index.state'].map((f) => readFile(`${dataDir}/${f}`)));
    for (const f of ['fingerprint-index.pages', 'fingerprint-index.state']) await cp(`${dir}/old/${f}`, `${dataDir}/${f}`);
    const caughtUp = await openStore(dataDir);
    expect(order(caughtUp)).toEqual(grownOrder);
    expect(order(caughtUp).slice(0, 6)).toEqual(savedOrder);
    expect(order(caughtUp)).not.toEqual([...grownOrder].sort()); // not rebuilt
    expect(caughtUp.indexedThrough).toEqual(await caughtUp.latestCheckpoint());
    expect(answers(caughtUp, 8)).toEqual(grownAnswers);
    expect(grownAnswers.frames.length).toBe(16);
    expect((await caughtUp.findTitles('《Saved index film 7》')).matches.map((m) => m.work)).toEqual([grownOrder[7]]);
    await caughtUp.close();

    // Files saved over 8 works beside the store of 6 they grew from (restored from an older
    // copy): it does not hold the checkpoint they name, so they are rebuilt from its records.
    await writeFile(`${dir}/old/fingerprint-index.pages`, newerPages!);
    await writeFile(`${dir}/old/fingerprint-index.state`, newerState!);
    const restored = await openStore(`${dir}/old`);
    expect(order(restored)).toEqual([...savedOrder].sort());
    expect(answers(restored, 6)).toEqual(truth);
    await restored.close();
  });

  it('gives again the pages no saved list names (a title filter being replaced at shutdown) before the file grows', async () => {
    const { dataDir } = await savedStore();
    const statePath = `${dataDir}/fingerprint-index.state`;
    const { body } = cbor.decode(await readFile(statePath)) as { body: Uint8Array };
    const state = cbor.decode(inflateSync(body)) as { givenBytes: number; titles: { words: { pages: number[] } } | null };
    const filterPages = state.titles!.words.pages.length;
    expect(filterPages).toBe(8); // 2^20 titles at 16 bits
    // As a shutdown while a larger filter was filling saves it: its pages in the file, named by no list.
    state.titles = null;
    const forged = deflateSync(cbor.encode(state));
    await writeFile(statePath, cbor.encode({ body: forged, digest: sha256(forged) }));
    const store = await openStore(dataDir);
    try {
      expect(order(store)).not.toEqual([...order(store)].sort()); // reopened, not rebuilt
      // The filter refilled from the stored titles, in the eight pages it had.
      expect(store.indexPages.mappedBytes).toBe(state.givenBytes);
      expect((await store.findTitles('《Saved index film 3》')).matches).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it('rebuilds, with the same answers, from a saved state written by hand whose digest matches but whose page lists lie', async () => {
    const { dataDir, truth } = await savedStore();
    type Paged = { pages: number[]; length: number };
    type Levels = Array<{ pages: Array<number | null>; filled: Uint8Array } | null>;
    type Forged = Record<'similarity' | 'patches', Record<string, unknown> & { count: number; records: Paged; pool: Paged }> & { sound: { postings: Paged }; titles: { words: Paged }; nodes: { levels: Levels } };
    const lowest = (s: Forged) => s.nodes.levels.find((l) => l !== null)!;
    const lies: Array<[string, (s: Forged) => void]> = [
      ['two indexes share a page', (s) => (s.patches.records.pages = s.similarity.records.pages)],
      ['a frame more than its records hold', (s) => (s.similarity.count += 1)],
      ['a page past the file', (s) => (s.sound.postings.pages = [s.sound.postings.pages[0]! + 1000 * PAGE_BYTES])],
      ['a length its pages cannot hold', (s) => (s.similarity.pool.length += 1 << PAGE_SHIFT)],
      ['the title filter shares a page with an index', (s) => (s.titles.words.pages[0] = s.similarity.records.pages[0]!)],
      ['the title filter has a page too few', (s) => s.titles.words.pages.pop()],
      ['the node cache shares a page with an index', (s) => (lowest(s).pages[0] = s.similarity.records.pages[0]!)],
      ['the node cache holds a node on a page its level does not have', (s) => (lowest(s).pages = [])],
    ];
    const statePath = `${dataDir}/fingerprint-index.state`;
    for (const [lie, forge] of lies) {
      const { body } = cbor.decode(await readFile(statePath)) as { body: Uint8Array };
      const state = cbor.decode(inflateSync(body)) as Forged;
      forge(state);
      const forged = deflateSync(cbor.encode(state));
      await writeFile(statePath, cbor.encode({ body: forged, digest: sha256(forged) }));
      const store = await openStore(dataDir);
      // rebuilt: works in id order (a reopened index keeps ledger order, as above)
      expect(order(store), lie).toEqual([...order(store)].sort());
      expect(answers(store, 6), lie).toEqual(truth);
      await store.noteTreeSize((await store.latestCheckpoint())!.size); // its node cache filled, saved for the next lie
      await store.close();
    }
  });
});
