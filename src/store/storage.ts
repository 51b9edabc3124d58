/**
 * The storage contract (issue 11.1): what the sequencer, audit and the HTTP edge may ask of a
 * ledger store, and what every implementation guarantees. LevelDB (ledger-store.ts) is the
 * embedded default; nothing outside a store's own module knows its keys or its database.
 *
 * Guarantees:
 * - Atomic, durable appends: `append(batch)` writes a batch's leaves, tree nodes, derived
 *   records and signed checkpoint together. When it resolves, all of it survives a crash or
 *   power loss; if it rejects or the process dies first, after a restart either all of it
 *   or none of it is visible. The sequencer answers nobody before it resolves.
 * - Appends extend only what is stored: an append names the checkpoint it extends, and is
 *   refused ('corrupt'), writing nothing, if the store's latest is another (a database
 *   restored or edited behind the writer). The writer never signs onto a fork of the store.
 * - Read-after-append consistency: every read issued after `append` resolved sees the whole
 *   batch. Reads never see part of a batch.
 * - Immutability of the log: a leaf, a tree node and a checkpoint, once appended, never
 *   change; stores may cache them forever.
 * - One writer: a store opened for writing holds an exclusive lock on its data until
 *   `close`; a second opener for writing is refused ('unavailable'), never given a second
 *   writer. A store opened read-only (PostgreSQL's followers) refuses `append`.
 * - Damage is named: a store whose data is damaged answers 'corrupt' errors, never a
 *   silent empty or partial state.
 * - Reads are planned, then fetched: the rules, the proofs and the views are synchronous and
 *   pure, and `read` runs them on a consistent snapshot. A store whose reads cross a network
 *   runs them once to learn which keys they read, fetches those together, and runs them
 *   again until nothing is missing (rounds = the depth of a chain of reads, not its length);
 *   range reads a batch's rules need (`plan`) are fetched before they run.
 */
import type { LeafRange, NodeReader } from '../core/merkle.js';
import type { Effects, LedgerView, OverlapQuery, ResolutionRecord, WorkRecord } from '../core/records.js';
import type { PlannedReads } from './record-view.js';
import type { MatchingRules, SimilarityIndex } from '../core/similarity.js';
import type { SoundIndex } from '../core/soundtrack.js';
import type { Prints } from '../core/state.js';
import type { TitleFindings } from '../core/titles.js';

/** One accepted statement as the sequencer appends it. */
export interface AppendedEntry {
  index: number;
  /** the leaf bytes (DESIGN §5) */
  leaf: Uint8Array;
  /** the statement id (SHA-256 of its canonical envelope) and SHA-256 of its Sig_structure */
  id: Uint8Array;
  signedHash: Uint8Array;
  effects: Effects;
}

/** Everything one commit writes: applied all together or not at all. */
export interface AppendBatch {
  entries: AppendedEntry[];
  /** the perfect-subtree hashes the entries complete */
  nodes: Array<{ level: number; index: number; hash: Uint8Array }>;
  /** the checkpoint signed over the tree these entries end */
  checkpoint: { size: number; note: string };
  /** the size of the stored checkpoint these entries extend (null: the store holds none yet) */
  extends: number | null;
}

/** Where a listing starts (`after`, an index) and how many it returns. */
export interface Page {
  after?: number;
  limit?: number;
}

export interface StoredCheckpoint {
  size: number;
  note: string;
}

/** Where a store's content disagrees with the log, and how. */
export interface StoreFault {
  where: string;
  detail: string;
}

/** The synchronous reads of one consistent snapshot: the records, the log and the tree. */
export interface StoreView extends LedgerView {
  leaf(index: number): Uint8Array | undefined;
  readonly readNodes: NodeReader;
  /** The hashes of ranges of the tree, as merkle.ts `hashRanges` over `readNodes`, remembering folded ranges across views. */
  hashRanges(ranges: readonly LeafRange[]): Uint8Array[];
  /** the entry of a statement id, and of a signed content (any envelope, any signature) */
  indexOf(id: Uint8Array): number | undefined;
  indexOfSigned(signedHash: Uint8Array): number | undefined;
  checkpoint(size: number): string | undefined;
  resolution(id: string): ResolutionRecord | undefined;
  /** metadata fixed when the ledger was made (its origin, its registrar) or kept beside it */
  meta(name: string): string | undefined;
}

export interface LedgerStorage {
  /** what and where, for messages */
  readonly description: string;
  /** true for a follower of another process's writes (`serve --read-only`): `append` is refused */
  readonly readOnly: boolean;
  /** Atomic and durable when it resolves (see the guarantees above). */
  append(batch: AppendBatch): Promise<void>;
  /** Writes metadata beside the log (not part of it), atomically and durably. */
  setMeta(name: string, value: string): Promise<void>;
  close(): Promise<void>;

  /**
   * Runs `reads` — synchronous and pure: it may run more than once — on one consistent
   * snapshot, with the batch plan's range reads when given (see the guarantees above).
   */
  read<T>(reads: (view: StoreView) => T, planned?: PlannedReads): Promise<T>;
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  /** the first checkpoint whose tree includes `index`: the one its receipt was issued with */
  checkpointCovering(index: number): Promise<StoredCheckpoint | undefined>;
  /**
   * `count` consecutive leaves, or nodes of one tree level, from `first`, in one range read
   * (a tile costs one read, not 256); fewer when some are missing.
   */
  consecutive(family: { leaf: true } | { level: number }, first: number, count: number): Promise<Uint8Array[]>;
  /**
   * tells the store how large the tree is, so caches of upper levels stay bounded; resolves
   * once the first fill of those caches from the store has ended (never rejects)
   */
  noteTreeSize(size: number): Promise<void>;

  // --- derived state, planned reads and listings ---
  /**
   * The range reads a batch's rules need: these overlap queries and registrations'
   * fingerprint searches, fetched now (a search in slices, so it never holds the event loop).
   */
  plan(queries: readonly OverlapQuery[], searches?: { frames: readonly Uint8Array[]; rules: MatchingRules }): Promise<PlannedReads>;
  /**
   * a registration's fingerprints join the similarity, sound and patch indexes (a replay's
   * scratch store: an `append` indexes its batch's itself, once durable)
   */
  indexPrints(work: WorkRecord, prints: Prints): void;
  /** the fingerprints (as signed) of those of the works that have any */
  printsOf(works: readonly string[]): Promise<Map<string, Prints>>;
  /**
   * the checkpoint through which every registration is in the fingerprint indexes and the
   * title filter (each `append` moves it; `indexEntries` brings it up to a later one)
   */
  readonly indexedThrough: StoredCheckpoint | undefined;
  /**
   * the works entries [from, to) registered (another writer's) join the indexes and the
   * title filter, which then hold every registration through `to`
   */
  indexEntries(from: number, to: StoredCheckpoint): Promise<void>;
  /** the registered works an upload's title and description name, from every registered work's title and aliases */
  findTitles(text: string): Promise<TitleFindings>;
  /** every registered work's frames, for near-duplicate search (searched in slices by its callers) */
  readonly similarity: SimilarityIndex;
  /** every registered work's soundtrack, for a check's sound search (a check's evidence only) */
  readonly sound: SoundIndex;
  /** every registered work's keypoint patches, searched only with an upload's patches (a check's evidence only) */
  readonly patches: SimilarityIndex;
  /** the lists of a work from its record (which says when they are empty or short: then nothing is read) */
  licencesOf(work: WorkRecord, page?: Page): Promise<string[]>;
  entriesOf(work: WorkRecord, page?: Page): Promise<number[]>;
  registrationsOf(sha256: string, page?: Page): Promise<string[]>;
  rivalsOf(work: WorkRecord, limit?: number): Promise<string[]>;
  /** a work's sightings (entry indices), newest first, before the index `before` */
  sightingsOf(work: string, page?: { before?: number; limit?: number }): Promise<number[]>;
  worksOwnedBy(party: string, limit?: number): Promise<string[]>;
  licencesHeldBy(party: string, limit?: number): Promise<string[]>;

  // --- for audit: everything, in order, and a comparison with a replay ---
  /** the stored leaves in index order, a chunk at a time */
  leafChunks(chunk: number): AsyncIterable<Array<{ index: number; bytes: Uint8Array }>>;
  /** every stored checkpoint, smallest tree first */
  checkpoints(): AsyncIterable<StoredCheckpoint>;
  /** every derived record (works, licences, indexes…), prefix by prefix, each in key order */
  derivedRecords(): AsyncIterable<Array<[Uint8Array, Uint8Array]>>;
  /**
   * Whether the stored derived records are exactly those of `replayed` (a store the leaves
   * were replayed into), and the id indexes hold one entry per leaf of `size`, naming the
   * first difference. Streams both in key order: memory does not grow with the ledger.
   */
  verifyDerived(replayed: Pick<LedgerStorage, 'derivedRecords'>, size: number): Promise<StoreFault | undefined>;
}
