import { join } from 'node:path';
import { formatVerifierKey, parseVerifierKey } from '../core/checkpoint.js';
import { CartularyError } from '../core/errors.js';
import { auditLedger } from '../store/audit.js';
import { loadPublicKey } from '../store/key-files.js';
import { LedgerStore } from '../store/ledger-store.js';
import { dataFolderState } from '../store/ledger.js';
import { EXIT, progressLine, str, type Command } from './command.js';

export const audit: Command = {
  name: 'audit',
  summary: 're-verify the whole ledger on disk: chain, signatures, tree, checkpoints, rules and state',
  usage: 'cartulary audit [--data DIR] [--keys DIR]',
  example: 'cartulary audit --data data --keys keys',
  options: { data: { type: 'string', default: 'data' }, keys: { type: 'string', default: 'keys' } },
  async run(v, _p, io) {
    const dataDir = str(v.data) as string;
    // Only the public key is needed: an auditor need not hold the ledger's secret.
    const publicKey = await loadPublicKey(join(str(v.keys) as string, 'ledger.pub'));
    if ((await dataFolderState(dataDir)) === 'new') throw new CartularyError('not-found', `${dataDir} holds no ledger`);
    const store = await LedgerStore.open(dataDir);
    try {
      const origin = store.meta('origin');
      if (!origin) throw new CartularyError('not-found', `${dataDir} holds no ledger (no origin recorded)`);
      const result = await auditLedger(store, parseVerifierKey(formatVerifierKey(origin, publicKey)), progressLine(io, 'audit'));
      if (!result.ok) {
        io.err(`audit FAILED at ${result.fault?.where}: ${result.fault?.detail}`);
        return EXIT.failed;
      }
      io.out(`audit ok: ${result.size} entries, ${result.checkpoints} checkpoints verified`);
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};
