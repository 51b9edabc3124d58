/**
 * The PostgreSQL backend: the ledger's keys and values in one table, shared by one writer
 * and any number of read-only followers (`serve --read-only`). What it relies on, so that
 * wire-compatible engines stay a path (README, "PostgreSQL"): a table with a `bytea` primary
 * key compared as unsigned bytes, range scans on it, `INSERT … ON CONFLICT DO UPDATE`,
 * `unnest` of arrays, transactions at REPEATABLE READ, and session advisory locks.
 *
 * Guarantees (kv.ts):
 * - `write(ops)` is one transaction, committed with `synchronous_commit` on (the server's
 *   default, checked at open): when it resolves, the WAL holding it is flushed to disk.
 * - One writer: the writer takes a session advisory lock on a connection of its own and
 *   writes only through that connection, so a writer that lost its session (and with it the
 *   lock) cannot write, even before it notices; a second writer is refused at open.
 * - `consistent` reads inside one REPEATABLE READ, READ ONLY transaction: a follower's reads
 *   never mix two of the writer's commits.
 * - Damage is named: PostgreSQL's data-corruption errors (SQLSTATE class XX) and a missing
 *   table in a ledger that should have one answer 'corrupt'.
 */
import pg from 'pg';
import { CartularyError } from '../core/errors.js';
import { checkGuard, type BatchOp, type KeyRange, type KeyReads, type OrderedKV, type WriteGuard } from './kv.js';

const TABLE = 'cartulary_kv';
/** the advisory lock of a ledger's writer: two 32-bit keys, 'cart' and 1 */
const LOCK = [0x63617274, 1] as const;

export const isPostgresUrl = (where: string) => /^postgres(ql)?:\/\//.test(where);

/** A URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

export interface PostgresOpenOptions {
  /** create the table when the database has none (a new ledger) */
  create?: boolean;
  /** a follower: no lock, no writes */
  readOnly?: boolean;
}

type Queryable = pg.Pool | pg.PoolClient | pg.Client;

export class PostgresKV implements OrderedKV {
  private lockLost: Error | null = null;

  private constructor(
    private readonly pool: pg.Pool,
    /** the writer's own session: holds the lock, carries every write */
    private readonly writer: pg.Client | null,
    readonly description: string,
  ) {
    writer?.on('error', (e) => {
      this.lockLost = e;
    });
    writer?.on('end', () => {
      this.lockLost ??= new Error('the connection holding the writer lock ended');
    });
  }

  get readOnly(): boolean {
    return this.writer === null;
  }

  static async open(url: string, { create = false, readOnly = false }: PostgresOpenOptions = {}): Promise<PostgresKV> {
    const description = `PostgreSQL at ${redactUrl(url)}`;
    // A read that waits past READ_TIMEOUT_MS (a table locked by hand, a stuck server) is
    // cancelled by the server and answered 503: sixteen such reads held every connection,
    // and every read route hung, while /healthz said all was well.
    const pool = new pg.Pool({ connectionString: url, max: 16, connectionTimeoutMillis: 10_000, statement_timeout: READ_TIMEOUT_MS });
    // An idle client's error (the server restarted) must not crash the process: the next query reports it.
    pool.on('error', () => undefined);
    let writer: pg.Client | null = null;
    try {
      const exists = (await pool.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [TABLE])).rows[0].present as boolean;
      if (!exists && !create) throw new CartularyError('not-found', `${description} holds no ledger (no table ${TABLE})`);
      const commit = (await pool.query(`SHOW synchronous_commit`)).rows[0].synchronous_commit as string;
      if (!readOnly && commit === 'off') {
        throw new CartularyError('unavailable', `${description} has synchronous_commit = off: an acknowledged entry could be lost in a crash. Set it on`);
      }
      if (!readOnly) {
        writer = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
        writer.on('error', () => undefined);
        await writer.connect();
        const locked = (await writer.query(`SELECT pg_try_advisory_lock($1, $2) AS locked`, [...LOCK])).rows[0].locked as boolean;
        if (!locked) throw new CartularyError('unavailable', `${description} is in use by another process (a writer holds the ledger's lock); start this one with --read-only, or stop the other`);
        if (!exists) await writer.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (k bytea PRIMARY KEY, v bytea NOT NULL)`);
      }
    } catch (e) {
      await writer?.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
      throw postgresError(e, description);
    }
    return new PostgresKV(pool, writer, description);
  }

  /** Whether a PostgreSQL database holds a ledger already (its table exists). */
  static async holdsLedger(url: string): Promise<boolean> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [TABLE])).rows[0].present as boolean;
    } catch (e) {
      throw postgresError(e, `PostgreSQL at ${redactUrl(url)}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    return getMany(this.pool, keys, this.description);
  }

  range(range: KeyRange): Promise<Array<[Uint8Array, Uint8Array]>> {
    return rangeOn(this.pool, range, this.description);
  }

  async *chunks(range: KeyRange, size: number): AsyncIterable<Array<[Uint8Array, Uint8Array]>> {
    // Keyset pages: each starts after the last key of the one before, in one snapshot-free scan
    // (audit reads a stopped or append-only store: appends only add keys beyond the range read).
    let from: KeyRange = { ...range, limit: size };
    for (;;) {
      const page = await this.range(from);
      if (page.length > 0) yield page;
      if (page.length < size) return;
      const last = (page.at(-1) as [Uint8Array, Uint8Array])[0];
      from = range.reverse ? { ...range, lt: last, lte: undefined, limit: size } : { ...range, gt: last, gte: undefined, limit: size };
    }
  }

  async consistent<T>(work: (reads: KeyReads) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw postgresError(e, this.description);
    }
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await work({ getMany: (keys) => getMany(client, keys, this.description) });
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw postgresError(e, this.description);
    } finally {
      client.release();
    }
  }

  async write(ops: Iterable<BatchOp>, guard?: WriteGuard): Promise<void> {
    if (!this.writer) throw new CartularyError('unavailable', `${this.description} is open read-only: this node takes no writes`);
    if (this.lockLost) throw new CartularyError('unavailable', `${this.description}: the writer's session was lost (${this.lockLost.message}); restart to take the lock again`);
    // The last op on a key wins, as in a LevelDB batch; one statement may not touch a row twice.
    const last = new Map<string, BatchOp>();
    for (const op of ops) last.set(Buffer.from(op.key.buffer, op.key.byteOffset, op.key.byteLength).toString('latin1'), op);
    const putKeys: Buffer[] = [];
    const putValues: Buffer[] = [];
    const delKeys: Buffer[] = [];
    for (const op of last.values()) {
      const k = Buffer.from(op.key.buffer, op.key.byteOffset, op.key.byteLength);
      if (op.type === 'put') {
        putKeys.push(k);
        putValues.push(Buffer.from(op.value.buffer, op.value.byteOffset, op.value.byteLength));
      } else delKeys.push(k);
    }
    const w = this.writer;
    try {
      await w.query('BEGIN');
      // Inside the transaction, on the lock's own session: nothing commits in between.
      if (guard) await checkGuard({ description: this.description, range: (r) => rangeOn(w, r, this.description) }, guard);
      if (putKeys.length > 0) {
        await w.query(`INSERT INTO ${TABLE} (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v`, [putKeys, putValues]);
      }
      if (delKeys.length > 0) await w.query(`DELETE FROM ${TABLE} WHERE k = ANY($1::bytea[])`, [delKeys]);
      await w.query('COMMIT');
    } catch (e) {
      await w.query('ROLLBACK').catch(() => undefined);
      throw postgresError(e, this.description);
    }
  }

  async close(): Promise<void> {
    // Ending the writer's session releases its advisory lock.
    await this.writer?.end().catch(() => undefined);
    await this.pool.end();
  }
}

async function rangeOn(db: Queryable, range: KeyRange, description: string): Promise<Array<[Uint8Array, Uint8Array]>> {
  const where: string[] = [];
  const params: unknown[] = [];
  const bound = (op: string, k: Uint8Array | undefined) => {
    if (k === undefined) return;
    params.push(Buffer.from(k.buffer, k.byteOffset, k.byteLength));
    where.push(`k ${op} $${params.length}`);
  };
  bound('>', range.gt);
  bound('>=', range.gte);
  bound('<', range.lt);
  bound('<=', range.lte);
  let sql = `SELECT k, v FROM ${TABLE}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY k${range.reverse ? ' DESC' : ''}`;
  if (range.limit !== undefined && Number.isFinite(range.limit) && range.limit >= 0) {
    params.push(range.limit);
    sql += ` LIMIT $${params.length}`;
  }
  const rows = await query<{ k: Buffer; v: Buffer }>(db, sql, params, description);
  return rows.map((r) => [r.k, r.v]);
}

async function getMany(db: Queryable, keys: readonly Uint8Array[], description: string): Promise<Array<Uint8Array | undefined>> {
  if (keys.length === 0) return [];
  const asBuffers = keys.map((k) => Buffer.from(k.buffer, k.byteOffset, k.byteLength));
  const rows = await query<{ k: Buffer; v: Buffer }>(db, `SELECT k, v FROM ${TABLE} WHERE k = ANY($1::bytea[])`, [asBuffers], description);
  const found = new Map(rows.map((r) => [r.k.toString('latin1'), r.v]));
  return asBuffers.map((k) => found.get(k.toString('latin1')));
}

async function query<R extends pg.QueryResultRow>(db: Queryable, sql: string, params: unknown[], description: string): Promise<R[]> {
  try {
    return (await db.query<R>(sql, params)).rows;
  } catch (e) {
    throw postgresError(e, description);
  }
}

/** The longest one statement of the read pool may take, ms (the writer's own session has none: a write cut short would stop the ledger). */
export const READ_TIMEOUT_MS = 5_000;

/** PostgreSQL's errors as the ledger's: damage is 'corrupt', anything else 'unavailable', each saying where. */
function postgresError(e: unknown, description: string): unknown {
  if (e instanceof CartularyError) return e;
  const code = (e as { code?: string }).code ?? '';
  const message = (e as Error).message;
  if (code.startsWith('XX')) return new CartularyError('corrupt', `${description} reports damaged data (${code}): ${message}. Restore the database from a backup`, { cause: e });
  if (code === '42P01') return new CartularyError('corrupt', `${description} has lost the ledger's table: ${message}`, { cause: e });
  return new CartularyError('unavailable', `${description}: ${message}`, { cause: e });
}
