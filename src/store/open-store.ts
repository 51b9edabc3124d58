/**
 * Which store a location names: a PostgreSQL URL (`postgres://…`), or a LevelDB data folder.
 * The fingerprint indexes' pages go in a file mapped from the data folder, kept there for the
 * next start (saved-indexes.ts), or in a scratch file in the system's temporary folder for
 * PostgreSQL, whose followers and writer each build their own (mapped-pages.ts).
 */
import { tmpdir } from 'node:os';
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
   * save a LevelDB store's fingerprint indexes in its folder at close, for the next start
   * (saved-indexes.ts; default true). A scratch store that no one reopens says false.
   */
  keepIndexes?: boolean;
}

export async function openStore(where: string, opts: OpenOptions = {}): Promise<LedgerStore> {
  const kv = isPostgresUrl(where)
    ? await PostgresKV.open(where, { create: opts.create ?? false, readOnly: opts.readOnly ?? false })
    : await LevelKV.open(where, { create: opts.create ?? false });
  const postgres = isPostgresUrl(where);
  return LedgerStore.open(kv, { titleCapacity: opts.titleCapacity, indexDir: postgres ? tmpdir() : where, keepIndexes: !postgres && (opts.keepIndexes ?? true) });
}
