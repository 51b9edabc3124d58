import { signStatement } from '../core/cose.js';
import { client, idArg, printReceipt, signingKey, signingOptions } from './client.js';
import { str, type Command } from './command.js';

export const revoke: Command = {
  name: 'revoke',
  summary: 'revoke a licence (by its grantor)',
  usage: 'cartulary revoke LICENCE --key K [--reason TEXT] [--server URL] [--json]',
  example: 'cartulary revoke 9b1c…07 --key alice --reason "terms breached"',
  options: { ...signingOptions, reason: { type: 'string' } },
  async run(v, [licence], io) {
    const statement = signStatement(
      { type: 'revoke', issuedAt: Date.now(), license: idArg(licence, 'licence'), ...(str(v.reason) ? { reason: str(v.reason) } : {}) },
      await signingKey(v),
    );
    printReceipt(io, v, 'licence revoked; entry', await client(v).submit(statement), { licence });
    return 0;
  },
};
