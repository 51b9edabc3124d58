import { toHex } from '../core/bytes.js';
import { CartularyError } from '../core/errors.js';
import { createKeyPair } from '../store/key-files.js';
import { str, type Command } from './command.js';

export const keygen: Command = {
  name: 'keygen',
  summary: 'make a party key pair: DIR/NAME.key (secret, 0600) and DIR/NAME.pub, and print the party id',
  usage: 'cartulary keygen NAME [--out DIR]',
  example: 'cartulary keygen alice --out keys',
  options: { out: { type: 'string', default: 'keys' } },
  async run(v, [name], io) {
    if (!name || !/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new CartularyError('invalid', 'NAME is required: letters, digits, . _ - only');
    const signer = await createKeyPair(str(v.out) as string, name);
    io.out(toHex(signer.publicKey));
    return 0;
  },
};
