/**
 * Opening a ledger: its key folder and data folder, created on first use.
 */
import '../core/crypto-node.js'; // a ledger runs in Node: sign and verify with node:crypto
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkOrigin, formatVerifierKey } from '../core/checkpoint.js';
import type { Signer } from '../core/crypto.js';
import { CartularyError } from '../core/errors.js';
import { toHex } from '../core/bytes.js';
import { loadOrCreateKey } from './key-files.js';
import type { LedgerStore } from './ledger-store.js';
import { Follower, type FollowerOptions } from './follower.js';
import type { LogHead } from './log-head.js';
import { checkIndexDir, openStore } from './open-store.js';
import { isPostgresUrl, PostgresKV, redactUrl } from './postgres-kv.js';
import { Sequencer, type SequencerOptions } from './sequencer.js';
import { Watermark } from './watermark.js';

const exists = (path: string) => stat(path).then(() => true, () => false);

export const DEFAULT_ORIGIN = 'cartulary.local/ledger';
export const LEDGER_KEY_NAME = 'ledger';
/** The registrar's default key, made at init beside the ledger's when no `registrar` is named. */
export const REGISTRAR_KEY_NAME = 'registrar';

export interface LedgerPaths {
  dataDir: string;
  keysDir: string;
  /** a PostgreSQL URL (`postgres://…`) to keep the ledger in, instead of LevelDB in `dataDir` */
  store?: string;
  /** where a PostgreSQL writer keeps its fingerprint indexes between starts (open-store.ts) */
  indexDir?: string;
  /** the log's origin; fixed by the first start and checked on every later one */
  origin?: string;
  /** the registrar party (hex), who accredits mediators; fixed by the first start (default: a new key, keys/registrar.key) */
  registrar?: string;
}

/** A ledger as it is served: by its writer, or by a read-only node following a shared store. */
export interface ServedLedger {
  /** over LevelDB, embedded, or PostgreSQL (storage.ts states what every store guarantees) */
  store: LedgerStore;
  /** the sequencer on the writer, a Follower on a read-only node */
  sequencer: LogHead;
  /** the ledger key: signs checkpoints on the writer; on either, attests evidence bundles and COSE receipts */
  signer: Signer;
  origin: string;
  registrar: string;
  createdKey: boolean;
  close(): Promise<void>;
}

export interface Ledger extends ServedLedger {
  sequencer: Sequencer;
  signer: Signer;
  origin: string;
  /** the registrar party (hex), published in GET /v1/log */
  registrar: string;
  /** true when this call created the key */
  createdKey: boolean;
  close(): Promise<void>;
}


/**
 * What a data folder holds: nothing yet (a new ledger may start there), or a LevelDB
 * database. Anything else — files without LevelDB's CURRENT — is a damaged or foreign
 * folder, and starting a new ledger over it would sign a fork: refused.
 */
export async function dataFolderState(dir: string): Promise<'new' | 'database'> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'new';
    throw new CartularyError('unavailable', `cannot read the data folder ${dir}: ${(e as Error).message}`, { cause: e });
  }
  if (names.includes('CURRENT')) return 'database';
  // Hidden files are never LevelDB's: a clone's data/.gitkeep (or a desktop's .DS_Store) is an empty folder.
  if (names.every((name) => name.startsWith('.'))) return 'new';
  throw new CartularyError(
    'corrupt',
    `the data folder ${dir} is not empty but holds no ledger database (LevelDB's CURRENT file is missing); refusing to start a new ledger over it. Restore it from a backup, or give an empty folder for a new ledger`,
  );
}

/** Ledger keys beside the secret key: the watermark of the largest tree it ever signed. */
export const watermarkPath = (keysDir: string) => join(keysDir, `${LEDGER_KEY_NAME}.watermark`);

/** A read-only node's index folder: the watermark of the largest tree it ever served. */
export const servedWatermarkPath = (indexDir: string) => join(indexDir, 'served.watermark');

export async function openLedger(paths: LedgerPaths, tuning: Partial<SequencerOptions> = {}): Promise<Ledger> {
  // Every refusal that needs no key comes before one could be created.
  checkIndexDir(paths.store ?? paths.dataDir, paths);
  if (paths.registrar !== undefined && !/^[0-9a-f]{64}$/.test(paths.registrar)) {
    throw new CartularyError('invalid', `the registrar must be a party: 64 lowercase hex characters, not "${paths.registrar}"`, { field: 'registrar' });
  }
  const folder = paths.store && isPostgresUrl(paths.store) ? ((await PostgresKV.holdsLedger(paths.store)) ? 'database' : 'new') : await dataFolderState(paths.dataDir);
  const where = paths.store ? redactUrl(paths.store) : paths.dataDir;
  if (folder === 'database' && !(await exists(join(paths.keysDir, `${LEDGER_KEY_NAME}.key`)))) {
    throw new CartularyError(
      'not-found',
      `${where} holds a ledger, but its key ${join(paths.keysDir, `${LEDGER_KEY_NAME}.key`)} is missing; restore the key (a new one could not continue this log)`,
    );
  }
  const { signer, created } = await loadOrCreateKey(paths.keysDir, LEDGER_KEY_NAME);
  const watermark = await Watermark.open(watermarkPath(paths.keysDir));
  let store: LedgerStore;
  try {
    if (folder === 'new' && (watermark.mark?.size ?? 0) > 0) {
      throw new CartularyError(
        'corrupt',
        `${where} is empty, but this ledger's key has signed a tree of size ${watermark.mark?.size} (${watermark.path}); refusing to start a new log under the same key. Restore the ${paths.store ? 'database' : 'data folder'} from a backup`,
      );
    }
    if (!paths.store) await mkdir(paths.dataDir, { recursive: true });
    store = await openStore(paths.store ?? paths.dataDir, { create: folder === 'new', ...(paths.indexDir === undefined ? {} : { indexDir: paths.indexDir }) });
  } catch (e) {
    await watermark.close();
    throw e;
  }
  try {
    let origin = await store.meta('origin');
    if (origin === undefined) {
      origin = paths.origin ?? DEFAULT_ORIGIN;
      checkOrigin(origin);
      await store.setMeta('origin', origin);
    } else sameOrigin(store, origin, paths.origin);
    let registrar = await store.meta('registrar');
    if (registrar === undefined) {
      // Fixed once, like the origin: the registrar's accreditations are replayed under it forever.
      registrar = paths.registrar ?? toHex((await loadOrCreateKey(paths.keysDir, REGISTRAR_KEY_NAME)).signer.publicKey);
      await store.setMeta('registrar', registrar);
    } else if (paths.registrar !== undefined && paths.registrar !== registrar) {
      throw new CartularyError('conflict', `this ledger's registrar is ${registrar}, not ${paths.registrar}; it is fixed when the ledger is created`);
    }
    const sequencer = await Sequencer.open(store, { ...tuning, origin, signer, watermark });
    return {
      store,
      sequencer,
      signer,
      origin,
      registrar,
      createdKey: created,
      async close() {
        await sequencer.close();
        await store.close();
        await watermark.close();
      },
    };
  } catch (e) {
    await store.close();
    await watermark.close();
    throw e;
  }
}

/** The origin is fixed by the first start: a later one that names another is refused. */
function sameOrigin(store: LedgerStore, stored: string, asked: string | undefined): void {
  if (asked !== undefined && asked !== stored) throw new CartularyError('conflict', `${store.description} belongs to origin "${stored}", not "${asked}"`);
}

/**
 * A read-only node of a ledger kept in PostgreSQL (`serve --read-only`): it follows the
 * writer's checkpoints in the shared store (follower.ts), takes no lock on it and writes
 * nothing to it (its indexes, with `indexDir`, go in that local folder, locked).
 */
export async function openFollowerLedger(paths: LedgerPaths & { store: string }, opts: FollowerOptions = {}): Promise<ServedLedger> {
  if (!isPostgresUrl(paths.store)) throw new CartularyError('invalid', 'a read-only node follows a ledger kept in PostgreSQL: give --store postgres://…');
  checkIndexDir(paths.store, paths);
  const keyFile = join(paths.keysDir, `${LEDGER_KEY_NAME}.key`);
  if (!(await exists(keyFile))) throw new CartularyError('not-found', `a read-only node attests evidence with the ledger key, and ${keyFile} is missing`);
  const { signer } = await loadOrCreateKey(paths.keysDir, LEDGER_KEY_NAME);
  const store = await openStore(paths.store, { readOnly: true, ...(paths.indexDir === undefined ? {} : { indexDir: paths.indexDir }) });
  let watermark: Watermark | undefined;
  try {
    const origin = await store.meta('origin');
    const registrar = await store.meta('registrar');
    if (origin === undefined || registrar === undefined) throw new CartularyError('not-found', `${store.description} holds no ledger yet: start its writer first`);
    sameOrigin(store, origin, paths.origin);
    // In the folder the store has locked: one node's, kept across its restarts and crashes.
    if (paths.indexDir !== undefined) watermark = await Watermark.open(servedWatermarkPath(paths.indexDir), "restore it from a backup, or remove this node's index folder to start over from the store as it is");
    const follower = await Follower.open(store, formatVerifierKey(origin, signer.publicKey), { ...opts, ...(watermark ? { watermark } : {}) });
    return {
      store,
      sequencer: follower,
      signer,
      origin,
      registrar,
      createdKey: false,
      async close() {
        await follower.close();
        await watermark?.close();
        await store.close();
      },
    };
  } catch (e) {
    await watermark?.close();
    await store.close();
    throw e;
  }
}
