import { writeFile } from 'node:fs/promises';
import { fromBase64 } from '../core/bytes.js';
import { CartularyError } from '../core/errors.js';
import { client, serverOption } from './client.js';
import { str, type Command } from './command.js';

export const proof: Command = {
  name: 'proof',
  summary: "an entry's proof in a standard format: a C2SP tlog-proof (default) or, with --receipt, a COSE Receipt and its leaf",
  usage: 'cartulary proof INDEX [--out FILE] [--receipt] [--server URL]',
  example: 'cartulary proof 42 --out entry42.tlog-proof && cartulary verify entry42.tlog-proof --witness-policy policy.txt',
  options: { ...serverOption, out: { type: 'string' }, receipt: { type: 'boolean' } },
  async run(v, [index], io) {
    if (!index || !/^(0|[1-9][0-9]*)$/.test(index)) throw new CartularyError('invalid', 'INDEX must be an entry index');
    const api = client(v);
    const out = str(v.out);
    if (v.receipt) {
      if (!out) throw new CartularyError('invalid', '--receipt needs --out FILE (the receipt is binary; the leaf goes to FILE.leaf)');
      const receipt = await api.getRaw(`/v1/entries/${index}/receipt`);
      if (!receipt) throw new CartularyError('not-found', `no entry at index ${index}`);
      const entry = await api.get<{ leaf: string }>(`/v1/entries/${index}`);
      await writeFile(out, receipt);
      await writeFile(`${out}.leaf`, fromBase64(entry.leaf, 'leaf'));
      io.out(`wrote ${out} and ${out}.leaf`);
      return 0;
    }
    const text = await api.getRaw(`/v1/entries/${index}/tlog-proof`);
    if (!text) throw new CartularyError('not-found', `no entry at index ${index}`);
    if (out) {
      await writeFile(out, text);
      io.out(`wrote ${out}`);
    } else io.out(new TextDecoder().decode(text).trimEnd());
    return 0;
  },
};
