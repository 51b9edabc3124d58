import { join } from 'node:path';
import { formatVerifierKey, parseVerifierKey } from '../core/checkpoint.js';
import { CartularyError } from '../core/errors.js';
import { auditLedger } from '../store/audit.js';
import { loadPublicKey } from '../store/key-files.js';
import type { LedgerStore } from '../store/ledger-store.js';
import { openStore } from '../store/open-store.js';
import { isPostgresUrl, PostgresKV } from '../store/postgres-kv.js';
import { dataFolderState } from '../store/ledger.js';
import { dataDir, EXIT, keysDir, progressLine, storeUrl, type Command } from './command.js';

/** A running server holds the store's lock (LevelDB's, or PostgreSQL's writer lock): say so, and how to audit anyway. */
async function openForAudit(dir: string): Promise<LedgerStore> {
  try {
    return await openStore(dir);
  } catch (e) {
    if (e instanceof CartularyError && e.code === 'unavailable' && /in use by another process/.test(e.message)) {
      throw new CartularyError(
        'unavailable',
        isPostgresUrl(dir)
          ? `the database is open in a running writer (it holds the ledger's lock). Stop it (SIGTERM drains it) and audit again, or audit a copy (pg_dump, then pg_restore into another database)`
          : `${dir} is open in a running server (it holds the database lock). Stop the server (SIGTERM drains it) and audit again, ` +
            `or audit a copy taken while it is stopped: cp -a ${dir} ${dir}.snapshot && cartulary audit --data ${dir}.snapshot`,
        { cause: e },
      );
    }
    throw e;
  }
}

export const audit: Command = {
  name: 'audit',
  summary: 're-verify the whole ledger on disk: chain, signatures, tree, checkpoints, rules and state (the server must be stopped)',
  usage: 'cartulary audit [--data DIR | --store postgres://…] [--keys DIR] [--scratch DIR] [--json]',
  example: 'cartulary audit --data data --keys keys',
  // The replay is written into a scratch store under --scratch (the system's temporary folder by default), removed after.
  options: { data: { type: 'string' }, store: { type: 'string' }, keys: { type: 'string' }, scratch: { type: 'string' } },
  async run(v, _p, io) {
    const url = storeUrl(v);
    const dir = url ?? dataDir(v);
    // Only the public key is needed: an auditor need not hold the ledger's secret.
    const publicKey = await loadPublicKey(join(keysDir(v), 'ledger.pub'));
    if (url && isPostgresUrl(url) ? !(await PostgresKV.holdsLedger(url)) : (await dataFolderState(dir)) === 'new') throw new CartularyError('not-found', `${url ? 'the database' : dir} holds no ledger`);
    const store = await openForAudit(dir);
    try {
      const origin = await store.meta('origin');
      if (!origin) throw new CartularyError('not-found', `${dir} holds no ledger (no origin recorded)`);
      const result = await auditLedger(store, parseVerifierKey(formatVerifierKey(origin, publicKey)), { onProgress: progressLine(io, 'audit'), ...(typeof v.scratch === 'string' ? { scratchDir: v.scratch } : {}) });
      if (v.json) io.out(JSON.stringify({ ok: result.ok, size: result.size, checkpoints: result.checkpoints, fault: result.fault ?? null }, null, 2));
      if (!result.ok) {
        if (!v.json) io.err(`audit FAILED at ${result.fault?.where}: ${result.fault?.detail}`);
        return EXIT.failed;
      }
      if (!v.json) io.out(`audit ok: ${result.size} entries, ${result.checkpoints} checkpoints verified`);
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};
