import { signStatement } from '../core/cose.js';
import { client, dateArg, idArg, printReceipt, signingKey, signingOptions, territoriesArg } from './client.js';
import { str, UsageError, type Command } from './command.js';

export const protect: Command = {
  name: 'protect',
  summary: "put a work you own under protection until a date (the early-warning list): weak evidence of it then blocks anyone who holds no licence",
  usage: 'cartulary protect WORK --until DATE [--territory T]… --key K [--json] [--server URL]',
  example: 'cartulary protect 3f2a…c9 --until 2027-06-30 --key alice',
  options: { ...signingOptions, until: { type: 'string' }, territory: { type: 'string', multiple: true }, json: { type: 'boolean' } },
  async run(v, [work], io) {
    const id = idArg(work, 'WORK');
    const until = dateArg(str(v.until), '--until', 'end');
    if (until === undefined) throw new UsageError('--until DATE is required: a protection window ends');
    const territories = territoriesArg(v.territory, '--territory');
    const statement = signStatement({ type: 'protect', issuedAt: Date.now(), work: id, until, ...(territories.length ? { territories } : {}) }, await signingKey(v));
    printReceipt(io, v, `work protected until ${new Date(until).toISOString()}${territories.length ? ` in ${territories.join(',')}` : ''}; entry`, await client(v).submit(statement), { work, until });
    return 0;
  },
};
