/**
 * A store's fingerprint indexes (frames, keypoint patches, soundtracks), title filter and
 * Merkle node cache, kept across a clean restart so a start does not rebuild them from
 * every registered work's records, nor read every tree node again (75 s for 20 M fingerprint
 * records, 40 s for 10 M titles, 50 s for the 20 M nodes of 10 M entries, and growing with the
 * catalogue; issue 13.7). Two files in the folder (a LevelDB store's data folder, or the index
 * folder of a node on PostgreSQL): `fingerprint-index.pages`, the pages (mapped-pages.ts), and
 * `fingerprint-index.state`, what they hold outside their pages (which pages are whose, bucket
 * heads, works, the node cache's bitmaps), the pages' digest, and the checkpoint through
 * which they hold every registration.
 *
 * Guarantees: the indexes are only ever reopened exactly as a clean shutdown left them, over
 * the store they were built from or one that grew from it since; anything else rebuilds them
 * from the records, as every start did before.
 * - Shutdown: fsync the pages → write the state atomically (atomic-file.ts). A crash before
 *   the rename leaves the previous state or none: none, below.
 * - Start: read the state and check its own digest (damage) → the store must hold, at the
 *   size the state names, the very checkpoint it names (a store restored from an older copy,
 *   or another ledger's, does not) → the pages must have the digest it names (damaged, or
 *   written after) → remove the state, durably, before any page can be written → the indexes
 *   over the pages, which the caller brings up to the store's latest checkpoint from the
 *   entries after the one named (a read-only node whose writer went on, a writer after
 *   another took its turn). A crash or kill -9 after that start finds no state, and rebuilds.
 */
import { decode, encode } from 'cborg';
import { createHash } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SimilarityIndex, type SimilarityImage } from '../core/similarity.js';
import { SoundIndex, type SoundImage } from '../core/soundtrack.js';
import { TitleFilter } from '../core/titles.js';
import type { PagedImage } from '../core/u32-pages.js';
import { syncFolder, writeFileAtomic } from './atomic-file.js';
import { MappedPages, PAGE_BYTES } from './mapped-pages.js';
import { checkNodeImage, type NodeCacheImage } from './node-cache.js';
import type { StoredCheckpoint } from './storage.js';

const PAGES = 'fingerprint-index.pages';
const STATE = 'fingerprint-index.state';
// 3: the title filter's words are pages of the file, not bytes of the state; 4: the node
// cache's levels too; 5: the checkpoint's size, so a store that grew since is caught up.
const VERSION = 5;

/** A store's three fingerprint indexes and where their pages come from. */
export interface Indexes {
  pages: MappedPages;
  similarity: SimilarityIndex;
  patches: SimilarityIndex;
  sound: SoundIndex;
}

/** Empty indexes over `pages`. */
export function emptyIndexes(pages: MappedPages): Indexes {
  const { source } = pages;
  return { pages, similarity: new SimilarityIndex(source), patches: new SimilarityIndex(source), sound: new SoundIndex(source) };
}

/** Empty indexes whose pages will be kept in `dir` for `saveIndexes`. */
export function keptIndexes(dir: string): Indexes {
  return emptyIndexes(MappedPages.create(join(dir, PAGES)));
}

// In the state file, a page is its offset in the pages file, and a typed array its bytes.
type Saved<T> = { [K in keyof T]: T[K] extends PagedImage ? { pages: number[]; length: number } : T[K] extends Uint32Array | Uint8Array | null ? Uint8Array | null : T[K] };

const bytesOf = (a: Uint32Array | Uint8Array | null) => (a ? new Uint8Array(a.buffer, a.byteOffset, a.byteLength) : null);
const u32Of = (b: Uint8Array | null) => (b ? new Uint32Array(b.slice().buffer) : null);

/** Where a page is in the file, for the state: every page saved must be the file's. */
function offsetIn(pages: MappedPages, page: Uint32Array): number {
  const at = pages.offsetOf(page);
  if (at === undefined) throw new Error('a page is not in the file');
  return at;
}

function savePaged(pages: MappedPages, image: PagedImage): { pages: number[]; length: number } {
  return { pages: image.pages.map((p) => offsetIn(pages, p)), length: image.length };
}

/**
 * Reads saved page lists back: each page must be one the state's file gave, and no two lists
 * (nor one twice) may name the same page. The state's digest finds damage, not a state
 * written by hand; this and the indexes' own checks of their images keep such a state from
 * making a search read outside its pages or two indexes write into one.
 */
function pageTaker(pages: MappedPages, givenBytes: number): { take: (at: number) => Uint32Array; untaken: () => Uint32Array[] } {
  const taken = new Set<number>();
  return {
    take: (at) => {
      if (!Number.isSafeInteger(at) || at < 0 || at % PAGE_BYTES !== 0 || at >= givenBytes || taken.has(at)) throw new RangeError(`no page of its own at ${at}`);
      taken.add(at);
      return pages.pageAt(at);
    },
    /** the file's pages that no list named: a replaced title filter's, a dropped node level's */
    untaken: () => {
      const free: Uint32Array[] = [];
      for (let at = 0; at < givenBytes; at += PAGE_BYTES) if (!taken.has(at)) free.push(pages.pageAt(at));
      return free;
    },
  };
}

function saveSimilarity(pages: MappedPages, i: SimilarityImage): Saved<SimilarityImage> {
  return { ...i, records: savePaged(pages, i.records), times: savePaged(pages, i.times), pool: savePaged(pages, i.pool), partners: savePaged(pages, i.partners), heads: bytesOf(i.heads), tails: bytesOf(i.tails), fill: bytesOf(i.fill) };
}

type PagedLoader = (saved: { pages: number[]; length: number }) => PagedImage;

function loadSimilarity(pages: MappedPages, loadPaged: PagedLoader, s: Saved<SimilarityImage>): SimilarityIndex {
  const image: SimilarityImage = { ...s, records: loadPaged(s.records), times: loadPaged(s.times), pool: loadPaged(s.pool), partners: loadPaged(s.partners), heads: u32Of(s.heads), tails: u32Of(s.tails), fill: s.fill ? s.fill.slice() : null };
  return new SimilarityIndex(pages.source, image);
}

interface State {
  version: number;
  /** the checkpoint through which the indexes hold every registration, and its size */
  checkpoint: string;
  size: number;
  givenBytes: number;
  digest: string;
  similarity: Saved<SimilarityImage>;
  patches: Saved<SimilarityImage>;
  sound: Saved<SoundImage> | null;
  titles: { capacity: number; count: number; words: { pages: number[]; length: number } } | null;
  // a level's pages by their offsets, null for a page it never took
  nodes: { floor: number | null; levels: Array<{ pages: Array<number | null>; filled: Uint8Array } | null> };
}

function saveNodes(pages: MappedPages, image: NodeCacheImage): State['nodes'] {
  const offset = (p: Uint32Array | undefined) => (p === undefined ? null : offsetIn(pages, p));
  return { floor: image.floor, levels: Array.from(image.levels, (l) => (l ? { pages: Array.from(l.pages, offset), filled: l.filled } : null)) };
}

function loadNodes(take: (at: number) => Uint32Array, saved: State['nodes']): NodeCacheImage {
  return {
    floor: saved.floor,
    levels: saved.levels.map((l) => (l ? { pages: l.pages.map((at) => (at === null ? undefined : take(at))), filled: l.filled.slice() } : undefined)),
  };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();

/**
 * Saves the indexes and the title filter (unless it is being replaced: then the next start
 * rebuilds it) for the next start, as holding every registration through `through`: nothing
 * when the indexes' pages are not all in a kept file, and then says why. Call it with no
 * append in flight, and close the pages after.
 */
export async function saveIndexes(dir: string, indexes: Indexes, through: StoredCheckpoint, titles: TitleFilter | undefined, nodes: NodeCacheImage): Promise<string | undefined> {
  const { pages } = indexes;
  const flushed = pages.flush();
  if (!flushed) return `pages in the heap (${pages.failure ?? 'no file'})`;
  const filter = titles?.image;
  const state: State = {
    version: VERSION,
    checkpoint: through.note,
    size: through.size,
    ...flushed,
    similarity: saveSimilarity(pages, indexes.similarity.image),
    patches: saveSimilarity(pages, indexes.patches.image),
    // 4 MB of bucket heads that would all be 0
    sound: indexes.sound.size === 0 ? null : { ...indexes.sound.image, heads: bytesOf(indexes.sound.image.heads) as Uint8Array, postings: savePaged(pages, indexes.sound.image.postings), kept: savePaged(pages, indexes.sound.image.kept) },
    titles: filter ? { ...filter, words: savePaged(pages, filter.words) } : null,
    nodes: saveNodes(pages, nodes),
  };
  // Bucket heads are mostly zeros: deflated, a small store's state is kilobytes, not megabytes.
  const body = deflateSync(encode(state), { level: 1 });
  await writeFileAtomic(join(dir, STATE), encode({ body, digest: sha256(body) }));
  return undefined;
}

/**
 * The indexes saved in `dir`, if the state is whole, the store holds the checkpoint it names
 * (`storedAt(size)`: the store's checkpoint of that size, if any) and the pages are as it
 * left them, with the title filter saved beside them if there is one, and `through`, the
 * checkpoint they hold every registration through: the caller indexes the entries after it.
 * Else undefined, and whatever was there is removed (the caller rebuilds into new pages).
 */
export async function reopenIndexes(
  dir: string,
  storedAt: (size: number) => Promise<string | undefined>,
): Promise<(Indexes & { titles: TitleFilter | undefined; nodes: NodeCacheImage; through: StoredCheckpoint }) | undefined> {
  const statePath = join(dir, STATE);
  let saved: Uint8Array;
  try {
    saved = await readFile(statePath);
  } catch {
    return undefined;
  }
  let pages: MappedPages | undefined;
  let indexes: (Indexes & { titles: TitleFilter | undefined; nodes: NodeCacheImage; through: StoredCheckpoint }) | undefined;
  try {
    const { body, digest } = decode(saved) as { body: Uint8Array; digest: Uint8Array };
    if (Buffer.compare(sha256(body), digest) !== 0) throw new Error('the state is damaged');
    const state = decode(inflateSync(body)) as State;
    if (state.version !== VERSION || !Number.isSafeInteger(state.size) || state.size < 0) throw new Error('another version');
    if ((await storedAt(state.size)) !== state.checkpoint) throw new Error('another store');
    // No page given: no fingerprints, and a new file for the first.
    pages = state.givenBytes === 0 ? MappedPages.create(join(dir, PAGES)) : MappedPages.reopen(join(dir, PAGES), state.givenBytes, state.digest);
    if (!pages) throw new Error('the pages differ');
    const { sound, titles } = state;
    const { take, untaken } = pageTaker(pages, state.givenBytes);
    const loadPaged: PagedLoader = (saved) => ({ pages: saved.pages.map(take), length: saved.length });
    indexes = {
      pages,
      titles: titles ? new TitleFilter(titles.capacity, pages.source, { count: titles.count, words: loadPaged(titles.words) }) : undefined,
      similarity: loadSimilarity(pages, loadPaged, state.similarity),
      patches: loadSimilarity(pages, loadPaged, state.patches),
      sound: new SoundIndex(pages.source, sound ? { ...sound, heads: u32Of(sound.heads) as Uint32Array, postings: loadPaged(sound.postings), kept: loadPaged(sound.kept) } : undefined),
      nodes: loadNodes(take, state.nodes),
      through: { size: state.size, note: state.checkpoint },
    };
    // Refused here rather than by the store's node cache: the indexes are then rebuilt.
    checkNodeImage(indexes.nodes);
    // Given again before the file grows, as they were before the restart.
    pages.release(untaken());
  } catch {
    pages?.close();
    indexes = undefined;
  }
  // Pages about to be written must never be taken for the saved ones after a crash.
  await rm(statePath, { force: true });
  await syncFolder(dir);
  return indexes;
}
