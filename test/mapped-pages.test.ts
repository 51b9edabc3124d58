import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PAGE_SHIFT } from '../src/core/u32-pages.js';
import { MappedPages } from '../src/store/mapped-pages.js';
import { tempDir } from './helpers.js';

const run = promisify(execFile);
const PAGE_BYTES = 4 << PAGE_SHIFT;

/** The fixture's output, run with the file-size limit (KB) given, or none. */
async function fill(dir: string, works: number, limitKb?: number) {
  const limit = limitKb === undefined ? '' : `ulimit -f ${limitKb}; `;
  const { stdout } = await run('bash', ['-c', `${limit}exec node --import tsx test/fixtures/mapped-index.ts "$0" "$1"`, dir, String(works)], { timeout: 120_000 });
  return JSON.parse(stdout) as { mappedBytes: number; heapBytes: number; failure: string | null; frames: number; inFile: unknown[]; inHeap: unknown[] };
}

describe('mapped index pages', () => {
  it('gives zeroed pages of their own from a file that is gone from the folder as soon as it is made', async () => {
    const dir = await tempDir();
    const pages = new MappedPages(dir);
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
    const pages = new MappedPages(`${await tempDir()}/missing`);
    const page = pages.source();
    page[3] = 9;
    expect(page[3]).toBe(9);
    expect(pages.failure).toMatch(/ENOENT/);
    expect(pages.heapBytes).toBe(PAGE_BYTES);
    expect(pages.mappedBytes).toBe(0);
  });
});
