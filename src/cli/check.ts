import { stat } from 'node:fs/promises';
import { fromBase64, toBase64, toHex } from '../core/bytes.js';
import { decodeCbor } from '../core/cbor.js';
import { MAX_PAYLOAD_BYTES, signStatement } from '../core/cose.js';
import type { Receipt } from '../core/receipt.js';
import { payloadShape } from '../core/statements.js';
import { encodeFrames, FINGERPRINT_KIND } from '../core/fingerprint.js';
import { encodeValues, SOUND_KIND } from '../core/soundtrack.js';
import { fingerprintOrNote, probeMedia, soundOf } from './media.js';
import { positive, type Verdict } from '../core/check.js';
import { CartularyError } from '../core/errors.js';
import { verifyBundle, type VerifyOptions } from '../verify/verify-bundle.js';
import { aboutCheck, client, dateArg, instant, partyArg, partyLabel, serverOption, signingKey, territoriesArg, usesArg, type LedgerClient } from './client.js';
import { str, UsageError, type Command } from './command.js';
import { hashFile } from './hash-file.js';
import { ledgerKeyArg, originOf } from './ledger-key.js';
import { profileNames, segmentText, titleStatusText, type TitleState } from '../verify/timeline.js';
import { certificateFile, certifiedLine, certifyCheck } from './certificate.js';

const EXIT_FOR: Record<Verdict, number> = { owner: 0, licensed: 0, unlicensed: 1, contested: 1, unregistered: 2 };

interface CheckAnswer {
  verdict: Verdict;
  protected: Array<{ work: string; title: string; until: number }>;
  works: Array<TitleState & { owner: string; title: string }>;
  licence: { id: string; uses: string[]; territories: string[] } | null;
  reasons: Array<{ licence: string | null; reason: string }>;
  evidence: unknown;
  sighting: { payload: Record<string, unknown>; cbor: string } | null;
  matches: Array<{
    work: { id: string; owner: string; title: string };
    segments: Array<{ upload: [number, number]; work: [number, number]; speed: number; frames: number; distance: number; strength: string; by: 'frames' | 'patches' }>;
    sound: Array<{ upload: [number, number]; work: [number, number]; ber: number; values: number; strength: string }>;
    strength: string;
    use: string;
    verdict: Verdict;
    licence: { id: string } | null;
    reasons: Array<{ licence: string | null; reason: string }>;
    evidence: unknown;
  }>;
  titles: Array<{ work: { id: string; title: string }; title: string; via: string; fingerprintAgrees: boolean }>;
}

export const check: Command = {
  name: 'check',
  summary: 'pre-publish check: may UPLOADER use this content this way, here, now? (exit 0 yes, 1 no, 2 unregistered)',
  usage:
    'cartulary check FILE|SHA256 --uploader PARTY [--use U] --territory T [--title T] [--description D] [--at DATE] [--ledger-key VKEY|FILE] [--report REF --key PLATFORM] [--no-fingerprint] [--certificate FILE.html|.pdf] [--json] [--server URL]\n' +
    '  --at: an instant (UTC unless a zone is given); default now. The verdict says which instant it judged.',
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
    certificate: { type: 'string' },
    report: { type: 'string' },
    key: { type: 'string' },
    title: { type: 'string' },
    description: { type: 'string' },
  },
  async run(v, [target], io) {
    // Everything the command line can get wrong is refused before the file is read: a long film takes minutes to fingerprint.
    if (!target) throw new UsageError('FILE or SHA256 is required');
    const [territory, ...more] = territoriesArg(v.territory, '--territory');
    if (!territory || more.length) throw new UsageError('--territory T is required: the one territory the upload is published in (FR, DE, … or * for everywhere)');
    const [use, ...uses] = usesArg(v.use, '--use');
    if (uses.length) throw new UsageError('--use takes one use: the one the upload would make');
    const uploader = await partyArg(str(v.uploader), v, '--uploader');
    const at = dateArg(str(v.at), '--at', 'instant');
    const api = client(v);
    const certificate = v.certificate === undefined ? undefined : certificateFile(str(v.certificate), '--certificate');
    // A platform reporting what it found signs the sighting itself: its key is needed before asking.
    const platform = str(v.report) === undefined ? null : await signingKey(v);
    const isFile = await stat(target).then((s) => s.isFile(), () => false);
    const sha256 = isFile || !/^[0-9a-f]{64}$/.test(target) ? toHex((await hashFile(target, io)).sha256) : target;
    const probed = isFile && !v['no-fingerprint'] ? await probeMedia(target, str(v['media-type']), 'check', io) : null;
    const print = probed?.kind ? await fingerprintOrNote(target, probed.kind, 'check', io) : null;
    const sound = probed?.sound ? await soundOf(target, 'check', io) : null;
    const fingerprinted = Boolean(print && print.frames.length) || sound !== null;
    const query = {
      sha256,
      ...(print && print.frames.length ? { fingerprints: { kind: FINGERPRINT_KIND, frames: toBase64(encodeFrames(print.frames)), mirrored: toBase64(encodeFrames(print.mirrored)), ...(print.patches.length ? { patches: toBase64(encodeFrames(print.patches)) } : {}) } } : {}),
      ...(sound ? { sound: { kind: SOUND_KIND, values: toBase64(encodeValues(sound)) } } : {}),
      ...(str(v.title) ? { title: str(v.title) } : {}),
      ...(str(v.description) ? { description: str(v.description) } : {}),
      uploader,
      // Without fingerprints (not media, or nothing but flat frames) the check is by SHA-256 alone, which needs a use.
      ...(use ? { use } : fingerprinted ? {} : { use: 'publish' }),
      territory,
      ...(at !== undefined ? { at } : {}),
      ...(str(v.report) !== undefined ? { report: str(v.report) } : {}),
    };
    const asked = Date.now();
    const answer = await api.postJson<CheckAnswer>('/v1/check', query);
    const judgedAt = at ?? asked;
    const vkey = str(v['ledger-key']);
    if (vkey) {
      // Evidence proves something only about the question it answers: each bundle must be
      // about this very check (or the work matched), and its replay must give the verdict the
      // server states. A server can leave a match out (its search is not provable offline), not
      // make one say what the ledger does not.
      const lie = (detail: string) => new CartularyError('verification-failed', `${detail}: not believed`);
      const check = async (bundle: unknown, what: string, opts: VerifyOptions) => {
        if (!bundle) throw lie(`the server gave no evidence for ${what}`);
        const result = verifyBundle(bundle, await ledgerKeyArg(vkey, originOf(bundle)), opts);
        if (!result.ok) throw lie(`the server's evidence for ${what} does not verify: ${result.failure?.code}: ${result.failure?.detail}`);
        return result;
      };
      let judged = at ?? asked;
      let exact: string | undefined;
      if (answer.evidence) {
        exact = (await check(answer.evidence, 'the verdict', aboutCheck({ sha256, uploader, use, territory, at }, asked))).verdict;
        // A protection window only ever turns an answer into unlicensed (docs/format.md §14), and
        // another work inside the file that the uploader may not use turns a yes into its answer
        // (that work's own evidence is verified below).
        const protectedNo = answer.verdict === 'unlicensed' && answer.protected.length > 0;
        const barred = positive(exact) && barredBy(answer) !== undefined;
        if (exact !== answer.verdict && !protectedNo && !barred) throw lie(`the server says ${answer.verdict}, its evidence says ${exact}`);
        judged = (answer.evidence as { subject: { check: { at: number } } }).subject.check.at;
      }
      for (const m of answer.matches) {
        const replayed = await check(m.evidence, `work ${m.work.id}`, { about: { work: m.work.id }, question: { uploader, use: m.use, territory, at: judged } });
        if (replayed.verdict !== m.verdict) throw lie(`the server says ${m.verdict} for "${m.work.title}" as ${m.use}, its evidence says ${replayed.verdict}`);
      }
      // A yes stands on the check's own evidence, or, with none, on every work matched at
      // match strength (at least one) being the uploader's to use, each verified above.
      if (positive(answer.verdict)) {
        const strong = answer.matches.filter((m) => m.strength === 'match');
        const byFrames = exact === undefined && strong.length > 0 && strong.every((m) => positive(m.verdict));
        if (exact !== answer.verdict && !byFrames) throw lie(`the server says ${answer.verdict} with no evidence that gives it`);
      }
    }
    const verified = vkey && (answer.evidence || answer.matches.length) ? ' [evidence verified offline]' : '';
    const sighting = platform && answer.sighting ? await reportSighting(api, answer, str(v.report) as string, platform) : null;
    // The server judges at `at`, or at its own clock when none is given: `judgedAt` is this
    // client's reading of that clock, exact whenever --at was given.
    if (v.json) io.out(JSON.stringify({ ...answer, at: judgedAt, evidenceVerified: Boolean(verified), ...(sighting ? { sightingReceipt: sighting } : {}) }, null, 2));
    else {
      const names = await profileNames([...answer.works.map((w) => w.owner), ...answer.matches.map((m) => m.work.owner)], (path) => api.get(path));
      io.out(describe(answer, use ?? answer.matches[0]?.use ?? 'publish', territory, names) + verified);
      for (const m of answer.matches) {
        const where = [
          ...m.segments.map((s) => `${segmentText(s)} (${s.frames} ${s.by === 'patches' ? 'frames by keypoint patches' : 'frames'}, ${s.distance} bits, ${s.strength})`),
          ...m.sound.map((s) => `soundtrack ${segmentText(s)} (bit error rate ${s.ber}, ${s.strength})`),
        ].join('; ');
        io.out(`  ${m.strength === 'match' ? 'contains' : 'may contain (review)'} "${m.work.title}" (work ${m.work.id.slice(0, 12)}…, owner ${partyLabel(m.work.owner, names)}): ${where}; as ${m.use}: ${m.verdict}`);
      }
      io.out(`  judged at ${at === undefined ? `the ledger's present (about ${new Date(judgedAt).toISOString()})` : instant(at)}`);
      for (const t of answer.titles) io.out(`  names "${t.title}" (work ${t.work.id.slice(0, 12)}…)${t.fingerprintAgrees ? ', as its fingerprints do' : ' (review: a title alone is weak evidence)'}`);
    }
    if (certificate && answer.verdict !== 'unregistered') {
      // With --json, stdout holds the one JSON answer; the certificate's line goes to stderr.
      const line = certifiedLine(await certifyCheck(answer, query, certificate, v, io));
      if (v.json) io.err(line);
      else io.out(line);
    }
    if (sighting && !v.json) io.out(`sighting recorded: entry #${sighting.index} (id ${sighting.id})`);
    return EXIT_FOR[answer.verdict];
  },
};

/**
 * Signs and submits the sighting the server prepared, after checking it says what was asked:
 * the platform's own reference, and a work of this answer.
 */
async function reportSighting(api: LedgerClient, answer: CheckAnswer, reference: string, platform: Awaited<ReturnType<typeof signingKey>>): Promise<Receipt> {
  const payload = payloadShape(decodeCbor(fromBase64(answer.sighting?.cbor ?? '', 'sighting.cbor'), { maxBytes: MAX_PAYLOAD_BYTES }, 'sighting') as Record<string, unknown>);
  const works = new Set([...answer.works, ...answer.matches.map((m) => m.work)].map((w) => w.id));
  if (payload.type !== 'sighting' || payload.reference !== reference || !works.has(toHex(payload.work))) {
    throw new CartularyError('verification-failed', 'the sighting the server prepared is not about this check; not signing it');
  }
  return (await api.submit(signStatement(payload, platform))).receipt;
}

/** The work inside the file, other than the file's own, whose verdict the answer took: a match-strength match with that verdict. */
function barredBy(a: CheckAnswer): CheckAnswer['matches'][number] | undefined {
  return a.matches.find((m) => m.strength === 'match' && m.verdict === a.verdict && !a.works.some((w) => w.id === m.work.id));
}

function describe(a: CheckAnswer, use: string, territory: string, names: Map<string, string>): string {
  const shielded = a.protected[0];
  if (shielded) return `unlicensed: "${shielded.title}" (work ${shielded.work.slice(0, 12)}…) is under its owner's protection until ${new Date(shielded.until).toISOString()}, and the uploader holds no licence of it`;
  const work = a.works[0] ?? a.matches.find((m) => m.strength === 'match')?.work;
  // The file is a work the uploader may use, but another work inside it is not (the exact
  // work's own verdict is the one its evidence claims).
  const exactVerdict = (a.evidence as { claims?: { verdict?: string } } | null)?.claims?.verdict;
  const barred = a.works[0] && positive(exactVerdict) && !positive(a.verdict) ? barredBy(a) : undefined;
  if (a.works[0] && barred) {
    return `${a.verdict}: the file is work ${a.works[0].id} ("${a.works[0].title}"), which the uploader may use (${exactVerdict}), but it contains parts of "${barred.work.title}" (work ${barred.work.id.slice(0, 12)}…), which the uploader may not use as ${barred.use}`;
  }
  if (!a.works.length && work) {
    const strong = a.matches.filter((x) => x.strength === 'match');
    // The work that keeps the uploader out, when one does: the first that may not be used.
    const barred = strong.find((x) => !positive(x.verdict));
    const found = strong.length;
    return `${a.verdict}: the upload contains parts of ${found === 1 ? 'a registered work' : `${found} registered works`}; ${barred ? `the uploader may not use "${barred.work.title}" as ${barred.use}` : `the uploader may use ${found === 1 ? 'it' : 'them'}`}`;
  }
  switch (a.verdict) {
    case 'unregistered':
      return 'unregistered: no work in the ledger has this content';
    case 'owner':
      return `owner: the uploader owns work ${work?.id} ("${work?.title}")`;
    case 'licensed':
      return `licensed: licence ${a.licence?.id} allows ${use} in ${territory} of work ${work?.id} ("${work?.title}")`;
    case 'contested': {
      const decided = a.works[0];
      return `contested: work ${work?.id} ("${work?.title}"), owned by ${work ? partyLabel(work.owner, names, true) : '?'}, is ${decided ? titleStatusText(decided, (ms) => new Date(ms).toISOString()) : 'contested'}; do not publish without review until a mediator decides`;
    }
    case 'unlicensed':
      return `unlicensed: work ${work?.id} ("${work?.title}") is owned by ${work ? partyLabel(work.owner, names, true) : ''}; ${a.reasons.map((r) => (r.licence ? `licence ${r.licence.slice(0, 12)}…: ${r.reason}` : 'the uploader holds no licence')).join('; ')}`;
  }
}
