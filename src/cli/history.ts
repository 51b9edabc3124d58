import { fromBase64, toHex } from '../core/bytes.js';
import { parseStatement } from '../core/cose.js';
import { CartularyError } from '../core/errors.js';
import { decodeLeaf } from '../core/leaf.js';
import { payloadJson } from '../core/statements.js';
import type { EvidenceBundle } from '../verify/bundle.js';
import { verifyBundle } from '../verify/verify-bundle.js';
import { client, serverOption } from './client.js';
import { EXIT, str, type Command } from './command.js';
import { ledgerKeyArg } from './ledger-key.js';

const short = (hex: unknown) => (typeof hex === 'string' ? `${hex.slice(0, 12)}…` : String(hex));
const day = (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString().slice(0, 10) : 'open');

function describe(p: Record<string, unknown>, signer: string): string {
  switch (p.type) {
    case 'register':
      return `registered "${p.title}" (${p.mediaType}, ${p.size} bytes, sha256 ${short(p.sha256)}) by ${short(signer)}`;
    case 'transfer':
      return `transferred by ${short(signer)} to ${short(p.to)}`;
    case 'license':
      return `licensed by ${short(signer)} to ${short(p.licensee)}: ${(p.uses as string[]).join(',')} in ${(p.territories as string[]).join(',')}, ${day(p.validFrom)} → ${day(p.validUntil)}${p.exclusive ? ', exclusive' : ''}${p.parent ? `, under ${short(p.parent)}` : ''}`;
    case 'revoke':
      return `licence ${short(p.license)} revoked by ${short(signer)}${p.reason ? `: ${p.reason}` : ''}`;
    default:
      return String(p.type);
  }
}

export const history: Command = {
  name: 'history',
  summary: "a work's chain of title as a timeline, verified offline before it is shown",
  usage: 'cartulary history WORK [--ledger-key VKEY] [--server URL]',
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
    const result = verifyBundle(bundle, await ledgerKeyArg(key));
    if (!result.ok) {
      io.err(`the chain of title does NOT verify: ${result.failure?.code}: ${result.failure?.detail}`);
      return EXIT.failed;
    }
    const subject = result.works.find((w) => w.id === work);
    io.out(`work ${work}: "${subject?.title}", owner ${subject?.owner}, ${subject?.status}`);
    for (const e of bundle.entries) {
      const leaf = decodeLeaf(fromBase64(e.leaf, 'leaf'));
      const s = parseStatement(leaf.statement);
      const mark = toHex(s.id) === work ? '*' : ' ';
      io.out(`${mark} ${new Date(leaf.time).toISOString()}  #${e.index}  ${describe(payloadJson(s.payload) as Record<string, unknown>, toHex(s.signer))}`);
    }
    io.out(`verified against checkpoint of size ${result.checkpoint?.size}`);
    return EXIT.ok;
  },
};
