/**
 * A growable array of unsigned 32-bit values kept in fixed pages of 64 Ki values (256 KB).
 * Growing adds a page and never copies, so an index of ten million frames never holds two
 * copies of an array while it grows (a doubling typed array holds three halves at its peak),
 * and reserves at most one page more than it uses. New values read 0.
 */
export const PAGE_SHIFT = 16;
export const PAGE_MASK = (1 << PAGE_SHIFT) - 1;

/**
 * Where pages come from: each call returns a new zeroed page of 1 << PAGE_SHIFT values that
 * nothing else uses. The heap by default; the store's indexes take theirs from a file mapped
 * into memory (store/mapped-pages.ts), so what they hold is the kernel's to page out.
 */
export type PageSource = () => Uint32Array;

export const heapPages: PageSource = () => new Uint32Array(1 << PAGE_SHIFT);

/** What a U32Pages holds: its pages and how many values of them are in use. */
export interface PagedImage {
  pages: readonly Uint32Array[];
  length: number;
}

export class U32Pages {
  /** The pages: value i is pages[i >>> PAGE_SHIFT][i & PAGE_MASK]. */
  readonly pages: Uint32Array[];
  private size: number;

  /**
   * Empty, or over the pages of an `image` (which it goes on from, taking new pages from
   * `source`). An image is refused (RangeError) unless its pages are whole and exactly as
   * many as its length needs, as `extend` leaves them.
   */
  constructor(
    private readonly source: PageSource = heapPages,
    image: PagedImage = { pages: [], length: 0 },
  ) {
    const { pages, length } = image;
    if (!Number.isSafeInteger(length) || length < 0 || pages.length !== Math.ceil(length / (1 << PAGE_SHIFT)) || pages.some((p) => p.length !== 1 << PAGE_SHIFT)) {
      throw new RangeError(`a paged image of ${pages.length} pages cannot hold ${length} values`);
    }
    this.pages = [...image.pages];
    this.size = image.length;
  }

  /** The pages and the length in use, as they are now (the pages themselves, not copies). */
  get image(): PagedImage {
    return { pages: this.pages, length: this.size };
  }

  /** Makes room for `n` more values and returns the index of the first. */
  extend(n: number): number {
    const first = this.size;
    this.size += n;
    while (this.pages.length << PAGE_SHIFT < this.size) this.pages.push(this.source());
    return first;
  }

  /**
   * Makes room for `n` values (at most a page's) within one page, leaving the rest of the
   * current page unused when they do not fit there, and returns the index of the first: a
   * run `run` can read as one array.
   */
  extendWithin(n: number): number {
    if (n > 1 << PAGE_SHIFT) throw new RangeError(`a run of ${n} values does not fit in a page`);
    const left = (this.pages.length << PAGE_SHIFT) - this.size;
    if (n > left) this.size += left;
    return this.extend(n);
  }

  /** The `n` values from `at`, which `extendWithin` put in one page, as one array over them. */
  run(at: number, n: number): Uint32Array {
    const start = at & PAGE_MASK;
    return (this.pages[at >>> PAGE_SHIFT] as Uint32Array).subarray(start, start + n);
  }

  get(i: number): number {
    return (this.pages[i >>> PAGE_SHIFT] as Uint32Array)[i & PAGE_MASK] as number;
  }

  set(i: number, value: number): void {
    (this.pages[i >>> PAGE_SHIFT] as Uint32Array)[i & PAGE_MASK] = value;
  }

  /** Bytes held, counting the unused end of the last page. */
  get bytes(): number {
    return this.pages.length << (PAGE_SHIFT + 2);
  }
}
