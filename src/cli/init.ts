import { formatVerifierKey } from '../core/checkpoint.js';
import { toHex } from '../core/bytes.js';
import { openLedger } from '../store/ledger.js';
import { dataDir, keysDir, ledgerFolders, str, type Command } from './command.js';

export const init: Command = {
  name: 'init',
  summary: 'create the ledger key (keys/ledger.key, 0600) and data folder, if they do not exist',
  usage: 'cartulary init [--data DIR] [--keys DIR] [--origin NAME] [--json]',
  example: 'cartulary init --origin registry.example.org/ledger',
  options: ledgerFolders,
  async run(v, _p, io) {
    const ledger = await openLedger({ dataDir: dataDir(v), keysDir: keysDir(v), origin: str(v.origin) });
    try {
      const facts = {
        created: ledger.createdKey,
        ledgerKey: `${keysDir(v)}/ledger.key`,
        origin: ledger.origin,
        ledgerParty: toHex(ledger.signer.publicKey),
        verifierKey: formatVerifierKey(ledger.origin, ledger.signer.publicKey),
        entries: ledger.sequencer.size,
      };
      if (v.json) io.out(JSON.stringify(facts, null, 2));
      else {
        io.out(`${facts.created ? 'created' : 'found'} ledger key ${facts.ledgerKey}`);
        io.out(`origin:       ${facts.origin}`);
        io.out(`ledger party: ${facts.ledgerParty}`);
        io.out(`verifier key: ${facts.verifierKey}`);
        io.out(`entries:      ${facts.entries}`);
      }
    } finally {
      await ledger.close();
    }
    return 0;
  },
};
