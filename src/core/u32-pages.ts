/**
 * A growable array of unsigned 32-bit values kept in fixed pages of 64 Ki values (256 KB).
 * Growing adds a page and never copies, so an index of ten million frames never holds two
 * copies of an array while it grows (a doubling typed array holds three halves at its peak),
 * and reserves at most one page more than it uses. New values read 0.
 */
export const PAGE_SHIFT = 16;
export const PAGE_MASK = (1 << PAGE_SHIFT) - 1;

export class U32Pages {
  /** The pages: value i is pages[i >>> PAGE_SHIFT][i & PAGE_MASK]. */
  readonly pages: Uint32Array[] = [];
  private size = 0;

  /** Makes room for `n` more values and returns the index of the first. */
  extend(n: number): number {
    const first = this.size;
    this.size += n;
    while (this.pages.length << PAGE_SHIFT < this.size) this.pages.push(new Uint32Array(1 << PAGE_SHIFT));
    return first;
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
