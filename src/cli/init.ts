import { formatVerifierKey } from '../core/checkpoint.js';
import { toHex } from '../core/bytes.js';
import { openLedger } from '../store/ledger.js';
import { partyArg } from './client.js';
import { dataDir, keysDir, ledgerFolders, storeUrl, str, type Command } from './command.js';

export const init: Command = {
  name: 'init',
  summary: 'create the ledger key (keys/ledger.key, 0600), the registrar (keys/registrar.key unless --registrar names one) and data folder, if they do not exist',
  usage: 'cartulary init [--data DIR | --store postgres://…] [--keys DIR] [--origin NAME] [--registrar PARTY] [--json]',
  example: 'cartulary init --origin registry.example.org/ledger',
  options: ledgerFolders,
  async run(v, _p, io) {
    const registrar = str(v.registrar) === undefined ? undefined : await partyArg(str(v.registrar), v, '--registrar');
    const store = storeUrl(v);
    const ledger = await openLedger({ dataDir: dataDir(v), keysDir: keysDir(v), ...(store ? { store } : {}), origin: str(v.origin), ...(registrar ? { registrar } : {}) });
    try {
      const facts = {
        created: ledger.createdKey,
        ledgerKey: `${keysDir(v)}/ledger.key`,
        origin: ledger.origin,
        ledgerParty: toHex(ledger.signer.publicKey),
        registrar: ledger.registrar,
        verifierKey: formatVerifierKey(ledger.origin, ledger.signer.publicKey),
        entries: ledger.sequencer.size,
      };
      if (v.json) io.out(JSON.stringify(facts, null, 2));
      else {
        io.out(`${facts.created ? 'created' : 'found'} ledger key ${facts.ledgerKey}`);
        io.out(`origin:       ${facts.origin}`);
        io.out(`ledger party: ${facts.ledgerParty}`);
        io.out(`registrar:    ${facts.registrar}`);
        io.out(`verifier key: ${facts.verifierKey}`);
        io.out(`entries:      ${facts.entries}`);
      }
    } finally {
      await ledger.close();
    }
    return 0;
  },
};
