/**
 * The pages of a store's fingerprint indexes (frames, keypoint patches, soundtracks), in a
 * file mapped into memory (mmap, MAP_SHARED) instead of the heap, so what the indexes hold
 * is the kernel's to page out like any file's cached pages: the server's own memory stays
 * bounded however many frames are registered, and the pages a search reads stay in RAM
 * while RAM allows (issue 13.7). The search code is the same over either kind of page, so
 * every answer is the same (core/u32-pages.ts's PageSource).
 *
 * Guarantees: nothing across restarts. The file is unlinked as soon as it is opened, so a
 * crash or kill -9 leaves nothing behind, and a start rebuilds the indexes from the store's
 * derived records as it always has. Growing the file writes zeros before mapping them, so
 * the disk blocks are taken then: a full disk is an error at that point, answered with heap
 * pages (counted in `heapBytes`, the reason in `failure`), never a SIGBUS on the first write
 * to a hole of a sparse file. Where the native mapping cannot be loaded (a platform without
 * a build of @riaskov/mmap-io), every page is a heap page, and `failure` says why.
 */
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
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

const PAGE_VALUES = 1 << PAGE_SHIFT;
// The file grows by doubling from 1 MB to 64 MB a step: a store with few fingerprints maps
// little, and an index of tens of gigabytes is a few hundred mappings (the kernel allows
// 65,530 a process by default).
const FIRST_STEP = 1 << 20;
const LARGEST_STEP = 64 << 20;
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
  private chunk: Uint32Array | null = null;
  private used = 0;
  private fileBytes = 0;
  /** bytes of pages given from the mapped file */
  mappedBytes = 0;
  /** bytes of pages given from the heap, after a failure */
  heapBytes = 0;
  /** why pages come from the heap, if they do */
  failure: string | undefined;

  /** Pages in a new file in `dir`, made when the first page is asked for. */
  constructor(private readonly dir: string) {}

  readonly source: PageSource = () => {
    if (this.failure === undefined && (this.chunk === null || this.used === this.chunk.length)) this.grow();
    if (this.failure !== undefined || this.chunk === null) {
      this.heapBytes += PAGE_VALUES * 4;
      return heapPages();
    }
    const page = this.chunk.subarray(this.used, this.used + PAGE_VALUES);
    this.used += PAGE_VALUES;
    this.mappedBytes += PAGE_VALUES * 4;
    return page;
  };

  private grow(): void {
    const native = nativeMap();
    if (typeof native === 'string') {
      this.failure = native;
      return;
    }
    try {
      if (this.fd === null) {
        const path = join(this.dir, `fingerprint-index-${process.pid}-${Date.now()}.pages`);
        this.fd = openSync(path, 'w+', 0o600);
        unlinkSync(path);
      }
      const step = Math.min(Math.max(FIRST_STEP, this.fileBytes), LARGEST_STEP);
      for (let done = 0; done < step; ) done += writeSync(this.fd, ZEROS, 0, Math.min(ZEROS.length, step - done), this.fileBytes + done);
      const bytes = native.map(step, native.PROT_READ | native.PROT_WRITE, native.MAP_SHARED, this.fd, this.fileBytes, native.MADV_RANDOM);
      this.fileBytes += step;
      this.chunk = new Uint32Array(bytes.buffer, bytes.byteOffset, step / 4);
      this.used = 0;
    } catch (e) {
      this.failure = `index pages in the heap from ${this.mappedBytes} bytes on: ${(e as Error).message}`;
    }
  }

  /** Closes the file; pages already given stay mapped while the indexes holding them live. */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.chunk = null;
    this.failure ??= 'closed';
  }
}
