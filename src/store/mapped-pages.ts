/**
 * The pages of a store's fingerprint indexes (frames, keypoint patches, soundtracks), in a
 * file mapped into memory (mmap, MAP_SHARED) instead of the heap, so what the indexes hold
 * is the kernel's to page out like any file's cached pages: the server's own memory stays
 * bounded however many frames are registered, and the pages a search reads stay in RAM
 * while RAM allows (issue 13.7). The search code is the same over either kind of page, so
 * every answer is the same (core/u32-pages.ts's PageSource).
 *
 * Two kinds of file. A scratch file (`scratch`) is unlinked as soon as it is opened: a crash
 * leaves nothing behind, and nothing outlives the process. A kept file (`create`, `reopen`)
 * stays at its path so a clean shutdown can save the indexes over it (saved-indexes.ts); its
 * contents mean something only together with the digest `flush` returns.
 *
 * Growing the file writes zeros before mapping them, so the disk blocks are taken then: a
 * full disk is an error at that point, answered with heap pages (counted in `heapBytes`,
 * the reason in `failure`), never a SIGBUS on the first write to a hole of a sparse file.
 * Where the native mapping cannot be loaded (a platform without a build of
 * @riaskov/mmap-io), every page is a heap page, and `failure` says why.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { heapPages, PAGE_SHIFT, type PageSource } from '../core/u32-pages.js';

interface Mmap {
  map(size: number, protection: number, flags: number, fd: number, offset: number, advise: number): Buffer;
  PROT_READ: number;
  PROT_WRITE: number;
  MAP_SHARED: number;
  MADV_RANDOM: number;
}

export const PAGE_BYTES = 4 << PAGE_SHIFT;
// The file grows by doubling from 1 MB to 64 MB a step: a store with few fingerprints maps
// little, and an index of tens of gigabytes is a few hundred mappings (the kernel allows
// 65,530 a process by default). A file reopened is mapped in the same steps.
const FIRST_STEP = 1 << 20;
const LARGEST_STEP = 64 << 20;
const stepAfter = (fileBytes: number) => Math.min(Math.max(FIRST_STEP, fileBytes), LARGEST_STEP);
const ZEROS = new Uint8Array(1 << 20);

let mmap: Mmap | string | undefined;
/** The native mapping, or why it could not be loaded; loaded once, on first use. */
function nativeMap(): Mmap | string {
  if (mmap === undefined) {
    try {
      mmap = createRequire(import.meta.url)('@riaskov/mmap-io') as Mmap;
    } catch (e) {
      mmap = `memory mapping unavailable (${(e as Error).message.split('\n')[0]})`;
    }
  }
  return mmap;
}

export class MappedPages {
  private fd: number | null = null;
  // The file's mapped steps, in order; the last is where pages are given from.
  private readonly chunks: Uint32Array[] = [];
  private readonly offsets = new WeakMap<Uint32Array, number>();
  // Offsets of pages given back (`release`), given again first.
  private readonly free: number[] = [];
  private fileBytes = 0;
  /** bytes of pages given from the mapped file */
  mappedBytes = 0;
  /** bytes of pages given from the heap, after a failure */
  heapBytes = 0;
  /** why pages come from the heap, if they do */
  failure: string | undefined;

  private constructor(private readonly open: () => number) {}

  /** Pages in a file of their own in `dir`, gone as soon as it is made (made at the first page). */
  static scratch(dir: string): MappedPages {
    return new MappedPages(() => {
      const path = join(dir, `fingerprint-index-${process.pid}-${Date.now()}.pages`);
      const fd = openSync(path, 'w+', 0o600);
      unlinkSync(path);
      return fd;
    });
  }

  /** Pages in the file at `path`, emptied first (made at the first page). */
  static create(path: string): MappedPages {
    return new MappedPages(() => openSync(path, 'w+', 0o600));
  }

  /**
   * The pages of the file at `path` as `flush` left them, when its first `givenBytes` still
   * have `digest`; undefined when the file is missing, shorter, or differs (damaged, or
   * written after the digest was taken), or cannot be mapped.
   */
  static reopen(path: string, givenBytes: number, digest: string): MappedPages | undefined {
    const native = nativeMap();
    if (typeof native === 'string') return undefined;
    let fd: number;
    try {
      fd = openSync(path, 'r+');
    } catch {
      return undefined;
    }
    const pages = new MappedPages(() => fd);
    pages.fd = fd;
    try {
      const size = fstatSync(fd).size;
      while (pages.fileBytes < givenBytes) {
        const step = stepAfter(pages.fileBytes);
        if (pages.fileBytes + step > size) throw new Error('shorter than it was');
        pages.map(native, step);
      }
      pages.mappedBytes = givenBytes;
      if (pages.digest() !== digest) throw new Error('changed');
      // The rest of the last step is given as new pages, which must read 0.
      const last = pages.chunks[pages.chunks.length - 1];
      last?.fill(0, last.length - (pages.fileBytes - givenBytes) / 4);
      return pages;
    } catch {
      pages.close();
      return undefined;
    }
  }

  readonly source: PageSource = () => {
    const free = this.free.pop();
    if (free !== undefined) return this.pageAt(free).fill(0);
    if (this.failure === undefined && this.mappedBytes === this.fileBytes) this.grow();
    if (this.failure !== undefined) {
      this.heapBytes += PAGE_BYTES;
      return heapPages();
    }
    const page = this.pageAt(this.mappedBytes);
    this.offsets.set(page, this.mappedBytes);
    this.mappedBytes += PAGE_BYTES;
    return page;
  };

  /**
   * Takes back pages this gave that nothing will read again, to give them again before the
   * file grows (a node cache's dropped levels, a replaced title filter, pages a reopened
   * state names for nothing); heap pages are left to the collector.
   */
  release(pages: readonly Uint32Array[]): void {
    for (const page of pages) {
      const at = this.offsets.get(page);
      if (at !== undefined) this.free.push(at);
    }
  }

  /** Where in the file a page this gave starts (bytes), or undefined for a heap page. */
  offsetOf(page: Uint32Array): number | undefined {
    return this.offsets.get(page);
  }

  /** The page at `offset` bytes into the file, which `source` gave before. */
  pageAt(offset: number): Uint32Array {
    let start = 0;
    for (const chunk of this.chunks) {
      if (offset < start + chunk.byteLength) {
        const page = chunk.subarray((offset - start) / 4, (offset - start + PAGE_BYTES) / 4);
        this.offsets.set(page, offset);
        return page;
      }
      start += chunk.byteLength;
    }
    throw new RangeError(`no page at ${offset} of ${this.fileBytes} bytes`);
  }

  private grow(): void {
    const native = nativeMap();
    if (typeof native === 'string') {
      this.failure = native;
      return;
    }
    try {
      this.fd ??= this.open();
      const step = stepAfter(this.fileBytes);
      for (let done = 0; done < step; ) done += writeSync(this.fd, ZEROS, 0, Math.min(ZEROS.length, step - done), this.fileBytes + done);
      this.map(native, step);
    } catch (e) {
      this.failure = `index pages in the heap from ${this.mappedBytes} bytes on: ${(e as Error).message}`;
    }
  }

  private map(native: Mmap, step: number): void {
    const bytes = native.map(step, native.PROT_READ | native.PROT_WRITE, native.MAP_SHARED, this.fd as number, this.fileBytes, native.MADV_RANDOM);
    this.chunks.push(new Uint32Array(bytes.buffer, bytes.byteOffset, step / 4));
    this.fileBytes += step;
  }

  /** SHA-256 of the pages given so far, hex. */
  private digest(): string {
    const hash = createHash('sha256');
    let left = this.mappedBytes;
    for (const chunk of this.chunks) {
      const n = Math.min(left, chunk.byteLength);
      hash.update(new Uint8Array(chunk.buffer, chunk.byteOffset, n));
      left -= n;
    }
    return hash.digest('hex');
  }

  /**
   * Makes what the pages hold durable (fsync covers pages written through a shared mapping)
   * and returns their digest, for `reopen` (none given: 0 bytes, and no file to reopen);
   * undefined when any page is in the heap.
   */
  flush(): { givenBytes: number; digest: string } | undefined {
    if (this.heapBytes > 0) return undefined;
    if (this.fd !== null) fsyncSync(this.fd);
    return { givenBytes: this.mappedBytes, digest: this.digest() };
  }

  /** Closes the file; pages already given stay mapped while the indexes holding them live. */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.failure ??= 'closed';
  }
}
