import { readFile } from 'node:fs/promises';
import { CartularyError } from '../core/errors.js';
import { verifyBundle } from '../verify/verify-bundle.js';
import { EXIT, str, type Command } from './command.js';
import { hashFile } from './hash-file.js';
import { ledgerKeyArg } from './ledger-key.js';

export const verify: Command = {
  name: 'verify',
  summary: 'verify an evidence bundle offline against the ledger key you trust (no server needed)',
  usage: 'cartulary verify BUNDLE --ledger-key VKEY [--file FILE]',
  example: 'cartulary verify film.mp4.cartulary.json --file film.mp4 --ledger-key "cartulary.local/ledger+1a2b3c4d+AT…"',
  options: { 'ledger-key': { type: 'string' }, file: { type: 'string' } },
  async run(v, [path], io) {
    if (!path) throw new CartularyError('invalid', 'BUNDLE is required');
    const key = str(v['ledger-key']);
    if (!key) throw new CartularyError('invalid', '--ledger-key is required: a bundle proves nothing without a key you trust');
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      throw new CartularyError('malformed', `${path} is not readable JSON: ${(e as Error).message}`);
    }
    // `register` saves {receipt, evidence}; a bare bundle is accepted too.
    const bundle = json && typeof json === 'object' && 'evidence' in json ? (json as { evidence: unknown }).evidence : json;
    const file = str(v.file);
    const result = verifyBundle(bundle, await ledgerKeyArg(key), file ? { fileSha256: (await hashFile(file, io)).sha256 } : {});
    for (const line of result.holds) io.out(`  ok   ${line}`);
    if (!result.ok) {
      io.out(`  FAIL ${result.failure?.code}: ${result.failure?.detail}`);
      io.err('NOT verified');
      return EXIT.failed;
    }
    for (const w of result.works) io.out(`work ${w.id}: owner ${w.owner}, ${w.status}${w.contest ? ` (contested by ${w.contest.by} since ${new Date(w.contest.since).toISOString()})` : ''}`);
    for (const l of result.licences) io.out(`licence ${l.id}: ${l.licensee} may ${l.uses.join(',')} in ${l.territories.join(',')}${l.revokedAt !== null ? ' (revoked)' : ''}`);
    if (result.verdict) io.out(`verdict: ${result.verdict}`);
    io.out('verified');
    return EXIT.ok;
  },
};
