/**
 * Which store a location names: a PostgreSQL URL (`postgres://…`), or a LevelDB data folder.
 * The fingerprint indexes' pages go in a file mapped from the data folder, kept there for the
 * next start (saved-indexes.ts). A node on PostgreSQL, writer or read-only, keeps them likewise
 * in the folder named by `indexDir`, locked while it runs (one node a folder); without one they
 * go in a scratch file in the system's temporary folder and are built at every start
 * (mapped-pages.ts).
 */
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { CartularyError } from '../core/errors.js';
import { lockFolder } from './folder-lock.js';
import { LedgerStore } from './ledger-store.js';
import { LevelKV } from './level-kv.js';
import { isPostgresUrl, PostgresKV } from './postgres-kv.js';

export interface OpenOptions {
  /** create the database if it is missing (a new ledger) */
  create?: boolean;
  /** follow another process's writes, take no lock, write nothing (PostgreSQL only) */
  readOnly?: boolean;
  /** titles the in-memory title filter is first sized for (ledger-store.ts); it grows past them */
  titleCapacity?: number;
  /**
   * a LevelDB store thrown away after use (audit's replay): its writes are not synced, and
   * its fingerprint indexes are not saved at close for a next start (saved-indexes.ts)
   */
  scratch?: boolean;
  /**
   * a local folder where a node on PostgreSQL (the writer or a read-only one) keeps its
   * fingerprint indexes between starts, as a LevelDB store does in its data folder; locked
   * while the store is open
   */
  indexDir?: string;
}

/** Refuses an index folder where it has no place: on a LevelDB store, which keeps them in its data folder. */
export function checkIndexDir(where: string, opts: Pick<OpenOptions, 'indexDir'>): void {
  if (opts.indexDir !== undefined && !isPostgresUrl(where)) throw new CartularyError('invalid', 'a LevelDB store keeps its indexes in its data folder: an index folder is for a node on PostgreSQL');
}

export async function openStore(where: string, opts: OpenOptions = {}): Promise<LedgerStore> {
  checkIndexDir(where, opts);
  const postgres = isPostgresUrl(where);
  const { indexDir } = opts;
  // Locked before the database is opened: a refusal leaves nothing open.
  if (indexDir !== undefined) await mkdir(indexDir, { recursive: true });
  const lock = indexDir === undefined ? undefined : await lockFolder(indexDir, 'the index folder');
  try {
    const kv = postgres
      ? await PostgresKV.open(where, { create: opts.create ?? false, readOnly: opts.readOnly ?? false })
      : await LevelKV.open(where, { create: opts.create ?? false, scratch: opts.scratch ?? false });
    return await LedgerStore.open(kv, {
      titleCapacity: opts.titleCapacity,
      indexDir: indexDir ?? (postgres ? tmpdir() : where),
      keepIndexes: indexDir !== undefined || (!postgres && !opts.scratch),
      ...(lock ? { lock } : {}),
    });
  } catch (e) {
    await lock?.release();
    throw e;
  }
}
