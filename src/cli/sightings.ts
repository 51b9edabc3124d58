import { CartularyError } from '../core/errors.js';
import { mediaClock } from '../verify/timeline.js';
import { client, serverOption } from './client.js';
import { EXIT, str, UsageError, type Command } from './command.js';

interface SightingPage {
  count: number;
  sightings: Array<{ index: number; time: number; signer: string; platform: string | null; payload: { reference?: string; uploader?: string; verdict?: string; segments?: Array<{ upload: number[]; work: number[] }> } }>;
  next: number | null;
}

export const sightings: Command = {
  name: 'sightings',
  summary: "platforms' sightings of a work, newest first: which upload each saw, whose, when, and the verdict it got",
  usage: 'cartulary sightings WORK [--limit N] [--before INDEX] [--server URL] [--json]',
  example: 'cartulary sightings 3f2a…c9 --limit 20',
  options: { ...serverOption, limit: { type: 'string' }, before: { type: 'string' } },
  async run(v, [work], io) {
    if (!work || !/^[0-9a-f]{64}$/.test(work)) throw new CartularyError('invalid', 'WORK must be a work id (64 hex characters)');
    const count = (name: string, text: string | undefined, most: number) => {
      if (text === undefined) return undefined;
      if (!/^[0-9]+$/.test(text) || Number(text) > most) throw new UsageError(`--${name} must be a whole number${most < Infinity ? ` up to ${most}` : ''}, not "${text}"`);
      return Number(text);
    };
    const limit = count('limit', str(v.limit), 1000) ?? 100;
    const before = count('before', str(v.before), Number.MAX_SAFE_INTEGER);
    const page = await client(v).get<SightingPage>(`/v1/works/${work}/sightings?limit=${limit}${before === undefined ? '' : `&before=${before}`}`);
    if (v.json) {
      io.out(JSON.stringify(page, null, 2));
      return EXIT.ok;
    }
    // Each sighting is a signed entry of the log, kept out of the work's chain: its own proof proves it.
    io.out(`work ${work}: ${page.count} sighting${page.count === 1 ? '' : 's'} by platforms, newest first (each an entry of the log: cartulary proof INDEX proves it)`);
    for (const s of page.sightings) {
      const p = s.payload;
      const where = p.segments?.length ? `; ${p.segments.map((g) => `upload ${mediaClock(g.upload[0] ?? 0)}–${mediaClock(g.upload[1] ?? 0)} ↔ work ${mediaClock(g.work[0] ?? 0)}–${mediaClock(g.work[1] ?? 0)}`).join(', ')}` : '';
      io.out(`  #${s.index}  ${new Date(s.time).toISOString()}  by ${s.platform ? `"${s.platform}" (${s.signer.slice(0, 12)}…)` : s.signer}: "${p.reference}", uploaded by ${p.uploader}, answered ${p.verdict}${where}`);
    }
    if (page.next !== null) io.out(`  more: --before ${page.next}`);
    return EXIT.ok;
  },
};
