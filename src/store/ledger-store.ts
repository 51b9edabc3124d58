/**
 * The ledger's storage on LevelDB (classic-level).
 *
 * Contract:
 * - `write(ops)` is one atomic LevelDB batch with `sync: true`: when it resolves, every op
 *   is on disk and survives a crash or power loss; if the process dies during it, none of
 *   it is visible after restart (LevelDB's log either holds the whole batch record or
 *   discards it on recovery). The sequencer relies on this for "nothing acknowledged is lost".
 * - Reads are read-after-write consistent and synchronous where the rules and the proof
 *   code need them (`getSync`, measured far faster than awaited single gets).
 */
import { ClassicLevel } from 'classic-level';
import { concatBytes, equalBytes, fromHex, toHex, readUintBE, uintBE, utf8 } from '../core/bytes.js';
import { decodeFrames, encodeFrames, type FrameHash } from '../core/fingerprint.js';
import type { NodeId, NodeReader } from '../core/merkle.js';
import { CURRENT_MATCHING, SimilarityIndex, type FrameHit, type MatchingRules } from '../core/similarity.js';
import { searchInSlices } from './sliced-search.js';
import { TitleIndex } from '../core/titles.js';
import {
  listedEntries,
  type ClaimRecord,
  type ListedEntry,
  type ContentRecord,
  type Effects,
  type HoldingRecord,
  type LedgerView,
  type LicenceRecord,
  type MediatorRecord,
  type OverlapQuery,
  type PartyRecord,
  type ResolutionRecord,
  type WorkRecord,
} from '../core/records.js';
import { isEmptyHolding, type MemoryState } from '../core/state.js';
import { entryMeets, licenceEntries, queryRanges } from './exclusivity-index.js';
import { CartularyError } from '../core/errors.js';
import { key, prefixRange, PREFIX } from './layout.js';
import type { AppendBatch, LedgerStorage, Page, StoredCheckpoint, StoreFault } from './storage.js';

const id32 = (hex: string) => fromHex(hex, 'id', 32);

export type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

const EMPTY = new Uint8Array(0);

// Derived records are never signed or hashed, so they need no deterministic CBOR: JSON is
// several times faster to write and read here, and the rules build every record with
// the same key order, so `audit` can still compare stored and replayed bytes.
const encodeRecord = (record: unknown): Uint8Array => Buffer.from(JSON.stringify(record));
const decodeRecord = <T>(bytes: Uint8Array): T => JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as T;

/** The longest a registration's fingerprint search holds the event loop at a time, ms. */
const SEARCH_SLICE_MS = 8;

/** Upper tree levels kept in memory hold at most about twice this many nodes (~20 MB). */
const NODE_CACHE_BUDGET = 1 << 16;

export class LedgerStore implements LedgerStorage {
  /** the fingerprint frames of every registered work, in memory for near-duplicate search */
  readonly similarity = new SimilarityIndex();
  /** every work's title and aliases, in memory for the title match of the check */
  readonly titles = new TitleIndex();
  // Every proof passes through the upper levels of the tree, and a node never changes once
  // written: those levels are served from memory. The lowest cached level rises with the
  // tree so the cache stays bounded (levels ≥ L hold ~2·n/2^L nodes).
  private readonly nodeCache: Array<Map<number, Uint8Array> | undefined> = [];
  // Nothing is cached until the tree's size is known (a store opened only to audit never is).
  private cacheFloor = Number.POSITIVE_INFINITY;
  private registrarParty: string | undefined;

  private constructor(readonly db: ClassicLevel<Uint8Array, Uint8Array>) {}

  /**
   * Opens the database in `dir`. Only with `create` may a missing database be created: a
   * folder that lost its database must never reopen as a new, empty ledger.
   */
  static async open(dir: string, { create = false } = {}): Promise<LedgerStore> {
    // A 32 MiB block cache (LevelDB's default is 8): proofs read small values at random.
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      cacheSize: 32 * 1024 * 1024,
      createIfMissing: create,
      errorIfExists: create,
    });
    try {
      await db.open();
    } catch (e) {
      const reason = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
      if (/lock/i.test(reason)) {
        throw new CartularyError('unavailable', `the ledger data folder ${dir} is in use by another process (a running server holds its lock); stop it first, or ask the server (GET /healthz)`, { cause: e });
      }
      if (/corrupt/i.test(reason)) throw new CartularyError('corrupt', `the ledger database in ${dir} is damaged: ${reason}. Restore the folder from a backup`, { cause: e });
      throw new CartularyError('unavailable', `cannot open the ledger data folder ${dir}: ${reason}`, { cause: e });
    }
    const store = new LedgerStore(db);
    try {
      for await (const [k, v] of db.iterator(prefixRange(PREFIX.frames))) {
        const work = store.work(toHex(k.subarray(1)));
        if (!work) throw new CartularyError('corrupt', `fingerprint frames are stored for work ${toHex(k.subarray(1))}, which has no record`);
        store.indexFrames(work, v);
      }
      for await (const v of db.values(prefixRange(PREFIX.work))) store.indexTitles(decodeRecord<WorkRecord>(v));
    } catch (e) {
      await db.close();
      throw storeError(e);
    }
    return store;
  }

  /** Adds a registered work's frames (as signed) to the similarity index, under its registration's ledger index. */
  indexFrames(work: WorkRecord, bytes: Uint8Array): void {
    this.similarity.addEncoded(work.id, work.registeredIndex, bytes);
  }

  /** Adds a registered work's title and aliases to the title index. */
  indexTitles(work: WorkRecord): void {
    this.titles.add(work.id, work.registeredIndex, [work.title, ...(work.aliases ?? [])]);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  /** The batch as LevelDB ops, in one synced write (see `write`). */
  append(batch: AppendBatch): Promise<void> {
    const ops: BatchOp[] = [];
    for (const e of batch.entries) {
      ops.push(put(key.leaf(e.index), e.leaf), put(key.id(e.id), uintBE(e.index, 8)), put(key.signed(e.signedHash), uintBE(e.index, 8)), ...effectOps(e.effects));
    }
    for (const n of batch.nodes) ops.push(put(key.node(n.level, n.index), n.hash));
    ops.push(put(key.checkpoint(batch.checkpoint.size), utf8(batch.checkpoint.note)));
    return this.write(ops);
  }

  /**
   * One atomic, synced batch (see the contract above). A chained batch fills LevelDB's
   * native WriteBatch op by op: measured 6x faster here than the array form, which
   * copies and re-checks every op in JavaScript first.
   */
  write(ops: BatchOp[]): Promise<void> {
    const batch = this.db.batch();
    for (const op of ops) {
      if (op.type === 'put') batch.put(op.key, op.value);
      else batch.del(op.key);
    }
    return batch.write({ sync: true });
  }

  private getSync(k: Uint8Array): Uint8Array | undefined {
    try {
      return this.db.getSync(k) ?? undefined;
    } catch (e) {
      throw storeError(e);
    }
  }

  private record<T>(k: Uint8Array): T | undefined {
    const v = this.getSync(k);
    if (v === undefined) return undefined;
    try {
      return decodeRecord<T>(v);
    } catch (e) {
      throw new CartularyError('corrupt', `stored record under key ${toHex(k)} does not parse`, { cause: e });
    }
  }

  // --- LedgerView: the derived state the rules read ---
  work(id: string): WorkRecord | undefined {
    return this.record(key.work(id));
  }
  licence(id: string): LicenceRecord | undefined {
    return this.record(key.licence(id));
  }
  content(sha256: string): ContentRecord | undefined {
    return this.record(key.sha(sha256));
  }
  holding(sha256: string, party: string): HoldingRecord | undefined {
    return this.record(key.holding(sha256, party));
  }
  party(party: string): PartyRecord | undefined {
    return this.record(key.party(party));
  }
  claim(id: string): ClaimRecord | undefined {
    return this.record(key.claim(id));
  }
  mediator(party: string): MediatorRecord | undefined {
    return this.record(key.mediator(party));
  }
  resolution(id: string): ResolutionRecord | undefined {
    return this.record(key.resolution(id));
  }
  sightings(work: string): number {
    return this.record<number>(key.sightingCount(work)) ?? 0;
  }
  /** Fixed at init (ledger.ts), so read once. */
  registrar(): string | undefined {
    return (this.registrarParty ??= this.meta('registrar'));
  }

  frameHits(frames: readonly FrameHash[], rules?: MatchingRules): FrameHit[] {
    return this.similarity.hits(frames, rules ? { rules } : {});
  }
  licencesHeld(work: string, licensee: string): readonly string[] {
    return this.record<string[]>(key.heldOnWork(work, licensee)) ?? [];
  }
  /** Range reads are fetched before the rules run: ask `withOverlaps` for a view that has them. */
  overlapCandidates(q: OverlapQuery): readonly string[] {
    throw new Error(`overlap candidates for work ${q.work} were not fetched before the rules ran`);
  }

  /**
   * A view of this store that also answers the given overlap queries, fetched now: the
   * sequencer plans a batch's range reads, fetches them concurrently, then runs the pure
   * rules on this snapshot (DESIGN §11, issue 11.1). Reads stay consistent because the
   * sequencer is the only writer and fetches between its commits.
   */
  async withOverlaps(queries: readonly OverlapQuery[], searches: { frames: readonly Uint8Array[]; rules: MatchingRules } = { frames: [], rules: CURRENT_MATCHING }): Promise<LedgerView> {
    // Registrations' fingerprint searches, made now in slices so a long one never holds the
    // event loop (issue 10.2); exact, so the rules decide as a replay does.
    const found = new Map<string, FrameHit[]>();
    for (const bytes of searches.frames) {
      const frames = decodeFrames(bytes);
      found.set(`${searches.rules.version}/${toHex(bytes)}`, await searchInSlices(this.similarity, { count: frames.length, frames: (from, n) => frames.slice(from, from + n), rules: searches.rules, sliceMs: SEARCH_SLICE_MS }));
    }
    const answers = new Map<string, readonly string[]>();
    await Promise.all(
      queries.map(async (q) => {
        const ids = new Set<string>();
        // A work not yet stored, or with no licence, has nothing to meet; most works have no
        // exclusive licence, and then neither has a non-exclusive one.
        const work = this.work(q.work);
        if (!work || work.licenceCount === 0 || (q.exclusiveOnly && work.exclusives === 0)) {
          answers.set(overlapKey(q), []);
          return;
        }
        try {
          for (const range of queryRanges(q)) {
            for (const value of await this.db.values(range).all()) {
              const { meets, licence } = entryMeets(value, q);
              if (meets) ids.add(licence);
            }
          }
        } catch (e) {
          throw storeError(e);
        }
        answers.set(overlapKey(q), [...ids]);
      }),
    );
    const store = this;
    return {
      work: (id) => store.work(id),
      licence: (id) => store.licence(id),
      content: (sha) => store.content(sha),
      holding: (sha, party) => store.holding(sha, party),
      party: (p) => store.party(p),
      claim: (id) => store.claim(id),
      mediator: (p) => store.mediator(p),
      sightings: (work) => store.sightings(work),
      registrar: () => store.registrar(),
      frameHits: (frames, rules = CURRENT_MATCHING) => found.get(`${rules.version}/${toHex(encodeFrames(frames))}`) ?? store.frameHits(frames, rules),
      licencesHeld: (work, licensee) => store.licencesHeld(work, licensee),
      overlapCandidates(q) {
        const found = answers.get(overlapKey(q));
        if (!found) throw new Error(`overlap candidates for work ${q.work} were not planned before the rules ran`);
        return found;
      },
    };
  }

  /** A work's licence ids in grant order, a page at a time (after the ledger index `after`). */
  licencesOf(work: string, page: Page = {}): Promise<string[]> {
    return this.indexed(PREFIX.workLicence, id32(work), page, (_, v) => toHex(v));
  }

  /** The indices of the entries about a work, in order, a page at a time. */
  entriesOf(work: string, page: Page = {}): Promise<number[]> {
    return this.indexed(PREFIX.workEntry, id32(work), page, (k) => readUintBE(k, 33));
  }

  /** The works registered with a content, earliest first, a page at a time (`after`: a registration index). */
  registrationsOf(sha256: string, page: Page = {}): Promise<string[]> {
    return this.indexed(PREFIX.registration, id32(sha256), page, (_, v) => toHex(v));
  }

  /** A work's sightings, newest first, a page at a time (`before`: the index of the last one seen). */
  async sightingsOf(work: string, { before, limit = 100 }: { before?: number; limit?: number } = {}): Promise<number[]> {
    const range = prefixRange(PREFIX.sighting, id32(work));
    try {
      const found = await this.db.keys({ gte: range.gte, lt: before === undefined ? range.lt : key.sighting(work, before), reverse: true, limit }).all();
      return found.map((k) => readUintBE(k, 33));
    } catch (e) {
      throw storeError(e);
    }
  }

  /** Works of other parties that a work's fingerprints contest, or that contest it (lookalikes), in id order. */
  async rivalsOf(work: string, limit = 100): Promise<string[]> {
    try {
      return (await this.db.keys({ ...prefixRange(PREFIX.rival, id32(work)), limit }).all()).map((k) => toHex(k.subarray(33)));
    } catch (e) {
      throw storeError(e);
    }
  }

  /** A page of an index keyed `prefix ‖ owner(32) ‖ index(8)`, from index `after + 1`. */
  private async indexed<T>(prefix: Uint8Array, owner: Uint8Array, { limit = 100, after = -1 }: Page, read: (k: Uint8Array, v: Uint8Array) => T): Promise<T[]> {
    try {
      const found = await this.db.iterator({ gte: concatBytes(prefix, owner, uintBE(after + 1, 8)), lt: prefixRange(prefix, owner).lt, limit }).all();
      return found.map(([k, v]) => read(k, v));
    } catch (e) {
      throw storeError(e);
    }
  }

  // --- the log and the tree ---
  leaf(index: number): Uint8Array | undefined {
    return this.getSync(key.leaf(index));
  }
  indexOf(id: Uint8Array): number | undefined {
    const v = this.getSync(key.id(id));
    return v === undefined ? undefined : readUintBE(v);
  }
  /** The entry whose statement has this signed content (any envelope, any signature). */
  indexOfSigned(signedHash: Uint8Array): number | undefined {
    const v = this.getSync(key.signed(signedHash));
    return v === undefined ? undefined : readUintBE(v);
  }
  checkpoint(size: number): string | undefined {
    const v = this.getSync(key.checkpoint(size));
    return v === undefined ? undefined : new TextDecoder().decode(v);
  }

  readNodes: NodeReader = (ids: readonly NodeId[]) =>
    ids.map(({ level, index }) => {
      const cached = level >= this.cacheFloor ? this.nodeCache[level]?.get(index) : undefined;
      if (cached) return cached;
      const h = this.getSync(key.node(level, index));
      if (!h) throw new CartularyError('corrupt', `Merkle node at level ${level}, index ${index} is missing from the store`);
      if (level >= this.cacheFloor) (this.nodeCache[level] ??= new Map()).set(index, h);
      return h;
    });

  /**
   * `count` consecutive stored values from `first` under a numbered key family (leaves, or
   * the nodes of one tree level), in one range read: a tile costs one native call, not 256.
   * Returns fewer when some are missing.
   */
  async consecutive(family: { leaf: true } | { level: number }, first: number, count: number): Promise<Uint8Array[]> {
    const at = (i: number) => ('leaf' in family ? key.leaf(i) : key.node(family.level, i));
    try {
      return await this.db.values({ gte: at(first), lt: at(first + count) }).all();
    } catch (e) {
      throw storeError(e);
    }
  }

  /** Tells the node cache how large the tree has grown, so it can keep within its budget. */
  noteTreeSize(size: number): void {
    let floor = 0;
    while (size / 2 ** floor > NODE_CACHE_BUDGET) floor++;
    const from = Number.isFinite(this.cacheFloor) ? this.cacheFloor : floor;
    for (let level = from; level < floor; level++) this.nodeCache[level] = undefined;
    this.cacheFloor = Math.max(from, floor);
  }

  /** The latest checkpoint (the one with the largest size), if any. */
  async latestCheckpoint(): Promise<{ size: number; note: string } | undefined> {
    return this.firstCheckpoint({ ...prefixRange(PREFIX.checkpoint), reverse: true });
  }

  /** The first checkpoint whose tree includes `index`: the one its receipt was issued with. */
  async checkpointCovering(index: number): Promise<{ size: number; note: string } | undefined> {
    return this.firstCheckpoint({ gt: key.checkpoint(index), lt: prefixRange(PREFIX.checkpoint).lt });
  }

  private async firstCheckpoint(range: { gt?: Uint8Array; gte?: Uint8Array; lt: Uint8Array; reverse?: boolean }) {
    try {
      const [found] = await this.db.iterator({ ...range, limit: 1 }).all();
      return found ? { size: readUintBE(found[0], 1), note: new TextDecoder().decode(found[1]) } : undefined;
    } catch (e) {
      throw storeError(e);
    }
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
    try {
      return (await this.db.keys({ ...range, limit }).all()).map((k) => toHex(k.subarray(33)));
    } catch (e) {
      throw storeError(e);
    }
  }

  async *leafChunks(chunk: number): AsyncIterable<Array<{ index: number; bytes: Uint8Array }>> {
    const leaves = this.db.iterator(prefixRange(PREFIX.leaf));
    try {
      for (let found; (found = await leaves.nextv(chunk)).length > 0; ) yield found.map(([k, v]) => ({ index: readUintBE(k, 1), bytes: v }));
    } catch (e) {
      throw storeError(e);
    } finally {
      await leaves.close();
    }
  }

  async *checkpoints(): AsyncIterable<StoredCheckpoint> {
    try {
      for await (const [k, v] of this.db.iterator(prefixRange(PREFIX.checkpoint))) yield { size: readUintBE(k, 1), note: new TextDecoder().decode(v) };
    } catch (e) {
      throw storeError(e);
    }
  }

  async verifyDerived(replay: MemoryState, listed: Iterable<ListedEntry>, size: number): Promise<StoreFault | undefined> {
    // The replayed state, written out as the sequencer would have written it from scratch;
    // the entry lists cannot be rebuilt from final records, so the audit hands them over.
    const none = { workPrev: null, works: [], licences: [] };
    const ops = [
      ...effectOps({
        workPrev: null,
        works: [...replay.works.values()].map((after) => ({ before: undefined, after })),
        licences: [...replay.licences.values()].map((after) => ({ before: undefined, after })),
      }),
      ...[...replay.contents.values()].flatMap((content) => effectOps({ ...none, content })),
      ...effectOps({ ...none, holdings: [...replay.holdings.values()].flatMap((h) => h ?? []) }),
      ...[...replay.parties.values()].flatMap((party) => effectOps({ ...none, party })),
      ...[...replay.fingerprints].flatMap(([work, bytes]) => effectOps({ ...none, frames: { work, bytes } })),
      ...[...replay.held].flatMap(([pair, licences]) => {
        const [work, licensee] = pair.split('/') as [string, string];
        return effectOps({ ...none, held: { work, licensee, licences } });
      }),
      ...[...replay.claims.values()].flatMap((claim) => effectOps({ ...none, claim })),
      ...[...replay.mediators.values()].flatMap((mediator) => effectOps({ ...none, mediator })),
      ...[...replay.resolutions.values()].flatMap((resolution) => effectOps({ ...none, resolution })),
      // Only the count: each sighting's own key is one per entry, among the listed.
      ...[...replay.sightingCounts].map(([work, count]) => put(key.sightingCount(work), encodeRecord(count))),
    ];
    const expected = new Map<string, { key: Uint8Array; value: Uint8Array }>();
    for (const op of ops) if (op.type === 'put') expected.set(toHex(op.key), op);
    for (const entry of listed) {
      const k = listedKey(entry);
      expected.set(toHex(k), { key: k, value: EMPTY });
    }
    const describe = (k: Uint8Array) => `${DERIVED_NAMES[String.fromCharCode(k[0] as number)] ?? 'record'} ${toHex(k.subarray(1, 33))}`;
    try {
      for (const prefix of DERIVED) {
        for await (const [k, v] of this.db.iterator(prefixRange(prefix))) {
          const want = expected.get(toHex(k));
          if (!want) return { where: describe(k), detail: 'stored record that no entry of the log produces' };
          if (!equalBytes(want.value, v)) return { where: describe(k), detail: 'stored record differs from the replay of the log' };
          expected.delete(toHex(k));
        }
      }
      const [missing] = expected.values();
      if (missing) return { where: describe(missing.key), detail: 'record missing from the store' };
      for (const [prefix, name] of [[PREFIX.id, 'id index'], [PREFIX.signed, 'signed-content index']] as const) {
        let count = 0;
        for await (const _ of this.db.keys(prefixRange(prefix))) count++;
        if (count !== size) return { where: name, detail: `holds ${count} entries for ${size} leaves` };
      }
    } catch (e) {
      throw storeError(e);
    }
    return undefined;
  }

  meta(name: string): string | undefined {
    const v = this.getSync(key.meta(name));
    return v === undefined ? undefined : new TextDecoder().decode(v);
  }
}

/**
 * A damaged table file surfaces on the first read that touches it, sync or async: as a
 * 'corrupt' CartularyError that says what to do, never as LevelDB's own error and stack.
 */
export function storeError(e: unknown): unknown {
  if ((e as { code?: string }).code !== 'LEVEL_CORRUPTION') return e;
  return new CartularyError('corrupt', `the ledger database is damaged: ${(e as Error).message}. Restore the data folder from a backup`, { cause: e });
}

const put = (k: Uint8Array, value: Uint8Array): BatchOp => ({ type: 'put', key: k, value });

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
  K: "work's licence",
  J: 'holding of work',
  E: 'exclusivity index of work',
  Q: 'claim',
  A: 'accreditation of mediator',
  B: 'resolution',
  T: 'sightings of work',
  U: 'sighting count of work',
};
const DERIVED = Object.keys(DERIVED_NAMES).map((letter) => utf8(letter));

/** Where an entry is listed: under its work's chain, or among its sightings. */
const listedKey = ({ list, work, index }: ListedEntry): Uint8Array => (list === 'chain' ? key.workEntry(work, index) : key.sighting(work, index));
const overlapKey = (q: OverlapQuery) => JSON.stringify([q.work, q.uses, q.territories, q.from, q.until, q.exclusiveOnly]);

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
      ops.push(put(key.registration(after.sha256, after.registeredIndex), id32(after.id)));
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
  if (effects.frames) ops.push(put(key.frames(effects.frames.work), effects.frames.bytes));
  if (effects.claim) ops.push(put(key.claim(effects.claim.id), encodeRecord(effects.claim)));
  if (effects.mediator) ops.push(put(key.mediator(effects.mediator.party), encodeRecord(effects.mediator)));
  if (effects.resolution) ops.push(put(key.resolution(effects.resolution.id), encodeRecord(effects.resolution)));
  if (effects.sighting) ops.push(put(key.sightingCount(effects.sighting.work), encodeRecord(effects.sighting.count)));
  return ops;
}

