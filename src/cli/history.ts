import { fromBase64, toHex } from '../core/bytes.js';
import { parseStatement } from '../core/cose.js';
import { CartularyError } from '../core/errors.js';
import { decodeLeaf } from '../core/leaf.js';
import { payloadJson } from '../core/statements.js';
import type { EvidenceBundle } from '../verify/bundle.js';
import { verifyBundle } from '../verify/verify-bundle.js';
import { client, serverOption, type LedgerClient } from './client.js';
import { EXIT, str, type Command } from './command.js';
import { ledgerKeyArg } from './ledger-key.js';

const short = (hex: unknown) => (typeof hex === 'string' ? `${hex.slice(0, 12)}…` : String(hex));
const day = (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString().slice(0, 10) : 'open');

/** A party by its profile name when it has one: "Alice Films (3f2a…)". */
type Names = (party: unknown) => string;

function describe(p: Record<string, unknown>, signer: string, name: Names): string {
  const by = name(signer);
  switch (p.type) {
    case 'register':
      return `registered "${p.title}" (${p.mediaType}, ${p.size} bytes, sha256 ${short(p.sha256)}) by ${by}`;
    case 'transfer':
      return `transferred by ${by} to ${name(p.to)}`;
    case 'license':
      return `licensed by ${by} to ${name(p.licensee)}: ${(p.uses as string[]).join(',')} in ${(p.territories as string[]).join(',')}, ${day(p.validFrom)} → ${day(p.validUntil)}${p.exclusive ? ', exclusive' : ''}${p.parent ? `, under ${short(p.parent)}` : ''}`;
    case 'revoke':
      return `licence ${short(p.license)} revoked by ${by}${p.reason ? `: ${p.reason}` : ''}`;
    case 'claim': {
      const subject = p.subject as Record<string, unknown>;
      const capture = p.capture as Record<string, unknown>;
      const where = [subject.url, subject.platform, subject.reference].filter(Boolean).join(', ') || `a copy with sha256 ${short(subject.sha256)}`;
      return `infringement claimed by ${by}: ${where}; capture ${capture.mediaType}, ${capture.size} bytes, sha256 ${short(capture.sha256)}, captured ${new Date(capture.capturedAt as number).toISOString()}`;
    }
    case 'accredit':
      return `${name(p.mediator)} accredited as a mediator by the registrar ${by}${p.until ? ` until ${day(p.until)}` : ''}`;
    case 'resolve': {
      const what = p.claim ? `claim ${short(p.claim)} ${p.decision === 'uphold' ? 'upheld' : p.decision === 'settle' ? 'settled' : 'dismissed'}` : p.decision === 'award' ? `title awarded to work ${short(p.award)}` : 'contest dismissed (title stays where it was)';
      return `${what} by mediator ${by}${p.reason ? `: ${p.reason}` : ''}`;
    }
    default:
      return String(p.type);
  }
}

/** The profile names of the parties named, one lookup per party (a party without a profile has none). */
async function profileNames(api: LedgerClient, parties: unknown[]): Promise<Map<string, string>> {
  const unique = [...new Set(parties.filter((p): p is string => typeof p === 'string'))].slice(0, 200);
  const found = await Promise.all(
    unique.map((p) => api.get<{ profile: { name: string } | null }>(`/v1/parties/${p}`).then((r) => [p, r.profile?.name] as const, () => [p, undefined] as const)),
  );
  return new Map(found.filter((f): f is readonly [string, string] => f[1] !== undefined));
}

export const history: Command = {
  name: 'history',
  summary: "a work's chain of title as a timeline, verified offline before it is shown",
  usage: 'cartulary history WORK [--ledger-key VKEY] [--json] [--server URL]',
  example: 'cartulary history 3f2a…c9 --ledger-key "$(cat ledger.vkey)"',
  options: { ...serverOption, 'ledger-key': { type: 'string' }, json: { type: 'boolean' } },
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
    // The status is the verified one; the sightings (out of the chain) are the server's count.
    const status = bundle.claims.works.find((w) => w.id === work)?.status;
    const { sightings } = await api.get<{ sightings: number }>(`/v1/works/${work}`);
    const timeline = bundle.entries.map((e) => {
      const leaf = decodeLeaf(fromBase64(e.leaf, 'leaf'));
      const s = parseStatement(leaf.statement);
      return { index: e.index, time: leaf.time, id: toHex(s.id), signer: toHex(s.signer), payload: payloadJson(s.payload) as Record<string, unknown> };
    });
    const names = await profileNames(api, [subject?.owner, ...timeline.flatMap((t) => [t.signer, ...['to', 'licensee', 'mediator'].map((f) => t.payload[f])])]);
    const name: Names = (party) => (typeof party === 'string' && names.get(party) ? `${names.get(party)} (${short(party)})` : short(party));
    if (v.json) {
      io.out(JSON.stringify({ work: subject, status, sightings, claims: result.claims, resolutions: result.resolutions, entries: timeline.map((t) => ({ ...t, signerName: names.get(t.signer) ?? null })), checkpointSize: result.checkpoint?.size }, null, 2));
      return EXIT.ok;
    }
    const ownerName = names.get(subject?.owner ?? '');
    io.out(`work ${work}: "${subject?.title}", owner ${subject?.owner}${ownerName ? ` (${ownerName})` : ''}, ${status}`);
    for (const t of timeline) io.out(`${t.id === work ? '*' : ' '} ${new Date(t.time).toISOString()}  #${t.index}  ${describe(t.payload, t.signer, name)}`);
    const open = result.claims.filter((c) => c.work === work && c.status === 'open').length;
    io.out(`claims: ${result.claims.filter((c) => c.work === work).length} (${open} open); sightings by platforms: ${sightings} (GET /v1/works/${work}/sightings)`);
    io.out(`verified against checkpoint of size ${result.checkpoint?.size}`);
    return EXIT.ok;
  },
};
