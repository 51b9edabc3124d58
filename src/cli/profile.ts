import { signStatement } from '../core/cose.js';
import { client, printReceipt, signingKey, signingOptions } from './client.js';
import { str, UsageError, type Command } from './command.js';

export const profile: Command = {
  name: 'profile',
  summary: "publish a party's profile (name, optional URL); the latest stands",
  usage: 'cartulary profile --name NAME [--url URL] --key K [--server URL] [--json]',
  example: 'cartulary profile --name "Alice Films" --url https://alice.example --key alice',
  options: { ...signingOptions, name: { type: 'string' }, url: { type: 'string' } },
  async run(v, _p, io) {
    if (!str(v.name)) throw new UsageError('--name is required');
    const statement = signStatement(
      { type: 'party', issuedAt: Date.now(), name: str(v.name), ...(str(v.url) ? { url: str(v.url) } : {}) },
      await signingKey(v),
    );
    printReceipt(io, v, `profile ${JSON.stringify(str(v.name))} published; entry`, await client(v).submit(statement), { name: str(v.name) });
    return 0;
  },
};
