/**
 * Opening a ledger: its key folder and data folder, created on first use.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { checkOrigin } from '../core/checkpoint.js';
import type { Signer } from '../core/crypto.js';
import { CartularyError } from '../core/errors.js';
import { utf8 } from '../core/bytes.js';
import { createKeyPair, loadSecretKey } from './key-files.js';
import { LedgerStore } from './ledger-store.js';
import { key } from './layout.js';
import { Sequencer, type SequencerOptions } from './sequencer.js';

export const DEFAULT_ORIGIN = 'cartulary.local/ledger';
export const LEDGER_KEY_NAME = 'ledger';

export interface LedgerPaths {
  dataDir: string;
  keysDir: string;
  /** the log's origin; fixed by the first start and checked on every later one */
  origin?: string;
}

export interface Ledger {
  store: LedgerStore;
  sequencer: Sequencer;
  signer: Signer;
  origin: string;
  /** true when this call created the key */
  createdKey: boolean;
  close(): Promise<void>;
}

export async function loadOrCreateLedgerKey(keysDir: string): Promise<{ signer: Signer; created: boolean }> {
  const path = join(keysDir, `${LEDGER_KEY_NAME}.key`);
  try {
    return { signer: await loadSecretKey(path, { strict: true }), created: false };
  } catch (e) {
    if (!(e instanceof CartularyError) || e.code !== 'not-found') throw e;
    return { signer: await createKeyPair(keysDir, LEDGER_KEY_NAME), created: true };
  }
}

export async function openLedger(paths: LedgerPaths, tuning: Partial<SequencerOptions> = {}): Promise<Ledger> {
  const { signer, created } = await loadOrCreateLedgerKey(paths.keysDir);
  await mkdir(paths.dataDir, { recursive: true });
  const store = await LedgerStore.open(paths.dataDir);
  try {
    let origin = store.meta('origin');
    if (origin === undefined) {
      origin = paths.origin ?? DEFAULT_ORIGIN;
      checkOrigin(origin);
      await store.write([{ type: 'put', key: key.meta('origin'), value: utf8(origin) }]);
    } else if (paths.origin !== undefined && paths.origin !== origin) {
      throw new CartularyError('conflict', `this data folder belongs to origin "${origin}", not "${paths.origin}"`);
    }
    const sequencer = await Sequencer.open(store, { ...tuning, origin, signer });
    return {
      store,
      sequencer,
      signer,
      origin,
      createdKey: created,
      async close() {
        await sequencer.close();
        await store.close();
      },
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}
