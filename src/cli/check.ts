import { stat } from 'node:fs/promises';
import { toBase64, toHex } from '../core/bytes.js';
import { encodeFrames, FINGERPRINT_KIND } from '../core/fingerprint.js';
import { fingerprintOrNote, probeMedia } from './media.js';
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
  matches: Array<{
    work: { id: string; owner: string; title: string };
    segments: Array<{ upload: [number, number]; work: [number, number]; speed: number; frames: number; distance: number; strength: string }>;
    strength: string;
    use: string;
    verdict: Verdict;
    licence: { id: string } | null;
    reasons: Array<{ licence: string | null; reason: string }>;
    evidence: unknown;
  }>;
  titles: Array<{ work: { id: string; title: string }; title: string; via: string; fingerprintAgrees: boolean }>;
}

const clock = (ms: number) => {
  const s = Math.round(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};

export const check: Command = {
  name: 'check',
  summary: 'pre-publish check: may UPLOADER use this content this way, here, now? (exit 0 yes, 1 no, 2 unregistered)',
  usage: 'cartulary check FILE|SHA256 --uploader PARTY [--use U] --territory T [--title T] [--description D] [--at DATE] [--ledger-key VKEY] [--no-fingerprint] [--json] [--server URL]',
  example: 'cartulary check upload.mp4 --uploader bob --use clip --territory FR --ledger-key "$(cat ledger.vkey)"',
  options: {
    ...serverOption,
    uploader: { type: 'string' },
    use: { type: 'string' },
    territory: { type: 'string' },
    at: { type: 'string' },
    'ledger-key': { type: 'string' },
    'media-type': { type: 'string' },
    'no-fingerprint': { type: 'boolean' },
    title: { type: 'string' },
    description: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(v, [target], io) {
    if (!target) throw new CartularyError('invalid', 'FILE or SHA256 is required');
    const isFile = await stat(target).then((s) => s.isFile(), () => false);
    const sha256 = isFile || !/^[0-9a-f]{64}$/.test(target) ? toHex((await hashFile(target, io)).sha256) : target;
    const at = dateArg(str(v.at), '--at');
    const kind = isFile && !v['no-fingerprint'] ? (await probeMedia(target, str(v['media-type']))).kind : null;
    const print = kind ? await fingerprintOrNote(target, kind, 'check', io) : null;
    const fingerprinted = Boolean(print && print.frames.length);
    const query = {
      sha256,
      ...(print && fingerprinted ? { fingerprints: { kind: FINGERPRINT_KIND, frames: toBase64(encodeFrames(print.frames)), mirrored: toBase64(encodeFrames(print.mirrored)) } } : {}),
      ...(str(v.title) ? { title: str(v.title) } : {}),
      ...(str(v.description) ? { description: str(v.description) } : {}),
      uploader: await partyArg(str(v.uploader), v, '--uploader'),
      // Without fingerprints (not media, or nothing but flat frames) the check is by SHA-256 alone, which needs a use.
      ...(str(v.use) ? { use: str(v.use) } : fingerprinted ? {} : { use: 'publish' }),
      territory: str(v.territory),
      ...(at !== undefined ? { at } : {}),
    };
    const answer = await client(v).postJson<CheckAnswer>('/v1/check', query);
    const vkey = str(v['ledger-key']);
    if (vkey) {
      const key = await ledgerKeyArg(vkey);
      const check = (bundle: unknown, what: string) => {
        const result = verifyBundle(bundle, key);
        if (!result.ok) throw new CartularyError('verification-failed', `the server's evidence for ${what} does not verify: ${result.failure?.code}: ${result.failure?.detail}`);
        return result;
      };
      if (answer.evidence && check(answer.evidence, 'the verdict').verdict !== answer.verdict) {
        throw new CartularyError('verification-failed', `the server says ${answer.verdict}, its evidence says otherwise`);
      }
      for (const m of answer.matches) check(m.evidence, `work ${m.work.id}`);
    }
    const verified = vkey && (answer.evidence || answer.matches.length) ? ' [evidence verified offline]' : '';
    if (v.json) io.out(JSON.stringify(answer, null, 2));
    else {
      io.out(describe(answer, str(v.use) ?? answer.matches[0]?.use ?? 'publish', query.territory ?? '') + verified);
      for (const m of answer.matches) {
        const where = m.segments.map((s) => `upload ${clock(s.upload[0])}–${clock(s.upload[1])} ↔ work ${clock(s.work[0])}–${clock(s.work[1])}${s.speed === 1 ? '' : ` at ${s.speed}×`} (${s.frames} frames, ${s.distance} bits, ${s.strength})`).join('; ');
        io.out(`  ${m.strength === 'match' ? 'contains' : 'may contain (review)'} "${m.work.title}" (work ${m.work.id.slice(0, 12)}…, owner ${m.work.owner.slice(0, 12)}…): ${where}; as ${m.use}: ${m.verdict}`);
      }
      for (const t of answer.titles) io.out(`  names "${t.title}" (work ${t.work.id.slice(0, 12)}…)${t.fingerprintAgrees ? ', as its fingerprints do' : ' (review: a title alone is weak evidence)'}`);
    }
    return EXIT_FOR[answer.verdict];
  },
};

function describe(a: CheckAnswer, use: string, territory: string): string {
  const work = a.works[0] ?? a.matches.find((m) => m.strength === 'match')?.work;
  if (!a.works.length && work) {
    const m = a.matches.find((x) => x.strength === 'match');
    return `${a.verdict}: the upload contains parts of ${a.matches.filter((x) => x.strength === 'match').length} registered work(s); ${m?.verdict === 'licensed' || m?.verdict === 'owner' ? 'the uploader may use them' : `uploader may not use "${work.title}" as ${m?.use}`}`;
  }
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
