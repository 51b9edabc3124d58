import { fromHex } from '../core/bytes.js';
import { signStatement } from '../core/cose.js';
import { client, idArg, partyArg, printReceipt, signingKey, signingOptions } from './client.js';
import { str, type Command } from './command.js';

export const transfer: Command = {
  name: 'transfer',
  summary: "transfer a work's title to another party (signed by its current owner)",
  usage: 'cartulary transfer WORK --to PARTY --key K [--server URL] [--json]',
  example: 'cartulary transfer 3f2a…c9 --to bob --key alice',
  options: { ...signingOptions, to: { type: 'string' } },
  async run(v, [work], io) {
    const to = await partyArg(str(v.to), v, '--to');
    const statement = signStatement(
      { type: 'transfer', issuedAt: Date.now(), work: idArg(work, 'work'), to: fromHex(to, 'to', 32) },
      await signingKey(v),
    );
    printReceipt(io, v, `transferred to ${to}; entry`, await client(v).submit(statement), { work, to });
    return 0;
  },
};
