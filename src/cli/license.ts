import { fromHex } from '../core/bytes.js';
import { signStatement } from '../core/cose.js';
import { client, dateArg, idArg, instant, partyArg, printReceipt, signingKey, signingOptions, territoriesArg, usesArg } from './client.js';
import { str, UsageError, type Command } from './command.js';

export const license: Command = {
  name: 'license',
  summary: 'grant a licence on a work (by its owner, or under a sublicensable licence with --parent)',
  usage:
    'cartulary license WORK --to PARTY --use U[,U] --territory T[,T] [--from DATE] [--until DATE] [--exclusive] [--sublicensable] [--parent LICENCE] [--terms TEXT] --key K [--json]\n' +
    '  dates are UTC; --until 2027-12-31 covers the whole of that day (the licence ends at 2028-01-01T00:00Z)',
  example: 'cartulary license 3f2a…c9 --to bob --use clip,stream --territory FR,BE --until 2027-12-31 --key alice',
  options: {
    ...signingOptions,
    to: { type: 'string' },
    use: { type: 'string', multiple: true },
    territory: { type: 'string', multiple: true },
    from: { type: 'string' },
    until: { type: 'string' },
    exclusive: { type: 'boolean' },
    sublicensable: { type: 'boolean' },
    parent: { type: 'string' },
    terms: { type: 'string' },
  },
  async run(v, [work], io) {
    const validFrom = dateArg(str(v.from), '--from', 'instant');
    const validUntil = dateArg(str(v.until), '--until', 'end');
    const uses = usesArg(v.use, '--use');
    const territories = territoriesArg(v.territory, '--territory');
    if (!uses.length) throw new UsageError('--use U[,U] is required: what the licensee may do (clip, stream, …)');
    if (!territories.length) throw new UsageError('--territory T[,T] is required: where (FR, BE, … or * for everywhere)');
    const licensee = await partyArg(str(v.to), v, '--to');
    const statement = signStatement(
      {
        type: 'license',
        issuedAt: Date.now(),
        work: idArg(work, 'work'),
        licensee: fromHex(licensee, 'to', 32),
        uses,
        territories,
        ...(validFrom !== undefined ? { validFrom } : {}),
        ...(validUntil !== undefined ? { validUntil } : {}),
        ...(v.exclusive ? { exclusive: true } : {}),
        ...(v.sublicensable ? { sublicensable: true } : {}),
        ...(str(v.parent) ? { parent: idArg(str(v.parent), 'parent licence') } : {}),
        ...(str(v.terms) ? { terms: str(v.terms) } : {}),
      },
      await signingKey(v),
    );
    const result = await client(v).submit(statement);
    // Echo the instants exactly as signed and stored; a licence without validFrom starts when sequenced.
    const from = validFrom ?? result.receipt.time;
    printReceipt(io, v, 'licence granted; licence', result, { licence: result.receipt.id, licensee, validFrom: from, validUntil: validUntil ?? null });
    // The end instant is not covered ("until just before"); whether the licence is exclusive is said apart.
    if (!v.json) io.out(`  valid: from ${instant(from)} until ${validUntil === undefined ? 'no end' : `just before ${instant(validUntil)}`}; ${v.exclusive ? 'an exclusive licence' : 'not exclusive'}`);
    return 0;
  },
};
