import { fromHex } from '../core/bytes.js';
import { signStatement } from '../core/cose.js';
import { client, dateArg, partyArg, printReceipt, signingKey, signingOptions } from './client.js';
import { str, type Command } from './command.js';

export const accredit: Command = {
  name: 'accredit',
  summary: "accredit a mediator, optionally until a date (signed by the ledger's registrar: keys/registrar.key by default)",
  usage: 'cartulary accredit PARTY [--until DATE] [--key registrar] [--json] [--server URL]',
  example: 'cartulary accredit carol --until 2027-12-31 --key registrar',
  options: { ...signingOptions, key: { type: 'string', default: 'registrar' }, until: { type: 'string' }, json: { type: 'boolean' } },
  async run(v, [mediator], io) {
    const until = dateArg(str(v.until), '--until', 'end');
    const party = await partyArg(mediator, v, 'PARTY');
    const statement = signStatement(
      { type: 'accredit', issuedAt: Date.now(), mediator: fromHex(party, 'mediator', 32), ...(until !== undefined ? { until } : {}) },
      await signingKey(v),
    );
    printReceipt(io, v, `accredited mediator ${party}${until !== undefined ? ` until ${new Date(until).toISOString()}` : ''}; entry`, await client(v).submit(statement), { mediator: party, until: until ?? null });
    return 0;
  },
};
