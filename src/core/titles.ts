/**
 * Titles and keywords (关键词, issue 13.4): which registered works an upload's title and
 * description name. Both sides are normalised first: full-width → half-width and
 * compatibility forms (NFKC), lower case, traditional → simplified Chinese (OpenCC), and
 * every space, punctuation mark and symbol removed, so "長 安·十二時辰" finds 长安十二时辰.
 * Titles in 《…》 and the recap and compilation patterns platforms see ("3分钟看完", 速看,
 * 解说, 合集, 混剪…) are recognised. A title match alone is weak evidence: a check reports
 * it at review strength.
 *
 * The index lives in the store, not in memory (issue 11.6: an automaton over every title
 * held ~690 bytes a title, 7 GB at 10 M works). Each title is filed under the digest of its
 * normalised form's first INDEXED_LENGTH characters, in the batch that registers the work.
 * What stays in memory is a filter of those prefixes' rolling hashes (TitleFilter, 2–4
 * bytes a title). A text is searched by hashing each of its substrings up to INDEXED_LENGTH
 * once (rolling, so O(length × INDEXED_LENGTH)), keeping those the filter may hold, and
 * reading the titles filed under them; only titles that really occur in the text count.
 */
import { Converter } from 'opencc-js/t2cn';
import { sha256 } from './crypto.js';
import { utf8 } from './bytes.js';
import { heapPages, PAGE_MASK, PAGE_SHIFT, U32Pages, type PageSource, type PagedImage } from './u32-pages.js';

const toSimplified = Converter({ from: 't', to: 'cn' });
const SEPARATORS = /[\s\p{P}\p{S}]/gu;

/** The form titles are compared in. */
export function normaliseTitle(text: string): string {
  return toSimplified(text.normalize('NFKC').toLowerCase()).replace(SEPARATORS, '');
}

/** Titles shorter than this (normalised) are too common to count unless in 《…》 or beside a pattern. */
export const MIN_FREE_TITLE = 4;

/**
 * A title is filed under its first this many characters (UTF-16 units) normalised; longer
 * titles share a prefix's records and are told apart when read.
 */
export const INDEXED_LENGTH = 48;

/** At most this many works reported for one text. */
const MAX_TITLE_MATCHES = 16;

/**
 * At most this many distinct prefixes are read for one text, the longest first: a text of
 * the largest size the check takes (6,000 characters) has ~290,000 substrings to test, and
 * the filter's false positives (~0.1 %) must not turn into unbounded store reads.
 */
export const MAX_TITLE_LOOKUPS = 256;

/** Titles read under one prefix: the earliest registered first, enough to fill an answer and to tell long titles apart. */
export const TITLES_PER_PREFIX = 64;

const PATTERNS: Array<{ use: 'recap' | 'compilation' | 'clip'; re: RegExp }> = [
  { use: 'recap', re: /[0-9一二三四五六七八九十百几]+分钟(带你)?(看完|看懂|读完|速看)|速看|解说|看完|剧情|一口气/ },
  { use: 'compilation', re: /合集|合辑|混剪|盘点|高能片段|名场面/ },
  { use: 'clip', re: /大结局|片段|cut|切片/ },
];

export interface TitleMatch {
  work: string;
  /** the ledger index of the work's registration: ties break by it */
  workIndex: number;
  /** the registered title or alias that was found */
  title: string;
  /** found inside 《…》, or in the running text */
  via: 'brackets' | 'text';
}

export interface TitleFindings {
  matches: TitleMatch[];
  /** the use the text's patterns imply, if any */
  use: 'recap' | 'compilation' | 'clip' | null;
}

/** One registered title or alias, as filed in the store. */
export interface FiledTitle {
  work: string;
  workIndex: number;
  title: string;
  /** the title normalised: what a text must contain */
  key: string;
  /** the rolling hash of the indexed prefix, two 32-bit lanes: what the filter holds */
  hash: readonly [number, number];
  /** SHA-256 of the indexed prefix, first 16 bytes: the store key's stem */
  digest: Uint8Array;
}

// Two 32-bit lanes of a multiply-xorshift hash, one character at a time, so every prefix of
// a text's suffix is hashed in one pass. Not cryptographic: a collision costs one store
// read, which MAX_TITLE_LOOKUPS bounds; the store's key is a SHA-256 digest.
const LANE_SEEDS = [0x811c9dc5, 0x9747b28c] as const;
const step1 = (h: number, c: number) => {
  const x = Math.imul(h ^ c, 0x01000193);
  return x ^ (x >>> 15);
};
const step2 = (h: number, c: number) => {
  const x = Math.imul(h ^ c, 0x5bd1e995);
  return x ^ (x >>> 13);
};

function prefixHash(key: string): [number, number] {
  let h1: number = LANE_SEEDS[0];
  let h2: number = LANE_SEEDS[1];
  const end = Math.min(key.length, INDEXED_LENGTH);
  for (let i = 0; i < end; i++) {
    const c = key.charCodeAt(i);
    h1 = step1(h1, c);
    h2 = step2(h2, c);
  }
  return [h1 >>> 0, h2 >>> 0];
}

/** The store key's stem for a normalised prefix. */
export const titleDigest = (prefix: string): Uint8Array => sha256(utf8(prefix.slice(0, INDEXED_LENGTH))).subarray(0, 16);

/** How a work's title and aliases are filed: one per distinct normalised form, none for an empty one. */
export function fileTitles(work: string, workIndex: number, titles: readonly string[]): FiledTitle[] {
  const seen = new Set<string>();
  const filed: FiledTitle[] = [];
  for (const title of titles) {
    const key = normaliseTitle(title);
    if (key.length === 0 || seen.has(key)) continue;
    seen.add(key);
    filed.push({ work, workIndex, title, key, hash: prefixHash(key), digest: titleDigest(key) });
  }
  return filed;
}

/** Bits of filter per title at its capacity: 0.14 % false positives there, fewer below (test/titles.test.ts). */
const BITS_PER_TITLE = 16;
const BLOCK_WORDS = 8;
const SALTS = [0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31];

/**
 * A split-block Bloom filter of titles' prefix hashes (the layout of Parquet's): each title
 * sets one bit in each of eight words of one 256-bit block, so a test touches one cache
 * line. It may answer yes for a prefix never filed, never no for one that was.
 */
export class TitleFilter {
  // Pages of 64 Ki words: a block (8 words) never straddles two.
  private readonly words: U32Pages;
  private readonly blocks: number;
  /** titles added, repeats included */
  count = 0;

  /**
   * A filter for `capacity` titles (it takes more, with more false positives), its words in
   * pages from `source` (a store gives its mapped file's, so the filter is the kernel's to page
   * out like the fingerprint indexes: 33 MB at 10 M titles); with `saved`, the `image` of one
   * of that capacity, as it was, over its own pages.
   */
  constructor(
    readonly capacity: number,
    source: PageSource = heapPages,
    saved?: { count: number; words: PagedImage },
  ) {
    this.blocks = Math.max(1, Math.ceil((capacity * BITS_PER_TITLE) / 256));
    const length = this.blocks * BLOCK_WORDS;
    this.words = new U32Pages(source, saved?.words);
    if (saved === undefined) this.words.extend(length);
    else if (saved.words.length !== length) throw new RangeError(`a filter of ${capacity} titles has ${length} words, not ${saved.words.length}`);
    this.count = saved?.count ?? 0;
  }

  /** What the filter holds (its pages, not copies), for a store to keep it across restarts. */
  get image(): { capacity: number; count: number; words: PagedImage } {
    return { capacity: this.capacity, count: this.count, words: this.words.image };
  }

  // The block from the first lane, scaled rather than masked so any number of blocks will do.
  private base(h1: number): number {
    return Math.floor(((h1 >>> 0) * this.blocks) / 2 ** 32) * BLOCK_WORDS;
  }

  /** Bytes of its bits (16 a title at capacity); the pages holding them round this up to 256 KB. */
  get bytes(): number {
    return this.blocks * BLOCK_WORDS * 4;
  }

  add(hash: readonly [number, number]): void {
    const base = this.base(hash[0]);
    const page = this.words.pages[base >>> PAGE_SHIFT]!;
    const at = base & PAGE_MASK;
    for (let w = 0; w < BLOCK_WORDS; w++) page[at + w]! |= 1 << (Math.imul(hash[1], SALTS[w]!) >>> 27);
    this.count++;
  }

  has(h1: number, h2: number): boolean {
    const base = this.base(h1);
    const page = this.words.pages[base >>> PAGE_SHIFT]!;
    const at = base & PAGE_MASK;
    for (let w = 0; w < BLOCK_WORDS; w++) if ((page[at + w]! & (1 << (Math.imul(h2, SALTS[w]!) >>> 27))) === 0) return false;
    return true;
  }
}

/** What a text asks of the store: the prefixes to read, and what judging the titles found needs. */
export interface TitleQuery {
  whole: string;
  bracketed: ReadonlySet<string>;
  use: TitleFindings['use'];
  /** normalised prefixes the filter may hold, distinct, longest first, at most MAX_TITLE_LOOKUPS */
  lookups: string[];
}

/**
 * The prefixes of an upload's text to look up. Without a recap, compilation or clip pattern
 * only substrings of MIN_FREE_TITLE or more are tried, besides whole 《…》 titles.
 */
export function titleQuery(text: string, filter: TitleFilter): TitleQuery {
  const bracketed = new Set([...text.normalize('NFKC').matchAll(/《([^《》]{1,200})》/g)].map((m) => normaliseTitle(m[1] as string)).filter((k) => k.length > 0));
  const whole = normaliseTitle(text);
  const use = PATTERNS.find((p) => p.re.test(whole))?.use ?? null;
  const shortest = use === null ? MIN_FREE_TITLE : 1;
  const candidates = new Set<string>();
  for (let i = 0; i < whole.length; i++) {
    let h1: number = LANE_SEEDS[0];
    let h2: number = LANE_SEEDS[1];
    const end = Math.min(whole.length, i + INDEXED_LENGTH);
    for (let j = i; j < end; j++) {
      const c = whole.charCodeAt(j);
      h1 = step1(h1, c);
      h2 = step2(h2, c);
      if (j - i + 1 >= shortest && filter.has(h1, h2)) candidates.add(whole.slice(i, j + 1));
    }
  }
  for (const key of bracketed) {
    const [h1, h2] = prefixHash(key);
    if (filter.has(h1, h2)) candidates.add(key.slice(0, INDEXED_LENGTH));
  }
  const lookups = [...candidates].sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0)).slice(0, MAX_TITLE_LOOKUPS);
  return { whole, bracketed, use, lookups };
}

/** What a search reads back of a filed title. */
export type FoundTitle = Pick<FiledTitle, 'work' | 'workIndex' | 'title' | 'key'>;

/**
 * The works the text names, from the titles filed under each of its lookups (`found[i]`
 * under `query.lookups[i]`). A title counts only if its whole normalised form is in the
 * text: one no longer than the indexed prefix is the lookup itself, a longer one is
 * searched for (no title is normalised again here, so the titles read cost little each).
 * One shorter than MIN_FREE_TITLE counts only as the whole of a 《…》 title or beside a
 * pattern. At most MAX_TITLE_MATCHES works, the longest title first, then the earliest
 * registration.
 */
export function matchTitles(query: TitleQuery, found: ReadonlyArray<readonly FoundTitle[]>): TitleFindings {
  const best = new Map<string, TitleMatch & { length: number }>();
  query.lookups.forEach((prefix, i) => {
    for (const f of found[i] ?? []) {
      const key = f.key;
      const present = key.length <= INDEXED_LENGTH ? key === prefix : key.startsWith(prefix) && query.whole.includes(key);
      if (!present) continue;
      const via = query.bracketed.has(key) ? 'brackets' : 'text';
      if (key.length < MIN_FREE_TITLE && via === 'text' && query.use === null) continue;
      const seen = best.get(f.work);
      if (!seen || key.length > seen.length) best.set(f.work, { work: f.work, workIndex: f.workIndex, title: f.title, via, length: key.length });
    }
  });
  const matches = [...best.values()]
    .sort((a, b) => b.length - a.length || a.workIndex - b.workIndex)
    .slice(0, MAX_TITLE_MATCHES)
    .map(({ length: _, ...m }) => m);
  return { matches, use: query.use };
}
