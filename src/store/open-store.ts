/**
 * Which store a location names: a PostgreSQL URL (`postgres://…`), or a LevelDB data folder.
 */
import { LedgerStore } from './ledger-store.js';
import { LevelKV } from './level-kv.js';

export interface OpenOptions {
  /** create the database if it is missing (a new ledger) */
  create?: boolean;
}

export async function openStore(where: string, opts: OpenOptions = {}): Promise<LedgerStore> {
  return LedgerStore.open(await LevelKV.open(where, { create: opts.create ?? false }));
}
