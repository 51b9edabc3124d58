import { writeFile } from 'node:fs/promises';
import { CartularyError } from '../core/errors.js';
import { verifyBundle } from '../verify/verify-bundle.js';
import { client, serverOption } from './client.js';
import { EXIT, str, type Command } from './command.js';
import { ledgerKeyArg, originOf } from './ledger-key.js';

export const evidence: Command = {
  name: 'evidence',
  summary: "fetch the evidence bundle of a work's chain of title (verified first with --ledger-key), to a file or stdout",
  usage: 'cartulary evidence WORK [--out FILE] [--ledger-key VKEY|FILE] [--server URL] [--json]',
  example: 'cartulary evidence 3f2a…c9 --out evidence.json --ledger-key ledger.vkey',
  options: { ...serverOption, out: { type: 'string' }, 'ledger-key': { type: 'string' } },
  async run(v, [work], io) {
    if (!work || !/^[0-9a-f]{64}$/.test(work)) throw new CartularyError('invalid', 'WORK must be a work id (64 hex characters)');
    const bundle = await client(v).get<unknown>(`/v1/works/${work}/evidence`);
    const vkey = str(v['ledger-key']);
    if (vkey) {
      const result = verifyBundle(bundle, await ledgerKeyArg(vkey, originOf(bundle)), { about: { work } });
      if (!result.ok) {
        io.err(`the evidence for work ${work} does NOT verify: ${result.failure?.code}: ${result.failure?.detail}; not saved`);
        return EXIT.failed;
      }
    }
    const text = `${JSON.stringify(bundle, null, 2)}\n`;
    const out = str(v.out);
    if (!out) {
      io.out(text.trimEnd());
      return EXIT.ok;
    }
    await writeFile(out, text);
    const entries = (bundle as { entries?: unknown[] }).entries?.length ?? 0;
    if (v.json) io.out(JSON.stringify({ work, out, entries, verified: Boolean(vkey) }, null, 2));
    else io.out(`evidence for work ${work}: ${entries} entries${vkey ? ', verified' : ' (not verified: pass --ledger-key)'}, saved to ${out}`);
    return EXIT.ok;
  },
};
