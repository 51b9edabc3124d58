import { CartularyError } from '../core/errors.js';
import type { EvidenceBundle } from '../verify/bundle.js';
import { describeEntry, partiesOf, profileNames, timeline, titleStatusText } from '../verify/timeline.js';
import { verifyBundle } from '../verify/verify-bundle.js';
import { client, partyLabel, serverOption } from './client.js';
import { EXIT, str, type Command } from './command.js';
import { keyToTrust, originOf } from './ledger-key.js';

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
    const result = verifyBundle(bundle, await keyToTrust(str(v['ledger-key']), api, io, originOf(bundle)), { about: { work } });
    if (!result.ok) {
      io.err(`the chain of title does NOT verify: ${result.failure?.code}: ${result.failure?.detail}`);
      return EXIT.failed;
    }
    const subject = result.works.find((w) => w.id === work);
    // The status is the verified claim; the sightings (kept out of the chain) are the server's count.
    const status = bundle.claims.works.find((w) => w.id === work)?.status;
    const { sightings } = await api.get<{ sightings: number }>(`/v1/works/${work}`);
    const entries = timeline(bundle);
    const names = await profileNames(subject ? [subject.owner, ...partiesOf(entries)] : partiesOf(entries), (path) => api.get(path));
    const claims = result.claims.filter((c) => c.work === work);
    if (v.json) {
      io.out(
        JSON.stringify(
          { work: subject ?? null, status, sightings, names: Object.fromEntries(names), claims, resolutions: result.resolutions, entries, checkpointSize: result.checkpoint?.size ?? null, verified: true },
          null,
          2,
        ),
      );
      return EXIT.ok;
    }
    io.out(`work ${work}: "${subject?.title}", owner ${subject ? partyLabel(subject.owner, names, true) : '?'}, ${subject ? titleStatusText(subject, (ms) => new Date(ms).toISOString()) : status}`);
    for (const e of entries) io.out(`${e.id === work ? '*' : ' '} ${new Date(e.time).toISOString()}  #${e.index}  ${describeEntry(e, (p) => partyLabel(p, names))}`);
    io.out(`claims: ${claims.length} (${claims.filter((c) => c.status === 'open').length} open); sightings by platforms: ${sightings} (cartulary sightings ${work})`);
    io.out(`verified against checkpoint of size ${result.checkpoint?.size}; names are the parties' own profiles`);
    return EXIT.ok;
  },
};
