import { fromBase64, toHex } from '../core/bytes.js';
import { parseStatement } from '../core/cose.js';
import { CartularyError } from '../core/errors.js';
import { decodeLeaf } from '../core/leaf.js';
import { payloadJson } from '../core/statements.js';
import type { EvidenceBundle } from '../verify/bundle.js';
import { verifyBundle } from '../verify/verify-bundle.js';
import { client, partyLabel, profileNames, serverOption } from './client.js';
import { EXIT, str, type Command } from './command.js';
import { ledgerKeyArg, originOf } from './ledger-key.js';

const short = (hex: unknown) => (typeof hex === 'string' ? `${hex.slice(0, 12)}…` : String(hex));
/** Licence bounds exactly as signed: a window ends before `validUntil` (exclusive). */
const when = (ms: unknown, open: string) => (typeof ms === 'number' ? new Date(ms).toISOString() : open);

function describe(p: Record<string, unknown>, signer: string, names: Map<string, string>): string {
  const who = (party: unknown) => (typeof party === 'string' ? partyLabel(party, names) : String(party));
  switch (p.type) {
    case 'register':
      return `registered "${p.title}" (${p.mediaType}, ${p.size} bytes, sha256 ${short(p.sha256)}) by ${who(signer)}`;
    case 'transfer':
      return `transferred by ${who(signer)} to ${who(p.to)}`;
    case 'license':
      return `licensed by ${who(signer)} to ${who(p.licensee)}: ${(p.uses as string[]).join(',')} in ${(p.territories as string[]).join(',')}, from ${when(p.validFrom, 'its sequencing')} until ${when(p.validUntil, 'no end')}${p.exclusive ? ', exclusive' : ''}${p.parent ? `, under ${short(p.parent)}` : ''}`;
    case 'revoke':
      return `licence ${short(p.license)} revoked by ${who(signer)}${p.reason ? `: ${p.reason}` : ''}`;
    default:
      return `${String(p.type)} by ${who(signer)}`;
  }
}

export const history: Command = {
  name: 'history',
  summary: "a work's chain of title as a timeline, verified offline before it is shown",
  usage: 'cartulary history WORK [--ledger-key VKEY|FILE] [--server URL] [--json]',
  example: 'cartulary history 3f2a…c9 --ledger-key "$(cat ledger.vkey)"',
  options: { ...serverOption, 'ledger-key': { type: 'string' } },
  async run(v, [work], io) {
    if (!work || !/^[0-9a-f]{64}$/.test(work)) throw new CartularyError('invalid', 'WORK must be a work id (64 hex characters)');
    const api = client(v);
    const bundle = await api.get<EvidenceBundle>(`/v1/works/${work}/evidence`);
    let key = str(v['ledger-key']);
    if (!key) {
      key = (await api.get<{ verifierKey: string }>('/v1/log')).verifierKey;
      io.err(`note: trusting the server's own key ${key}; pass --ledger-key to pin it`);
    }
    const result = verifyBundle(bundle, await ledgerKeyArg(key, originOf(bundle)));
    if (!result.ok) {
      io.err(`the chain of title does NOT verify: ${result.failure?.code}: ${result.failure?.detail}`);
      return EXIT.failed;
    }
    const subject = result.works.find((w) => w.id === work);
    const entries = bundle.entries.map((e) => {
      const leaf = decodeLeaf(fromBase64(e.leaf, 'leaf'));
      const s = parseStatement(leaf.statement);
      return { index: e.index, time: leaf.time, id: toHex(s.id), signer: toHex(s.signer), payload: payloadJson(s.payload) as Record<string, unknown> };
    });
    const parties = entries.flatMap((e) => [e.signer, e.payload.to, e.payload.licensee]).filter((p): p is string => typeof p === 'string');
    const names = await profileNames(api, subject ? [subject.owner, ...parties] : parties);
    if (v.json) {
      io.out(JSON.stringify({ work: subject ?? null, names: Object.fromEntries(names), entries, checkpointSize: result.checkpoint?.size ?? null, verified: true }, null, 2));
      return EXIT.ok;
    }
    io.out(`work ${work}: "${subject?.title}", owner ${subject ? partyLabel(subject.owner, names, true) : '?'}, ${subject?.status}`);
    for (const e of entries) io.out(`${e.id === work ? '*' : ' '} ${new Date(e.time).toISOString()}  #${e.index}  ${describe(e.payload, e.signer, names)}`);
    io.out(`verified against checkpoint of size ${result.checkpoint?.size}; names are the parties' own profiles`);
    return EXIT.ok;
  },
};
