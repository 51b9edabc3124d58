/**
 * The ordered key-value backend a ledger store is built on (ledger-store.ts keeps the key
 * layout, layout.ts names it). Two backends: LevelDB, embedded (level-kv.ts), and
 * PostgreSQL, shared by one writer and many readers (postgres-kv.ts). Keys sort as unsigned
 * bytes in both, so a range of keys is a range scan in both.
 *
 * Every backend guarantees:
 * - `write(ops)` is atomic and durable: when it resolves, every op survives a crash or power
 *   loss; if it rejects or the process dies first, after a restart either all of the ops or
 *   none of them are visible.
 * - Reads see every write that resolved before they were issued, and never part of a write.
 *   `consistent` runs several reads against one snapshot: none of them sees a write that
 *   another process committed after the first of them.
 * - Damage is named: a damaged database answers CartularyError 'corrupt', never a silent
 *   empty or partial answer.
 * - One writer: a backend opened for writing holds an exclusive lock on its data until
 *   `close` (LevelDB's LOCK file; a PostgreSQL advisory lock); a second opener for writing is
 *   refused with 'unavailable'. A backend opened read-only takes no lock and refuses writes.
 */
import { equalBytes } from '../core/bytes.js';
import { CartularyError } from '../core/errors.js';

export type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

/** Bounds are keys; at most one lower and one upper bound. `limit` caps how many are returned. */
export interface KeyRange {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  reverse?: boolean;
  limit?: number;
}

/**
 * A condition checked atomically with a write: the last key in `range` is `is` (none, when
 * null). The ledger's writer states which stored checkpoint its batch extends, so it never
 * writes over a store that changed behind it (restored from a backup, edited by hand).
 */
export interface WriteGuard {
  range: KeyRange;
  is: Uint8Array | null;
}

/** Point reads of one snapshot. */
export interface KeyReads {
  getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>>;
}

export interface OrderedKV extends KeyReads {
  /** what and where, for messages ("LevelDB in data/", "PostgreSQL database cartulary") */
  readonly description: string;
  readonly readOnly: boolean;
  /**
   * A point read served without waiting, where the backend has one (LevelDB: measured far
   * faster than awaited gets). Absent on backends across a network: their reads are planned
   * and fetched (see ledger-store.ts `read`).
   */
  readonly getSync?: (key: Uint8Array) => Uint8Array | undefined;
  range(range: KeyRange): Promise<Array<[Uint8Array, Uint8Array]>>;
  /** every pair in the range, in key order, `size` at a time (for audit's full scans) */
  chunks(range: KeyRange, size: number): AsyncIterable<Array<[Uint8Array, Uint8Array]>>;
  /** `work`'s reads all see one snapshot of the data (see the guarantees above) */
  consistent<T>(work: (reads: KeyReads) => Promise<T>): Promise<T>;
  /**
   * rejects with 'corrupt', writing nothing, when the guard does not hold. `ops` is read
   * once: a store may make them as they are read (ledger-store.ts `append`)
   */
  write(ops: Iterable<BatchOp>, guard?: WriteGuard): Promise<void>;
  close(): Promise<void>;
}

/** Rejects with 'corrupt' unless the guard's range ends at its key (kv.ts `WriteGuard`). */
export async function checkGuard(kv: Pick<OrderedKV, 'range' | 'description'>, guard: WriteGuard): Promise<void> {
  const [last] = await kv.range({ ...guard.range, reverse: true, limit: 1 });
  const found = last?.[0] ?? null;
  if (found === null || guard.is === null ? found !== guard.is : !equalBytes(found, guard.is)) {
    throw new CartularyError('corrupt', `${kv.description} changed behind the writer: its latest checkpoint is not the one this batch extends (restored from a backup, or written by another process). Refusing to write; restart the writer`);
  }
}
