/**
 * The LevelDB backend (classic-level): the embedded default. Guarantees as kv.ts states:
 * - `write(ops)` is one atomic LevelDB batch with `sync: true`: LevelDB's log either holds
 *   the whole batch record or discards it on recovery. (A scratch store, which no one
 *   reopens after a crash, writes without the sync: see `open`.)
 * - One process at a time: LevelDB's LOCK file refuses a second opener, writer or reader.
 * - Point reads are synchronous (`getSync`), each of the latest state. A batch lands on
 *   libuv's pool while the event loop runs, so the reads of one synchronous run may straddle
 *   it (measured: ~2 in 10,000 pairs of reads under steady writes). The sequencer reads only
 *   between its own writes; evidence, which must rest on one state, reads its records again
 *   and compares (evidence.ts `consistently`); views may show a moment's mix, never a torn
 *   record.
 */
import { ClassicLevel } from 'classic-level';
import { CartularyError } from '../core/errors.js';
import { checkGuard, type BatchOp, type KeyRange, type KeyReads, type OrderedKV, type WriteGuard } from './kv.js';

// Each step of a range read is a trip through libuv's pool and back through the event
// loop's queue, which under load waits behind every request already queued: classic-level's
// own steps (`all()`: 1,000 entries, at most 16 KB) made the node cache's fill of 100 k
// entries' tree take 10 s under a proof load instead of 0.6 s (a fill chunk of 4,096 nodes
// was 11 steps; now one, `chunks` of the chunk's size).
//
// But a page of an index asked for with a large limit starts with a small step: classic-level
// reserves room for a step's entries (64 bytes each) in the native iterator and frees it
// only when the collector finalizes the closed iterator, which V8, unaware of that memory,
// puts off. Checks, each a few range reads of a page of 1,000 that find 0–3, held 250 MB of
// such room after 30 s under load (jemalloc's profile: `std::vector<Entry>::reserve` in
// `NextWorker`), and it was still growing; with a first step of 64 the server's memory stays
// flat. Most pages end within their first step.
const FIRST_STEP = 64;
const RANGE_STEP = 1024;
const STEP_BYTES = 1 << 20;

export class LevelKV implements OrderedKV {
  readonly readOnly = false;
  private constructor(
    readonly db: ClassicLevel<Uint8Array, Uint8Array>,
    readonly description: string,
    private readonly sync: boolean,
  ) {}

  /**
   * Opens the database in `dir`. Only with `create` may a missing database be created: a
   * folder that lost its database must never reopen as a new, empty ledger. `scratch`: a
   * store thrown away after use (audit's replay), whose writes need not survive a crash, so
   * are not synced: a replay of a ledger written in small batches paid an fsync for each.
   */
  static async open(dir: string, { create = false, scratch = false } = {}): Promise<LevelKV> {
    // LevelDB's default 8 MiB block cache (32 before the node cache held the tree's upper
    // levels) and at most 512 open tables (1,000 by default; each keeps its index and filter
    // blocks in memory): at 10 M entries (7,500 tables) the server's own memory 337–341 →
    // 281–306 MB, proofs 0.62 → 0.58–0.61 of the read floor, alternated (README, Performance).
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      cacheSize: 8 * 1024 * 1024,
      maxOpenFiles: 512,
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
    return new LevelKV(db, `LevelDB in ${dir}`, !scratch);
  }

  readonly getSync = (key: Uint8Array): Uint8Array | undefined => {
    try {
      return this.db.getSync(key) ?? undefined;
    } catch (e) {
      throw levelError(e);
    }
  };

  async getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    return keys.map(this.getSync);
  }

  async range(range: KeyRange): Promise<Array<[Uint8Array, Uint8Array]>> {
    const found: Array<[Uint8Array, Uint8Array]> = [];
    for await (const chunk of this.steps(range, FIRST_STEP, RANGE_STEP)) found.push(...chunk);
    return found;
  }

  chunks(range: KeyRange, size: number): AsyncIterable<Array<[Uint8Array, Uint8Array]>> {
    return this.steps(range, size, size);
  }

  private async *steps(range: KeyRange, first: number, then: number): AsyncIterable<Array<[Uint8Array, Uint8Array]>> {
    const it = this.db.iterator({ ...range, highWaterMarkBytes: STEP_BYTES });
    try {
      for (let step = first, found; (found = await it.nextv(step)).length > 0; step = then) yield found;
    } catch (e) {
      throw levelError(e);
    } finally {
      await it.close();
    }
  }

  consistent<T>(work: (reads: KeyReads) => Promise<T>): Promise<T> {
    return work(this);
  }

  /**
   * One atomic, synced batch, after its guard is checked: LevelDB's lock keeps every other
   * process out, and the one writer in this process awaits each write before the next, so
   * nothing can change between the check and the write. A chained batch fills LevelDB's native WriteBatch op by op:
   * measured 6x faster here than the array form, which copies and re-checks every op in
   * JavaScript first.
   */
  async write(ops: Iterable<BatchOp>, guard?: WriteGuard): Promise<void> {
    if (guard) await checkGuard(this, guard);
    const batch = this.db.batch();
    for (const op of ops) {
      if (op.type === 'put') batch.put(op.key, op.value);
      else batch.del(op.key);
    }
    return batch.write({ sync: this.sync });
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/**
 * A damaged table file surfaces on the first read that touches it, sync or async: as a
 * 'corrupt' CartularyError that says what to do, never as LevelDB's own error and stack.
 * LevelDB calls most damage a corruption, but a damaged block handle that points beyond
 * what a file offset can be makes the read itself fail (EINVAL), which it reports as an IO
 * error; that is damage too. Other IO errors (a failing disk) say the folder cannot be read.
 * A synchronous read's error carries no code for an IO error, only its message.
 */
function levelError(e: unknown): unknown {
  const code = (e as { code?: string }).code;
  const message = e instanceof Error ? e.message : String(e);
  if (code === 'LEVEL_CORRUPTION' || /^IO error: .*\.(ldb|sst): Invalid argument/.test(message)) {
    return new CartularyError('corrupt', `the ledger database is damaged: ${message}. Restore the data folder from a backup`, { cause: e });
  }
  if (code === 'LEVEL_IO_ERROR' || message.startsWith('IO error: ')) return new CartularyError('unavailable', `cannot read the ledger database: ${message}`, { cause: e });
  return e;
}
