import { stat } from 'node:fs/promises';
import { toHex } from '../core/bytes.js';
import type { Verdict } from '../core/check.js';
import { CartularyError } from '../core/errors.js';
import { verifyBundle } from '../verify/verify-bundle.js';
import { client, dateArg, partyArg, serverOption } from './client.js';
import { str, type Command } from './command.js';
import { hashFile } from './hash-file.js';
import { ledgerKeyArg } from './ledger-key.js';

const EXIT_FOR: Record<Verdict, number> = { owner: 0, licensed: 0, unlicensed: 1, contested: 1, unregistered: 2 };

interface CheckAnswer {
  verdict: Verdict;
  works: Array<{ id: string; owner: string; title: string }>;
  licence: { id: string; uses: string[]; territories: string[] } | null;
  reasons: Array<{ licence: string | null; reason: string }>;
  evidence: unknown;
}

export const check: Command = {
  name: 'check',
  summary: 'pre-publish check: may UPLOADER use this content this way, here, now? (exit 0 yes, 1 no, 2 unregistered)',
  usage: 'cartulary check FILE|SHA256 --uploader PARTY --use U --territory T [--at DATE] [--ledger-key VKEY] [--json] [--server URL]',
  example: 'cartulary check upload.mp4 --uploader bob --use clip --territory FR --ledger-key "$(cat ledger.vkey)"',
  options: {
    ...serverOption,
    uploader: { type: 'string' },
    use: { type: 'string' },
    territory: { type: 'string' },
    at: { type: 'string' },
    'ledger-key': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(v, [target], io) {
    if (!target) throw new CartularyError('invalid', 'FILE or SHA256 is required');
    const isFile = await stat(target).then((s) => s.isFile(), () => false);
    const sha256 = isFile || !/^[0-9a-f]{64}$/.test(target) ? toHex((await hashFile(target, io)).sha256) : target;
    const at = dateArg(str(v.at), '--at');
    const query = { sha256, uploader: await partyArg(str(v.uploader), v, '--uploader'), use: str(v.use), territory: str(v.territory), ...(at !== undefined ? { at } : {}) };
    const answer = await client(v).postJson<CheckAnswer>('/v1/check', query);
    const vkey = str(v['ledger-key']);
    if (vkey && answer.evidence) {
      const result = verifyBundle(answer.evidence, await ledgerKeyArg(vkey));
      if (!result.ok) throw new CartularyError('verification-failed', `the server's evidence does not verify: ${result.failure?.code}: ${result.failure?.detail}`);
      if (result.verdict !== answer.verdict) throw new CartularyError('verification-failed', `the server says ${answer.verdict}, its evidence says ${result.verdict}`);
    }
    if (v.json) io.out(JSON.stringify(answer, null, 2));
    else io.out(describe(answer, query.use ?? '', query.territory ?? '') + (vkey && answer.evidence ? ' [evidence verified offline]' : ''));
    return EXIT_FOR[answer.verdict];
  },
};

function describe(a: CheckAnswer, use: string, territory: string): string {
  const work = a.works[0];
  switch (a.verdict) {
    case 'unregistered':
      return 'unregistered: no work in the ledger has this content';
    case 'owner':
      return `owner: the uploader owns work ${work?.id} ("${work?.title}")`;
    case 'licensed':
      return `licensed: licence ${a.licence?.id} allows ${use} in ${territory} of work ${work?.id} ("${work?.title}")`;
    case 'contested':
      return `contested: ${a.works.length} registrations claim this content (${a.works.map((w) => w.id.slice(0, 12)).join(', ')}); do not publish without review`;
    case 'unlicensed':
      return `unlicensed: work ${work?.id} ("${work?.title}") is owned by ${work?.owner}; ${a.reasons.map((r) => (r.licence ? `licence ${r.licence.slice(0, 12)}…: ${r.reason}` : 'the uploader holds no licence')).join('; ')}`;
  }
}
