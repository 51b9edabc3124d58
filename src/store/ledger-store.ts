/**
 * The ledger's store over an ordered key-value backend (kv.ts): LevelDB embedded, or
 * PostgreSQL shared. This module alone knows the key layout (layout.ts) and how derived
 * state is written (`effectOps`); it gives the rest of the ledger the storage contract
 * (storage.ts), whichever backend is under it.
 */
import { concatBytes, equalBytes, fromHex, toHex, readUintBE, uintBE, utf8 } from '../core/bytes.js';
import { parseStatement } from '../core/cose.js';
import { decodeFrames } from '../core/fingerprint.js';
import { decodeLeaf } from '../core/leaf.js';
import { CURRENT_MATCHING, perBucketOf, SimilarityIndex, type MatchingRules, type Probe } from '../core/similarity.js';
import { probeInSlices } from './sliced-search.js';
import { fileTitles, matchTitles, TitleFilter, titleDigest, titleQuery, TITLES_PER_PREFIX, type FiledTitle, type FoundTitle, type TitleFindings } from '../core/titles.js';
import { listedEntries, type ListedEntry, type Effects, type OverlapQuery, type WorkRecord } from '../core/records.js';
import { isEmptyHolding, PRINT_KINDS, printsIn, type Prints } from '../core/state.js';
import { SoundIndex } from '../core/soundtrack.js';
import { MappedPages } from './mapped-pages.js';
import type { FolderLock } from './folder-lock.js';
import { emptyIndexes, keptIndexes, reopenIndexes, saveIndexes, type Indexes } from './saved-indexes.js';
import { entryMeets, licenceEntries, queryRanges } from './exclusivity-index.js';
import { CartularyError } from '../core/errors.js';
import { key, prefixRange, PREFIX } from './layout.js';
import type { BatchOp, KeyRange, KeyReads, OrderedKV, WriteGuard } from './kv.js';
import { FILL_CHUNK, HEAP_NODES, MAPPED_NODES, NodeCache, type NodeCacheImage } from './node-cache.js';
import { decodeRecord, encodeRecord, frameSearchKey, overlapKey, RecordView, type PlannedReads } from './record-view.js';
import type { AppendBatch, LedgerStorage, Page, StoredCheckpoint, StoreFault, StoreView } from './storage.js';

const id32 = (hex: string) => fromHex(hex, 'id', 32);

const EMPTY = new Uint8Array(0);

/** The longest a registration's fingerprint search holds the event loop at a time, ms. */
const SEARCH_SLICE_MS = 8;

/**
 * Planned reads needing more rounds than this are a chain no rule walks (a licence's
 * ancestors are bounded by the rules): refused rather than fetched one link at a time.
 */
const MAX_READ_ROUNDS = 64;

/** Values of immutable keys (leaves, nodes, the id indexes, checkpoints) kept across reads by a networked backend. */
const IMMUTABLE_CACHE_LIMIT = 1 << 16;
const IMMUTABLE = new Set([PREFIX.leaf, PREFIX.node, PREFIX.id, PREFIX.signed, PREFIX.checkpoint].map((p) => p[0]));

const text = new TextDecoder();

const LATEST: KeyRange = { ...prefixRange(PREFIX.checkpoint), reverse: true };

/** The first stored checkpoint in `range`. */
async function firstCheckpoint(kv: OrderedKV, range: KeyRange): Promise<StoredCheckpoint | undefined> {
  const [found] = await kv.range({ ...range, limit: 1 });
  return found ? { size: readUintBE(found[0], 1), note: text.decode(found[1]) } : undefined;
}
/** The store's checkpoint of `size`, if it holds one. */
async function storedCheckpoint(kv: OrderedKV, size: number): Promise<string | undefined> {
  const [note] = await kv.getMany([key.checkpoint(size)]);
  return note ? text.decode(note) : undefined;
}
const mapKey = (k: Uint8Array) => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('latin1');

export class LedgerStore implements LedgerStorage {
  /** the fingerprint frames of every registered work, for near-duplicate search */
  readonly similarity: SimilarityIndex;
  readonly sound: SoundIndex;
  readonly patches: SimilarityIndex;
  /** where the indexes' pages are: a mapped file (or the heap, where it fails; mapped-pages.ts) */
  readonly indexPages: MappedPages;
  // The checkpoint through which every registration is in the indexes and the title filter:
  // what they are saved as holding (saved-indexes.ts). A write that failed, landed or not,
  // leaves it where it was; the next start catches up whatever landed.
  private indexedTo: StoredCheckpoint | undefined;
  /** the tree size the indexes were saved at when this start reopened them; undefined when it built them from the records */
  indexesSavedAt: number | undefined;
  /** why `close` did not save the indexes for the next start (which then rebuilds them), if it did not */
  indexesNotSaved: string | undefined;
  // Which title prefixes the store may hold (core/titles.ts): the titles themselves stay in
  // the store. Replaced by a larger one, filled from the store, when it outgrows its capacity;
  // until then new titles go into both.
  private titleFilter = new TitleFilter(1);
  private growingFilter: TitleFilter | undefined;
  private scanningTitles = false;
  // Its pages are the index file's: kept across a clean restart with the indexes.
  readonly nodeCache: NodeCache;
  private nodeFill: Promise<void> | undefined;
  private filling = false;
  private closing = false;
  private readonly immutable = new Map<string, Uint8Array>();
  /** the view of a backend with synchronous reads, made once */
  private readonly direct: RecordView | undefined;

  /** `keptIn`: the folder the indexes are saved in at `close` for the next start, if any; `lock`, on it, released after. */
  private constructor(
    readonly kv: OrderedKV,
    indexes: Indexes & { nodes?: NodeCacheImage | undefined },
    private readonly keptIn: string | undefined,
    private readonly lock: FolderLock | undefined,
  ) {
    ({ similarity: this.similarity, sound: this.sound, patches: this.patches, pages: this.indexPages } = indexes);
    const pages = this.indexPages;
    this.nodeCache = new NodeCache(
      {
        source: pages.source,
        // The heap's budget once the file cannot grow (a full disk): its pages then come from the heap.
        budget: () => (pages.failure === undefined ? MAPPED_NODES : HEAP_NODES),
        release: (given) => pages.release(given),
      },
      indexes.nodes,
    );
    const getSync = kv.getSync;
    this.direct = getSync ? new RecordView(getSync, this.similarity, this.nodeCache) : undefined;
  }

  /**
   * The synchronous view of a backend that has synchronous reads (LevelDB), for tools and
   * tests that inspect an embedded store; code that serves any store uses `read`.
   */
  get sync(): StoreView {
    if (!this.direct) throw new CartularyError('unavailable', `${this.kv.description} has no synchronous reads: use read()`);
    return this.direct;
  }

  get description(): string {
    return this.kv.description;
  }
  get readOnly(): boolean {
    return this.kv.readOnly;
  }

  /**
   * The store over an opened backend, with its title filter rebuilt and its fingerprint
   * indexes reopened or rebuilt. `indexDir`: their pages go in a file mapped from there
   * (mapped-pages.ts); with `keepIndexes`, a file kept there, and the indexes are saved at
   * `close` and reopened at the next start over the store they were saved from, or one
   * grown from it (saved-indexes.ts). A writable store brings reopened indexes up to its
   * latest checkpoint here; a read-only one leaves that to its follower, which checks each
   * checkpoint on the way (`indexedThrough`). `lock`: the caller's on the folder, released
   * when the store closes (it is not released if this throws).
   */
  static async open(kv: OrderedKV, opts: { titleCapacity?: number; indexDir: string; keepIndexes?: boolean; lock?: FolderLock }): Promise<LedgerStore> {
    const { titleCapacity = MIN_TITLE_CAPACITY, indexDir } = opts;
    const keptIn = opts.keepIndexes ? indexDir : undefined;
    let reopened: Awaited<ReturnType<typeof reopenIndexes>>;
    let latest: StoredCheckpoint | undefined;
    try {
      // Read before a rebuild's scans: every registration it covers is in them (a read-only
      // node's writer may add more meanwhile, which the follower indexes again, harmlessly).
      latest = await firstCheckpoint(kv, LATEST);
      if (keptIn !== undefined) reopened = await reopenIndexes(keptIn, (size) => storedCheckpoint(kv, size));
    } catch (e) {
      await kv.close();
      throw e;
    }
    const indexes = reopened ?? (keptIn !== undefined ? keptIndexes(keptIn) : emptyIndexes(MappedPages.scratch(indexDir)));
    const store = new LedgerStore(kv, indexes, keptIn, opts.lock);
    try {
      if (!kv.readOnly) await store.fileEarlierTitles();
      const saved = reopened?.titles;
      store.titleFilter = saved && saved.capacity >= titleCapacity ? saved : await store.filterOfStoredTitles(titleCapacity);
      if (!reopened) await store.indexRegistered();
      store.indexedTo = reopened?.through ?? latest;
      store.indexesSavedAt = reopened?.through.size;
      if (!kv.readOnly && latest && store.indexedTo && latest.size > store.indexedTo.size) await store.indexEntries(store.indexedTo.size, latest);
    } catch (e) {
      store.indexPages.close();
      await kv.close();
      throw e;
    }
    return store;
  }

  /**
   * The frames, soundtracks and keypoint patches of the works that have them, into the
   * in-memory indexes. Each comes from its own records, so the works without (most) cost no read.
   */
  private async indexRegistered(): Promise<void> {
    for (const what of PRINT_KINDS) {
      for await (const chunk of this.kv.chunks(prefixRange(PREFIX[what]), 512)) {
        const ids = chunk.map(([k]) => toHex(k.subarray(1)));
        const works = await this.read((view) => ids.map((id) => view.work(id)));
        chunk.forEach(([, bytes], i) => {
          const work = works[i];
          if (!work) throw new CartularyError('corrupt', `fingerprint ${what} is stored for work ${ids[i]}, which has no record`);
          this.indexPrints(work, { [what]: bytes });
        });
      }
    }
  }

  async printsOf(works: readonly string[]): Promise<Map<string, Prints>> {
    const found = await Promise.all(PRINT_KINDS.map((kind) => this.kv.getMany(works.map((w) => key[kind](w)))));
    const out = new Map<string, Prints>();
    works.forEach((w, i) => {
      const prints: Prints = {};
      PRINT_KINDS.forEach((kind, k) => {
        const bytes = found[k]?.[i];
        if (bytes) prints[kind] = bytes;
      });
      if (Object.keys(prints).length > 0) out.set(w, prints);
    });
    return out;
  }

  /**
   * The checkpoint through which the indexes and the title filter hold every registration:
   * the store's latest at open, unless reopened indexes were saved at an earlier one that a
   * read-only node's follower has still to bring them up from (`indexEntries`).
   */
  get indexedThrough(): StoredCheckpoint | undefined {
    return this.indexedTo;
  }

  /**
   * The works entries [from, to) registered join the title filter and the fingerprint
   * indexes, which then hold every registration through `to`. Adding a work already there
   * changes nothing, so a range may overlap what is indexed.
   */
  async indexEntries(from: number, to: StoredCheckpoint): Promise<void> {
    for (let first = from; first < to.size; first += 512) {
      const count = Math.min(512, to.size - first);
      const leaves = await this.consecutive({ leaf: true }, first, count);
      if (leaves.length !== count) throw new CartularyError('corrupt', `entries ${first}–${first + count - 1} are not all stored under checkpoint ${to.size}`);
      const registered: string[] = [];
      for (const bytes of leaves) {
        const statement = parseStatement(decodeLeaf(bytes).statement, { stored: true });
        if ((statement.payload as { type: string }).type === 'register') registered.push(toHex(statement.id));
      }
      const works = await this.read((view) => registered.flatMap((id) => view.work(id) ?? []));
      const prints = await this.printsOf(registered);
      for (const work of works) {
        this.indexTitles(work);
        const found = prints.get(work.id);
        if (found) this.indexPrints(work, found);
      }
    }
    this.indexedTo = to;
  }

  /** Frames and keypoint patches join their similarity indexes under their registration's ledger index; a soundtrack the sound index. */
  indexPrints(work: WorkRecord, prints: Prints): void {
    if (prints.frames) this.similarity.addEncoded(work.id, work.registeredIndex, prints.frames, perBucketOf(work.matching));
    if (prints.sound) this.sound.add(work.id, prints.sound);
    if (prints.patches) this.patches.addEncoded(work.id, work.registeredIndex, prints.patches);
  }

  /** A work's titles join the title filter: a batch's in `append`, another writer's in `indexEntries`. */
  indexTitles(work: WorkRecord): void {
    for (const filed of titlesOf(work)) this.filterTitle(filed.hash);
  }

  /**
   * A filed title's prefix hash into the filter. A filter past its capacity is replaced by
   * one twice as large, filled from the store in the background; new titles go into both
   * meanwhile, so neither ever misses a stored one. The full filter's pages go back to the
   * index file once it is replaced (nothing reads a filter after the swap: queries take it
   * synchronously); a failed scan is tried again into the same larger filter (adding is
   * idempotent) rather than into new pages each time.
   */
  private filterTitle(hash: readonly [number, number]): void {
    this.titleFilter.add(hash);
    this.growingFilter?.add(hash);
    if (this.scanningTitles || this.titleFilter.count <= this.titleFilter.capacity) return;
    const growing = (this.growingFilter ??= new TitleFilter(this.titleFilter.count * 2, this.indexPages.source));
    this.scanningTitles = true;
    (async () => {
      for await (const hash of this.storedTitleHashes()) growing.add(hash);
    })()
      .then(
        () => {
          const full = this.titleFilter;
          this.titleFilter = growing;
          this.growingFilter = undefined;
          this.indexPages.release(full.image.words.pages);
        },
        // The full filter stays in place meanwhile (more false positives, no misses); tried again at the next title.
        () => undefined,
      )
      .finally(() => (this.scanningTitles = false));
  }

  /** Bytes of the title filter's bits (its pages are in the index file). */
  get titleFilterBytes(): number {
    return this.titleFilter.bytes + (this.growingFilter?.bytes ?? 0);
  }

  /** Every stored title's prefix hash: the Z records only, whose values they lead. */
  private async *storedTitleHashes(): AsyncIterable<[number, number]> {
    for await (const chunk of this.kv.chunks(prefixRange(PREFIX.title), 4096)) for (const [, v] of chunk) yield storedTitleHash(v);
  }

  /** A filter of every stored title, sized for them (at least `minimum`). */
  private async filterOfStoredTitles(minimum: number): Promise<TitleFilter> {
    // Sized after counting: the hashes are held meanwhile, 8 bytes a title, then dropped.
    let hashes = new Uint32Array(2 * 4096);
    let n = 0;
    for await (const [h1, h2] of this.storedTitleHashes()) {
      if (2 * n + 2 > hashes.length) {
        const larger = new Uint32Array(hashes.length * 2);
        larger.set(hashes);
        hashes = larger;
      }
      hashes[2 * n] = h1;
      hashes[2 * n + 1] = h2;
      n++;
    }
    const filter = new TitleFilter(Math.max(minimum, Math.ceil(n * 1.5)), this.indexPages.source);
    for (let i = 0; i < n; i++) filter.add([hashes[2 * i]!, hashes[2 * i + 1]!]);
    return filter;
  }

  /**
   * Files the titles of works registered before titles were filed in the store (a store
   * written by an earlier version), once: each chunk's writes are idempotent, and the meta
   * mark comes last, so a crash part way is finished at the next open.
   */
  private async fileEarlierTitles(): Promise<void> {
    if ((await this.meta(TITLES_FILED)) === 'v1') return;
    for await (const chunk of this.kv.chunks(prefixRange(PREFIX.work), 512)) {
      const ops = chunk.flatMap(([k, v]) => titleOps(decodeRecord<WorkRecord>(k, v)));
      if (ops.length > 0) await this.write(ops);
    }
    await this.setMeta(TITLES_FILED, 'v1');
  }

  /**
   * The registered works an upload's title and description name (core/titles.ts): the
   * text's candidate prefixes, from the filter, then the titles filed under each.
   */
  async findTitles(text: string): Promise<TitleFindings> {
    const query = titleQuery(text, this.titleFilter);
    const found = await Promise.all(query.lookups.map((prefix) => this.kv.range({ ...prefixRange(PREFIX.title, titleDigest(prefix)), limit: TITLES_PER_PREFIX })));
    return matchTitles(
      query,
      found.map((records) => records.map(([k, v]) => storedTitle(k, v))),
    );
  }

  /** Saves the indexes when they are kept (no append may be in flight), then closes the backend. */
  async close(): Promise<void> {
    this.closing = true;
    await this.nodeFill;
    try {
      if (this.keptIn !== undefined && this.indexedTo) {
        const titles = this.growingFilter ? undefined : this.titleFilter;
        this.indexesNotSaved = await saveIndexes(this.keptIn, { pages: this.indexPages, similarity: this.similarity, patches: this.patches, sound: this.sound }, this.indexedTo, titles, this.nodeCache.image);
      }
    } catch (e) {
      // Not saved: the next start rebuilds them, as after a crash.
      this.indexesNotSaved = (e as Error).message;
    } finally {
      this.indexPages.close();
    }
    try {
      await this.kv.close();
    } finally {
      // After the indexes are saved: the next holder finds them whole.
      await this.lock?.release();
    }
  }

  /** The batch as key-value ops, in one atomic, durable write. */
  async append(batch: AppendBatch): Promise<void> {
    const titles: Array<[number, number]> = [];
    // Made as the backend takes them, so that a batch's thousands of ops die young rather
    // than survive the collector's scavenges while the whole list is built.
    function* ops(): Iterable<BatchOp> {
      for (const e of batch.entries) {
        yield put(key.leaf(e.index), e.leaf);
        yield put(key.id(e.id), uintBE(e.index, 8));
        yield put(key.signed(e.signedHash), uintBE(e.index, 8));
        for (const op of effectOps(e.effects)) {
          if (op.type === 'put' && op.key[0] === TITLE_PREFIX) titles.push(storedTitleHash(op.value));
          yield op;
        }
      }
      for (const n of batch.nodes) yield put(key.node(n.level, n.index), n.hash);
      yield put(key.checkpoint(batch.checkpoint.size), utf8(batch.checkpoint.note));
    }
    await this.write(ops(), { range: prefixRange(PREFIX.checkpoint), is: batch.extends === null ? null : key.checkpoint(batch.extends) });
    // Durable: the titles the batch filed join the filter, from their records as written (no
    // title is normalised twice), its registrations' fingerprints the indexes, and its nodes
    // the node cache (not before: a failed write's positions will hold other nodes).
    for (const t of titles) this.filterTitle(t);
    for (const e of batch.entries) this.indexEffects(e.effects);
    for (const n of batch.nodes) this.nodeCache.set(n, n.hash);
    this.indexedTo = batch.checkpoint;
  }

  /** A registration's fingerprints, as its effects carry them, into the indexes. */
  private indexEffects(effects: Effects): void {
    const registered = printsIn(effects);
    if (!registered) return;
    const record = effects.works.find((w) => w.after.id === registered.work)?.after;
    if (!record) throw new CartularyError('corrupt', `fingerprints of work ${registered.work} in an entry that does not register it`);
    this.indexPrints(record, registered.prints);
  }

  setMeta(name: string, value: string): Promise<void> {
    return this.write([put(key.meta(name), utf8(value))]);
  }

  /** One atomic, durable write of the backend (kv.ts). */
  write(ops: Iterable<BatchOp>, guard?: WriteGuard): Promise<void> {
    if (this.kv.readOnly) return Promise.reject(new CartularyError('unavailable', `${this.kv.description} is open read-only: this node takes no writes`));
    return this.kv.write(ops, guard);
  }

  /**
   * A backend with synchronous reads runs `reads` once on itself. Any other runs it on what
   * it has fetched so far, noting every key it missed; fetches those in one round trip; and
   * runs it again until a run misses nothing (storage.ts). One fetch is one statement, so
   * one snapshot; reads that need a second fetch start again inside one snapshot, so that
   * no run mixes two of the writer's commits.
   */
  async read<T>(reads: (view: StoreView) => T, planned?: PlannedReads): Promise<T> {
    const getSync = this.kv.getSync;
    if (getSync) return reads(planned ? this.syncWith(planned) : (this.direct as RecordView));
    const once = await this.fetchAndRun(this.kv, reads, planned, 1);
    if (once.done) return once.result;
    return this.kv.consistent(async (db) => {
      const again = await this.fetchAndRun(db, reads, planned, MAX_READ_ROUNDS);
      if (!again.done) throw new CartularyError('unavailable', `a read needed more than ${MAX_READ_ROUNDS} rounds of fetches`);
      return again.result;
    });
  }

  /** Runs `reads`, fetching what it missed, at most `fetches` times; `done` once a run missed nothing. */
  private async fetchAndRun<T>(db: KeyReads, reads: (view: StoreView) => T, planned: PlannedReads | undefined, fetches: number): Promise<{ done: true; result: T } | { done: false }> {
    const fetched = new Map<string, Uint8Array | undefined>();
    for (let round = 0; ; round++) {
      const missing = new Map<string, Uint8Array>();
      const peek = (k: Uint8Array) => {
        const at = mapKey(k);
        const known = fetched.get(at) ?? this.immutable.get(at);
        if (known === undefined && !fetched.has(at)) missing.set(at, k);
        return known;
      };
      let result: T | undefined;
      let failure: { error: unknown } | undefined;
      try {
        result = reads(new RecordView(peek, this.similarity, this.nodeCache, () => missing.size > 0, planned));
      } catch (error) {
        failure = { error };
      }
      if (missing.size === 0) {
        if (failure) throw failure.error;
        return { done: true, result: result as T };
      }
      if (round === fetches) return { done: false };
      const keys = [...missing.values()];
      const values = await db.getMany(keys);
      keys.forEach((k, i) => {
        const v = values[i];
        fetched.set(mapKey(k), v);
        if (v !== undefined && IMMUTABLE.has(k[0] as number)) {
          // the oldest out, one at a time (a Map keeps insertion order); the upper tree levels live in the node cache
          if (this.immutable.size >= IMMUTABLE_CACHE_LIMIT) this.immutable.delete(this.immutable.keys().next().value as string);
          this.immutable.set(mapKey(k), v);
        }
      });
    }
  }

  /** Metadata beside the log (the origin, the registrar…). */
  meta(name: string): Promise<string | undefined> {
    return this.read((view) => view.meta(name));
  }

  /**
   * The range reads a batch's rules need, fetched now: the sequencer plans them from the
   * payloads, fetches them concurrently, then runs the pure rules with them (DESIGN §11,
   * issue 11.1). Consistent because the sequencer is the only writer and plans between its
   * commits.
   */
  async plan(queries: readonly OverlapQuery[], searches: { frames: readonly Uint8Array[]; rules: MatchingRules } = { frames: [], rules: CURRENT_MATCHING }): Promise<PlannedReads> {
    // Registrations' fingerprint searches, made now in slices so a long one never holds the
    // event loop (issue 10.2). Each is kept as a probe, which the rules decide on together
    // with the batch overlay's (probeHits), so a replay decides alike however its batches fall.
    const frames = new Map<string, Probe>();
    for (const bytes of searches.frames) {
      const decoded = decodeFrames(bytes);
      frames.set(frameSearchKey(bytes, searches.rules), await probeInSlices(this.similarity, { count: decoded.length, frames: (from, n) => decoded.slice(from, from + n), rules: searches.rules, sliceMs: SEARCH_SLICE_MS }));
    }
    const overlaps = new Map<string, readonly string[]>();
    const works = await this.read((view) => queries.map((q) => view.work(q.work)));
    await Promise.all(
      queries.map(async (q, i) => {
        const ids = new Set<string>();
        // A work not yet stored, or with no licence, has nothing to meet; most works have no
        // exclusive licence, and then neither has a non-exclusive one.
        const work = works[i];
        if (!work || work.licenceCount === 0 || (q.exclusiveOnly && work.exclusives === 0)) {
          overlaps.set(overlapKey(q), []);
          return;
        }
        for (const range of queryRanges(q)) {
          for (const [, value] of await this.kv.range(range)) {
            const { meets, licence } = entryMeets(value, q);
            if (meets) ids.add(licence);
          }
        }
        overlaps.set(overlapKey(q), [...ids]);
      }),
    );
    return { overlaps, frames };
  }

  // The lists below read nothing where the record already says what they hold: most works
  // have no licence, no rival and one or two entries, and most contents one registration. A
  // range read is a trip through libuv's pool; a check or a work's page made seven of them.

  /** A work's licence ids in grant order, a page at a time (after the ledger index `after`). */
  licencesOf(work: WorkRecord, page: Page = {}): Promise<string[]> {
    if (work.licenceCount === 0) return Promise.resolve([]);
    return this.indexed(PREFIX.workLicence, id32(work.id), page, (_, v) => toHex(v));
  }

  /** The indices of the entries about a work, in order, a page at a time. */
  entriesOf(work: WorkRecord, page: Page = {}): Promise<number[]> {
    // Its first entry is its registration and its latest its head.
    if (work.entries <= 2) return Promise.resolve(knownPage(work.entries === 1 ? [work.registeredIndex] : [work.registeredIndex, work.head], page, (i) => i));
    return this.indexed(PREFIX.workEntry, id32(work.id), page, (k) => readUintBE(k, 33));
  }

  /** The works registered with a content, earliest first, a page at a time (`after`: a registration index). */
  async registrationsOf(sha256: string, page: Page = {}): Promise<string[]> {
    const only = await this.read((view) => {
      const content = view.content(sha256);
      return content?.count === 1 ? view.work(content.first) : undefined;
    });
    if (only) return knownPage([only], page, (w) => w.registeredIndex).map((w) => w.id);
    return this.indexed(PREFIX.registration, id32(sha256), page, (_, v) => toHex(v));
  }

  /** A work's sightings, newest first, a page at a time (`before`: the index of the last one seen). */
  async sightingsOf(work: string, { before, limit = 100 }: { before?: number; limit?: number } = {}): Promise<number[]> {
    const range = prefixRange(PREFIX.sighting, id32(work));
    const found = await this.kv.range({ gte: range.gte, lt: before === undefined ? range.lt : key.sighting(work, before), reverse: true, limit });
    return found.map(([k]) => readUintBE(k, 33));
  }

  /** Works of other parties that a work's fingerprints contest, or that contest it (lookalikes), in id order. */
  async rivalsOf(work: WorkRecord, limit = 100): Promise<string[]> {
    // Rivals are filed both ways when a registration names lookalikes, and a work named by a
    // later one is contested by it if it was not already: uncontested, naming none, it has none.
    if (work.contest === null && work.lookalikes.length === 0) return [];
    return (await this.kv.range({ ...prefixRange(PREFIX.rival, id32(work.id)), limit })).map(([k]) => toHex(k.subarray(33)));
  }

  /** A page of an index keyed `prefix ‖ owner(32) ‖ index(8)`, from index `after + 1`. */
  private async indexed<T>(prefix: Uint8Array, owner: Uint8Array, { limit = 100, after = -1 }: Page, read: (k: Uint8Array, v: Uint8Array) => T): Promise<T[]> {
    const found = await this.kv.range({ gte: concatBytes(prefix, owner, uintBE(after + 1, 8)), lt: prefixRange(prefix, owner).lt, limit });
    return found.map(([k, v]) => read(k, v));
  }

  /**
   * `count` consecutive stored values from `first` under a numbered key family (leaves, or
   * the nodes of one tree level), in one range read: a tile costs one native call, not 256.
   * Returns fewer when some are missing.
   */
  async consecutive(family: { leaf: true } | { level: number }, first: number, count: number): Promise<Uint8Array[]> {
    const at = (i: number) => ('leaf' in family ? key.leaf(i) : key.node(family.level, i));
    // One chunk larger than the range: one trip to the store, which then knows it has ended
    // (level-kv.ts says why the size of a LevelDB range's steps matters).
    const found: Uint8Array[] = [];
    if (count <= 0) return found;
    for await (const chunk of this.kv.chunks({ gte: at(first), lt: at(first + count) }, count + 1)) for (const [, v] of chunk) found.push(v);
    return found;
  }

  /**
   * The stored nodes of one tree level from `from` to `to` (exclusive), as (index, hash), in
   * chunks of FILL_CHUNK read through one range: one native iterator a level, not one a
   * chunk (each held its chunk's native buffers until the collector finalized it, and
   * reading 20 M nodes so left ~120 MB more in the allocator's thread arenas at 1 M).
   */
  private async *levelNodes(level: number, from: number, to: number): AsyncIterable<Array<[number, Uint8Array]>> {
    for await (const chunk of this.kv.chunks({ gte: key.node(level, from), lt: key.node(level, to) }, FILL_CHUNK)) {
      yield chunk.map(([k, v]): [number, Uint8Array] => [readUintBE(k.subarray(2)), v]);
    }
  }

  /** True while the node cache is being filled after a start (proofs read more from the store until it ends). */
  get nodeFilling(): boolean {
    return this.filling;
  }

  /**
   * Tells the node cache how large the tree has grown, so it can keep within its budget; the
   * first time the tree is not empty, fills the cache from the store in the background
   * (node-cache.ts). Resolves when that fill has ended; never rejects.
   */
  noteTreeSize(size: number): Promise<void> {
    this.nodeCache.noteTreeSize(size);
    if (size > 0 && !this.nodeFill) {
      this.filling = true;
      this.nodeFill = this.nodeCache
        .fill(size, (level, from, to) => this.levelNodes(level, from, to), () => this.closing)
        .catch(() => undefined) // a cache: what is not filled is read from the store when asked
        .finally(() => (this.filling = false));
    }
    return this.nodeFill ?? Promise.resolve();
  }

  /** The latest checkpoint (the one with the largest size), if any. */
  async latestCheckpoint(): Promise<{ size: number; note: string } | undefined> {
    return firstCheckpoint(this.kv, LATEST);
  }

  /** The first checkpoint whose tree includes `index`: the one its receipt was issued with. */
  async checkpointCovering(index: number): Promise<{ size: number; note: string } | undefined> {
    return firstCheckpoint(this.kv, { gt: key.checkpoint(index), lt: prefixRange(PREFIX.checkpoint).lt });
  }

  worksOwnedBy(party: string, limit = 1000): Promise<string[]> {
    return this.members(PREFIX.owned, party, limit);
  }
  licencesHeldBy(party: string, limit = 1000): Promise<string[]> {
    return this.members(PREFIX.held, party, limit);
  }

  /** Ids under a two-part key (party → works owned, party → licences held), in key order. */
  private async members(prefix: Uint8Array, party: string, limit: number): Promise<string[]> {
    const range = prefixRange(prefix, key.party(party).subarray(1));
    return (await this.kv.range({ ...range, limit })).map(([k]) => toHex(k.subarray(33)));
  }

  async *leafChunks(chunk: number): AsyncIterable<Array<{ index: number; bytes: Uint8Array }>> {
    for await (const found of this.kv.chunks(prefixRange(PREFIX.leaf), chunk)) yield found.map(([k, v]) => ({ index: readUintBE(k, 1), bytes: v }));
  }

  async *checkpoints(): AsyncIterable<StoredCheckpoint> {
    for await (const found of this.kv.chunks(prefixRange(PREFIX.checkpoint), 256)) for (const [k, v] of found) yield { size: readUintBE(k, 1), note: text.decode(v) };
  }

  /** Every derived record, prefix by prefix, each in key order, a chunk at a time. */
  async *derivedRecords(): AsyncIterable<Array<[Uint8Array, Uint8Array]>> {
    for (const prefix of DERIVED) yield* this.kv.chunks(prefixRange(prefix), 1024);
  }

  /** A replay's effects, written as the sequencer writes them (audit's scratch store). */
  writeEffects(effects: readonly Effects[]): Promise<void> {
    // Made as the backend takes them, as in `append`.
    return this.write((function* () {
      for (const e of effects) yield* effectOps(e);
    })());
  }

  /**
   * The synchronous view of an embedded store with a batch's planned range reads (`read`,
   * audit's replay; see `sync`).
   */
  syncWith(planned: PlannedReads): StoreView {
    const getSync = this.kv.getSync;
    if (!getSync) return this.sync; // which says why there is none
    return new RecordView(getSync, this.similarity, this.nodeCache, undefined, planned);
  }

  async verifyDerived(replayed: Pick<LedgerStorage, 'derivedRecords'>, size: number): Promise<StoreFault | undefined> {
    // Both in key order: one pass over each, a chunk of each in memory at a time.
    const describe = (k: Uint8Array) => `${DERIVED_NAMES[String.fromCharCode(k[0] as number)] ?? 'record'} ${toHex(k.subarray(1, 33))}`;
    const stored = records(this.derivedRecords());
    const expected = records(replayed.derivedRecords());
    let [have, want] = await Promise.all([stored.next(), expected.next()]);
    while (!have.done || !want.done) {
      const order = have.done ? 1 : want.done ? -1 : Buffer.compare(have.value[0], want.value[0]);
      if (order < 0) return { where: describe((have.value as [Uint8Array, Uint8Array])[0]), detail: 'stored record that no entry of the log produces' };
      if (order > 0) return { where: describe((want.value as [Uint8Array, Uint8Array])[0]), detail: 'record missing from the store' };
      const [k, v] = have.value as [Uint8Array, Uint8Array];
      if (!equalBytes(v, (want.value as [Uint8Array, Uint8Array])[1])) return { where: describe(k), detail: 'stored record differs from the replay of the log' };
      [have, want] = await Promise.all([stored.next(), expected.next()]);
    }
    for (const [prefix, name] of [[PREFIX.id, 'id index'], [PREFIX.signed, 'signed-content index']] as const) {
      let count = 0;
      for await (const found of this.kv.chunks(prefixRange(prefix), 4096)) count += found.length;
      if (count !== size) return { where: name, detail: `holds ${count} entries for ${size} leaves` };
    }
    return undefined;
  }
}

/** The pairs of chunks, one at a time. */
async function* records(chunks: AsyncIterable<Array<[Uint8Array, Uint8Array]>>): AsyncGenerator<[Uint8Array, Uint8Array]> {
  for await (const chunk of chunks) yield* chunk;
}

const put = (k: Uint8Array, value: Uint8Array): BatchOp => ({ type: 'put', key: k, value });

/** The title filter's first capacity, unless told: 1 Mi titles, 2 MiB. */
const MIN_TITLE_CAPACITY = 1 << 20;
/** Meta mark: every registered work's titles are filed under Z (see `fileEarlierTitles`). */
const TITLES_FILED = 'titles-filed';
const TITLE_PREFIX = PREFIX.title[0] as number;

const titlesOf = (work: WorkRecord): FiledTitle[] => fileTitles(work.id, work.registeredIndex, [work.title, ...(work.aliases ?? [])]);

/**
 * A work's titles as Z records: the prefix hash (what the filter is rebuilt from), the work
 * id, then the title and its normalised form, each after its byte length (u16).
 */
function titleOps(work: WorkRecord): BatchOp[] {
  return titlesOf(work).map((f, ordinal) => {
    const title = Buffer.from(f.title);
    const normalised = Buffer.from(f.key);
    const value = Buffer.allocUnsafe(8 + 32 + 2 + title.length + 2 + normalised.length);
    value.writeUInt32BE(f.hash[0], 0);
    value.writeUInt32BE(f.hash[1], 4);
    value.write(f.work, 8, 'hex');
    value.writeUInt16BE(title.length, 40);
    title.copy(value, 42);
    value.writeUInt16BE(normalised.length, 42 + title.length);
    normalised.copy(value, 44 + title.length);
    return put(key.title(f.digest, f.workIndex, ordinal), value);
  });
}

function storedTitleHash(v: Uint8Array): [number, number] {
  if (v.length < 40) throw new CartularyError('corrupt', 'a stored title record is truncated');
  return [readUintBE(v, 0, 4), readUintBE(v, 4, 4)];
}

function storedTitle(k: Uint8Array, v: Uint8Array): FoundTitle {
  const damaged = () => new CartularyError('corrupt', `stored title record under key ${toHex(k)} is truncated`);
  if (v.length < 44 || k.length !== 1 + 16 + 8 + 1) throw damaged();
  const titleEnd = 42 + readUintBE(v, 40, 2);
  if (titleEnd + 2 > v.length) throw damaged();
  const keyEnd = titleEnd + 2 + readUintBE(v, titleEnd, 2);
  if (keyEnd !== v.length) throw damaged();
  return { work: toHex(v.subarray(8, 40)), workIndex: readUintBE(k, 17, 8), title: text.decode(v.subarray(42, titleEnd)), key: text.decode(v.subarray(titleEnd + 2, keyEnd)) };
}

/** The prefixes of derived state, and what audit calls each. */
const DERIVED_NAMES: Record<string, string> = {
  W: 'work',
  X: 'licence',
  S: 'content',
  R: 'registration of content',
  D: 'holding of content',
  Y: 'entry list of work',
  V: 'lookalike rivals of work',
  P: 'party',
  O: 'owned',
  G: 'held',
  F: 'fingerprints',
  s: 'soundtrack of work',
  p: 'keypoint patches of work',
  K: "work's licence",
  J: 'holding of work',
  E: 'exclusivity index of work',
  Q: 'claim',
  A: 'accreditation of mediator',
  B: 'resolution',
  T: 'sightings of work',
  U: 'sighting count of work',
  Z: 'title index',
};
const DERIVED = Object.keys(DERIVED_NAMES).map((letter) => utf8(letter));

/** Where an entry is listed: under its work's chain, or among its sightings. */
const listedKey = ({ list, work, index }: ListedEntry): Uint8Array => (list === 'chain' ? key.workEntry(work, index) : key.sighting(work, index));

/** A page (`Page`) of a list known whole, in ledger order: what `indexed` would read of it. */
function knownPage<T>(all: readonly T[], { limit = 100, after = -1 }: Page, indexOf: (item: T) => number): T[] {
  return all.filter((item) => indexOf(item) > after).slice(0, limit);
}

/** The batch ops that record one statement's Effects, index keys included. */
export function effectOps(effects: Effects): BatchOp[] {
  const ops: BatchOp[] = [];
  for (const { before, after } of effects.works) {
    ops.push(put(key.work(after.id), encodeRecord(after)));
    if (before?.owner !== after.owner) {
      if (before) ops.push({ type: 'del', key: key.owned(before.owner, after.id) });
      ops.push(put(key.owned(after.owner, after.id), EMPTY));
    }
    if (!before) {
      ops.push(put(key.registration(after.sha256, after.registeredIndex), id32(after.id)), ...titleOps(after));
      for (const rival of after.lookalikes) ops.push(put(key.rival(after.id, rival), EMPTY), put(key.rival(rival, after.id), EMPTY));
    }
  }
  for (const listed of listedEntries(effects)) ops.push(put(listedKey(listed), EMPTY));
  for (const { before, after } of effects.licences) {
    ops.push(put(key.licence(after.id), encodeRecord(after)));
    if (!before) {
      ops.push(put(key.held(after.licensee, after.id), EMPTY));
      ops.push(put(key.workLicence(after.work, after.index), fromHex(after.id, 'licence', 32)));
    }
    // Only standing licences are filed for the exclusivity rule: a revocation takes one out.
    const standing = after.revokedAt === null;
    if (standing && (!before || before.revokedAt !== null)) for (const e of licenceEntries(after)) ops.push(put(e.key, e.value));
    if (!standing && before && before.revokedAt === null) for (const e of licenceEntries(after)) ops.push({ type: 'del', key: e.key });
  }
  if (effects.held) ops.push(put(key.heldOnWork(effects.held.work, effects.held.licensee), encodeRecord(effects.held.licences)));
  if (effects.content) ops.push(put(key.sha(effects.content.sha256), encodeRecord(effects.content)));
  for (const h of effects.holdings ?? []) {
    ops.push(isEmptyHolding(h) ? { type: 'del', key: key.holding(h.sha256, h.party) } : put(key.holding(h.sha256, h.party), encodeRecord(h)));
  }
  if (effects.party) ops.push(put(key.party(effects.party.party), encodeRecord(effects.party)));
  for (const kind of PRINT_KINDS) {
    const print = effects[kind];
    if (print) ops.push(put(key[kind](print.work), print.bytes));
  }
  if (effects.claim) ops.push(put(key.claim(effects.claim.id), encodeRecord(effects.claim)));
  if (effects.mediator) ops.push(put(key.mediator(effects.mediator.party), encodeRecord(effects.mediator)));
  if (effects.resolution) ops.push(put(key.resolution(effects.resolution.id), encodeRecord(effects.resolution)));
  if (effects.sighting) ops.push(put(key.sightingCount(effects.sighting.work), encodeRecord(effects.sighting.count)));
  return ops;
}

