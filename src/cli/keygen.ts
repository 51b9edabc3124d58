import { join } from 'node:path';
import { toHex } from '../core/bytes.js';
import { CartularyError } from '../core/errors.js';
import { createKeyPair } from '../store/key-files.js';
import { keysDir, str, UsageError, type Command } from './command.js';

export const keygen: Command = {
  name: 'keygen',
  summary: 'make a party key pair: DIR/NAME.key (secret, 0600) and DIR/NAME.pub, and print the party id',
  usage: 'cartulary keygen NAME [--keys DIR] [--json]   (--out DIR is the same as --keys DIR)',
  example: 'cartulary keygen alice --keys keys',
  options: { keys: { type: 'string' }, out: { type: 'string' } },
  async run(v, [name], io) {
    if (!name || !/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new UsageError('NAME is required: letters, digits, . _ - only');
    if (str(v.out) !== undefined && str(v.keys) !== undefined && str(v.out) !== str(v.keys)) throw new CartularyError('invalid', '--out and --keys name the same folder; give one');
    const dir = str(v.out) ?? keysDir(v);
    const party = toHex((await createKeyPair(dir, name)).publicKey);
    if (v.json) io.out(JSON.stringify({ name, party, secretKey: join(dir, `${name}.key`), publicKey: join(dir, `${name}.pub`) }, null, 2));
    else io.out(party);
    return 0;
  },
};
