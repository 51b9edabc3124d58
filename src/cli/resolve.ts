import { signStatement } from '../core/cose.js';
import { CartularyError } from '../core/errors.js';
import { DECISIONS, type Decision } from '../core/statements.js';
import { client, idArg, printReceipt, signingKey, signingOptions } from './client.js';
import { str, type Command } from './command.js';

export const resolve: Command = {
  name: 'resolve',
  summary: 'a mediator ends a contest (--award REGISTRATION, or --decision dismiss) or closes a claim (--claim CLAIM --decision uphold|settle|dismiss)',
  usage: 'cartulary resolve WORK (--award REGISTRATION | --decision award|dismiss|uphold|settle [--claim CLAIM]) [--reason TEXT] --key K [--json] [--server URL]',
  example: 'cartulary resolve 3f2a…c9 --award 3f2a…c9 --reason "drafts predate the other registration" --key carol',
  options: { ...signingOptions, award: { type: 'string' }, decision: { type: 'string' }, claim: { type: 'string' }, reason: { type: 'string' }, json: { type: 'boolean' } },
  async run(v, [work], io) {
    const decision = str(v.decision) ?? (str(v.award) ? 'award' : undefined);
    if (!decision || !(DECISIONS as readonly string[]).includes(decision)) {
      throw new CartularyError('invalid', `--decision must be one of ${DECISIONS.join(', ')} (or give --award REGISTRATION)`);
    }
    const statement = signStatement(
      {
        type: 'resolve',
        issuedAt: Date.now(),
        work: idArg(work, 'work'),
        decision: decision as Decision,
        ...(str(v.award) ? { award: idArg(str(v.award), 'awarded registration') } : {}),
        ...(str(v.claim) ? { claim: idArg(str(v.claim), 'claim') } : {}),
        ...(str(v.reason) ? { reason: str(v.reason) } : {}),
      },
      await signingKey(v),
    );
    const what = str(v.claim) ? `claim ${str(v.claim)}: ${decision}` : decision === 'award' ? `title awarded to ${str(v.award)}` : 'contest dismissed';
    printReceipt(io, v, `${what}; entry`, await client(v).submit(statement));
    return 0;
  },
};
