import { formatVerifierKey } from '../core/checkpoint.js';
import { toHex } from '../core/bytes.js';
import { openLedger } from '../store/ledger.js';
import { partyArg } from './client.js';
import { ledgerFolders, str, type Command } from './command.js';

export const init: Command = {
  name: 'init',
  summary: 'create the ledger key (keys/ledger.key, 0600), the registrar (keys/registrar.key unless --registrar names one) and data folder',
  usage: 'cartulary init [--data DIR] [--keys DIR] [--origin NAME] [--registrar PARTY]',
  example: 'cartulary init --origin registry.example.org/ledger',
  options: ledgerFolders,
  async run(v, _p, io) {
    const registrar = str(v.registrar) === undefined ? undefined : await partyArg(str(v.registrar), v, '--registrar');
    const ledger = await openLedger({ dataDir: str(v.data) as string, keysDir: str(v.keys) as string, origin: str(v.origin), ...(registrar ? { registrar } : {}) });
    try {
      io.out(`${ledger.createdKey ? 'created' : 'found'} ledger key ${str(v.keys)}/ledger.key`);
      io.out(`origin:       ${ledger.origin}`);
      io.out(`ledger party: ${toHex(ledger.signer.publicKey)}`);
      io.out(`registrar:    ${ledger.registrar}`);
      io.out(`verifier key: ${formatVerifierKey(ledger.origin, ledger.signer.publicKey)}`);
      io.out(`entries:      ${ledger.sequencer.size}`);
    } finally {
      await ledger.close();
    }
    return 0;
  },
};
