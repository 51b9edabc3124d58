import { readFile } from 'node:fs/promises';
import { CartularyError } from '../core/errors.js';
import { verifyBundle } from '../verify/verify-bundle.js';
import { EXIT, str, type Command } from './command.js';
import { hashFile } from './hash-file.js';
import { ledgerKeyArg } from './ledger-key.js';
import { policyArg } from './policy-file.js';
import { formatVerifierKey, parseVerifierKey } from '../core/checkpoint.js';
import { checkCosignedCheckpoint } from '../core/policy.js';

export const verify: Command = {
  name: 'verify',
  summary: 'verify an evidence bundle offline against the ledger key you trust (no server needed)',
  usage: 'cartulary verify BUNDLE --ledger-key VKEY [--file FILE] [--witness-policy FILE]',
  example: 'cartulary verify film.mp4.cartulary.json --file film.mp4 --ledger-key "cartulary.local/ledger+1a2b3c4d+AT…"',
  options: { 'ledger-key': { type: 'string' }, file: { type: 'string' }, 'witness-policy': { type: 'string' } },
  async run(v, [path], io) {
    if (!path) throw new CartularyError('invalid', 'BUNDLE is required');
    const policy = str(v['witness-policy']) ? await policyArg(str(v['witness-policy']) as string) : null;
    // The policy's log line may stand in for --ledger-key (the first one, when it lists several).
    const policyLog = policy?.logs[0]?.key;
    const key = str(v['ledger-key']) ?? (policyLog ? formatVerifierKey(policyLog.name, policyLog.publicKey) : undefined);
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
    const trusted = await ledgerKeyArg(key);
    const result = verifyBundle(bundle, trusted, file ? { fileSha256: (await hashFile(file, io)).sha256 } : {});
    for (const line of result.holds) io.out(`  ok   ${line}`);
    const failed = (detail: string) => {
      io.out(`  FAIL ${detail}`);
      io.err('NOT verified');
      return EXIT.failed;
    };
    if (!result.ok) return failed(`${result.failure?.code}: ${result.failure?.detail}`);
    if (policy) {
      let check;
      try {
        check = checkCosignedCheckpoint((bundle as { checkpoint: string }).checkpoint, policy, parseVerifierKey(trusted));
      } catch (e) {
        return failed(`witness policy: ${(e as Error).message}`);
      }
      for (const c of check.cosignatures) {
        io.out(`  ok   witness ${c.name} (${c.witness}) had seen this tree of size ${check.checkpoint.size} by ${new Date(c.time * 1000).toISOString()}`);
      }
      if (!check.quorum) return failed(`witness policy: the checkpoint's ${check.cosignatures.length} valid cosignature(s) do not meet the quorum "${policy.quorum}"`);
      io.out(`  ok   the witness quorum "${policy.quorum}" is met`);
    }
    for (const w of result.works) io.out(`work ${w.id}: owner ${w.owner}, ${w.status}${w.contestedBy.length ? ` (contested by ${w.contestedBy.join(', ')})` : ''}`);
    for (const l of result.licences) io.out(`licence ${l.id}: ${l.licensee} may ${l.uses.join(',')} in ${l.territories.join(',')}${l.revokedAt !== null ? ' (revoked)' : ''}`);
    if (result.verdict) io.out(`verdict: ${result.verdict}`);
    io.out('verified');
    return EXIT.ok;
  },
};
