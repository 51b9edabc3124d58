/**
 * The pre-publish check (DESIGN §8): may this uploader use this content this way, here, now?
 * One verdict, the works matched, the licence that allows the use if any, and why not.
 */
import type { LedgerView, LicenceRecord, WorkRecord } from './records.js';
import { segmentsOf, type Segment, type WorkMatch } from './segments.js';
import type { FrameHit } from './similarity.js';
import type { SoundMatch, SoundSegment } from './soundtrack.js';
import { awardAt } from './disputes.js';
import { licenceStanding } from './rules.js';
import { coversTerritory, coversUse } from './scope.js';

export type Verdict = 'unregistered' | 'owner' | 'licensed' | 'unlicensed' | 'contested';

/** A verdict that lets the uploader go ahead. */
export const positive = (verdict: string | undefined): boolean => verdict === 'owner' || verdict === 'licensed';
export type RefusalReason = 'no-licence' | 'revoked' | 'superseded' | 'parent-ended' | 'expired' | 'not-yet-valid' | 'wrong-use' | 'wrong-territory';

export interface CheckQuery {
  sha256: string;
  uploader: string;
  use: string;
  territory: string;
  at: number;
}

export interface CheckResult {
  verdict: Verdict;
  works: WorkRecord[];
  /** the licence that allows the use, for `licensed` */
  licence: LicenceRecord | null;
  /** for `unlicensed`: each licence the uploader holds on the work and why it does not allow the use */
  reasons: Array<{ licence: string | null; reason: RefusalReason }>;
}

export function checkUse(view: LedgerView, q: CheckQuery): CheckResult {
  return judge(view, q.sha256, q);
}

/** Who held title to `work` at `at`; undefined before it was registered. */
export function ownerAt(work: WorkRecord, at: number): string | undefined {
  let owner: string | undefined;
  for (const o of work.owners) if (o.from <= at) owner = o.party;
  return owner;
}

/**
 * Rulings followed from a content to the content it was ruled a copy of. Each names a work
 * not superseded when it is made, but a chain may grow after (A ruled a copy of B, then B of
 * C…): past this many, the content is judged contested, never by a work on the way.
 */
export const MAX_COPY_HOPS = 8;

/**
 * The verdict for a content as things stood at `q.at` (DESIGN §8): a work registered later
 * did not exist, a contest raised later was not raised, the owner is the one who held title
 * then, and only licences granted by then count, standing or not at `at`. Any later
 * registration of the content contests the first, so one registration decides: the one a
 * mediator's award gave title to, if an award stood at `at`, else the earliest. After an
 * award the content is judged as uncontested, until another party registers it again.
 */
export function judge(view: LedgerView, sha256: string, q: Omit<CheckQuery, 'sha256'>, hops = 0): CheckResult {
  const content = view.content(sha256);
  const award = awardAt(content, q.at);
  const decided = content ? view.work(award?.work ?? content.first) : undefined;
  // A content a mediator ruled a copy of a lookalike (an award naming a work of other content)
  // is judged as that work's content, contest and all, while the ruling stands unreopened.
  const reopened = award !== undefined && award.reopened !== null && award.reopened <= q.at;
  const copied = decided !== undefined && decided.sha256 !== sha256 && !reopened;
  if (copied && hops < MAX_COPY_HOPS) return judge(view, decided.sha256, q, hops + 1);
  const work = decided && decided.registeredAt <= q.at ? decided : undefined;
  const result = (verdict: Verdict, extra: Partial<CheckResult> = {}): CheckResult => ({ verdict, works: work ? [work] : [], licence: null, reasons: [], ...extra });
  if (!work) return result('unregistered');
  // (a chain of rulings longer than MAX_COPY_HOPS: its end was not reached, so nobody is owner)
  const contested = copied || (award ? reopened : work.contest !== null && work.contest.since <= q.at);
  if (contested) return result('contested');
  if (ownerAt(work, q.at) === q.uploader) return result('owner');

  const reasons: CheckResult['reasons'] = [];
  for (const id of view.licencesHeld(work.id, q.uploader)) {
    const licence = view.licence(id);
    if (!licence || licence.grantedAt > q.at) continue;
    const reason: RefusalReason | null =
      licenceStanding(view, licence, q.at) ??
      (!coversUse(licence, q.use) ? 'wrong-use' : !coversTerritory(licence, q.territory) ? 'wrong-territory' : null);
    if (reason === null) return result('licensed', { licence });
    reasons.push({ licence: licence.id, reason });
  }
  return result('unlicensed', { reasons: reasons.length > 0 ? reasons : [{ licence: null, reason: 'no-licence' }] });
}

/** A segment of the picture, found by the upload's frames or by its keypoint patches. */
export type PictureSegment = Segment & { by: 'frames' | 'patches' };

export interface MatchVerdict extends CheckResult {
  work: WorkRecord;
  segments: PictureSegment[];
  /** the stretches of the work's soundtrack the upload's sound matched */
  sound: SoundSegment[];
  strength: 'match' | 'review';
  /** the use the match implies (or the one asked about) */
  use: string;
}

/** A registration's frames are sampled a second apart, so a matched sample stands for the second after it. */
const SAMPLE_MS = 1000;

/**
 * What the implied use reads of a picture segment or a soundtrack stretch: where it is in the
 * upload and the work, and how strong (`frames` compared, the more the stronger; then
 * `distance`, the less the closer).
 */
export interface Excerpt {
  upload: readonly [number, number];
  work: readonly [number, number];
  frames: number;
  distance: number;
}

/** A soundtrack stretch as an excerpt: its values are its frames, its bit error rate its distance. */
const soundExcerpt = (s: SoundSegment): Excerpt => ({ upload: s.upload, work: s.work, frames: s.values, distance: s.ber });

/** The length of the union of ranges, ms. */
function unionLength(ranges: ReadonlyArray<readonly [number, number]>): number {
  let total = 0;
  let end = -Infinity;
  for (const [from, to] of [...ranges].sort((a, b) => a[0] - b[0])) {
    if (to <= end) continue;
    total += to - Math.max(from, end);
    end = to;
  }
  return total;
}

/**
 * The use a match implies: segments of several works make a compilation; three or more
 * excerpts of one work, one after another in the upload, a recap ("a film in N minutes");
 * most of one work, a re-upload (publish); a part of one work, a clip. Segments that
 * overlap in upload time are one stretch of the upload: a zooming or slowly changing film
 * also looks like its own nearby frames, and such echoes matched one stretch to several
 * places, which read as a recap. Stretches that carry on in the work are one excerpt.
 * Coverage counts the work's sampled seconds that the strongest segment of each stretch
 * matched (a segment's last sample covers the second after it), each once.
 */
export function impliedUse(matchedWorks: number, segments: readonly Excerpt[], workDurationMs: number): string {
  if (matchedWorks > 1) return 'compilation';
  // Segments overlapping in upload time are echoes of one stretch of the upload: what that
  // stretch shows of the work is the strongest one's range (echoes of a slowly changing film
  // spread over its other seconds and made a 10-second clip of a 20-second film read as all
  // of it).
  const stretches: Excerpt[] = [];
  let end = -Infinity;
  for (const s of [...segments].sort((a, b) => a.upload[0] - b.upload[0])) {
    const last = stretches[stretches.length - 1];
    if (last === undefined || s.upload[0] > end) stretches.push(s);
    else if (s.frames > last.frames || (s.frames === last.frames && s.distance < last.distance)) stretches[stretches.length - 1] = s;
    end = Math.max(end, s.upload[1]);
  }
  // A stretch that starts in the work where the one before it was (within two samples)
  // carries on the same excerpt: a clip of slow footage sampled once a second splits into
  // pieces (its upload frames pile up on each registered second), while a recap's excerpts
  // jump in the work.
  let excerpts = 0;
  stretches.forEach((s, i) => {
    const before = stretches[i - 1];
    if (before === undefined || s.work[0] < before.work[0] - 2 * SAMPLE_MS || s.work[0] > before.work[1] + 2 * SAMPLE_MS) excerpts++;
  });
  if (excerpts >= 3) return 'recap';
  const covered = unionLength(stretches.map((s) => [s.work[0], s.work[1] + SAMPLE_MS] as const));
  return workDurationMs > 0 && covered >= (workDurationMs + SAMPLE_MS) * 0.9 ? 'publish' : 'clip';
}

/** Works a check answers about, strongest first: each one costs a verdict and an evidence bundle. */
export const MAX_MATCHED_WORKS = 16;

/**
 * How close (bits) the upload must come to a work's one picture for a segment that rests on
 * it alone to be a `match` in a check: a near copy of a still stretch.
 */
export const STILL_MATCH_DISTANCE = 4;
/** How close (bits, on average) a segment of the fewest frames a match takes (3) must come to be one in a check. */
export const FEWEST_MATCH_DISTANCE = 7;

/**
 * A check's reading of a work's segments; check answers only (the contest rules read
 * segmentsOf as their version defines it). Each reading below is `review`, not `match`:
 * - a segment of a video whose every upload frame is closest to one and the same picture of
 *   the work (its work range is one instant) is one picture matched, however many upload
 *   frames repeat it: a picture-in-picture upload's still background, alike for eleven
 *   frames, came within 8 bits of one frame of an unrelated underwater film. It stays a
 *   match when the upload is a near copy of that picture (STILL_MATCH_DISTANCE);
 * - a segment of three frames, the fewest a match takes, farther than FEWEST_MATCH_DISTANCE:
 *   an off-centre crop of the 1906 race came within 8 bits of three frames of a hand-held
 *   cup. On the evaluation's kept answers (`npm run evaluate -- --answers`, real footage
 *   and generated) this reading named no other film and cost two of 217 finds, both of
 *   three frames at 7.7–8 bits.
 */
export function readForCheck(m: WorkMatch): WorkMatch {
  if (m.workDurationMs === 0) return m;
  const weak = (s: Segment) => (s.work[0] === s.work[1] && s.distance > STILL_MATCH_DISTANCE) || (s.frames <= 3 && s.distance > FEWEST_MATCH_DISTANCE);
  const segments = m.segments.map((s): Segment => (s.strength === 'match' && weak(s) ? { ...s, strength: 'review' } : s));
  return { ...m, segments, strength: segments.some((s) => s.strength === 'match') ? 'match' : 'review' };
}

/**
 * What the implied use is read from: the picture's segments, else the soundtrack's stretches;
 * of either, only those of `match` strength when there are any. A review-strength segment is
 * not evidence enough to be an excerpt: in smooth or zooming footage such echoes at other
 * places of the work made three clips of the generated evaluation set read as recaps.
 */
function excerptsOf(m: { segments: readonly Segment[]; sound: readonly SoundSegment[] }): Excerpt[] {
  const found = m.segments.length > 0 ? m.segments.map((s) => ({ excerpt: s as Excerpt, strength: s.strength })) : m.sound.map((s) => ({ excerpt: soundExcerpt(s), strength: s.strength }));
  const strong = found.filter((f) => f.strength === 'match');
  return (strong.length > 0 ? strong : found).map((f) => f.excerpt);
}

/**
 * What the picture found of each work, one entry a work: the frames' segments, or the
 * keypoint patches' (keypoints.ts) where they are a match and the frames' are not. Each is
 * read apart and never mixed: a patch is a crop, which a zooming film's later frames also
 * are, so patch hits beside a clip's frame hits put it at the wrong offset. Patches found
 * only at review strength are not reported: on both evaluation sets (`npm run evaluate`),
 * 15 of the 17 works so found were other films than the upload's, and a review is evidence
 * enough to block an upload of a protected work. In the frames' order (strongest first),
 * then the works only the patches found, in theirs.
 */
function pictureOf(frames: readonly WorkMatch[], patches: readonly WorkMatch[]): Array<WorkMatch & { segments: PictureSegment[] }> {
  const by = (m: WorkMatch, found: PictureSegment['by']) => ({ ...m, segments: m.segments.map((s) => ({ ...s, by: found })) });
  const patchOf = new Map(patches.map((p) => [p.work, p]));
  const fromFrames = frames.map((f) => {
    const p = patchOf.get(f.work);
    return f.strength !== 'match' && p?.strength === 'match' ? by(p, 'patches') : by(f, 'frames');
  });
  const seen = new Set(frames.map((f) => f.work));
  return [...fromFrames, ...patches.filter((p) => !seen.has(p.work) && p.strength === 'match').map((p) => by(p, 'patches'))];
}

/**
 * The works found by picture and by soundtrack, one entry a work, strongest first. Two
 * independent signals that agree are a match where either alone is a review: a work the
 * picture found only at review strength is a match when its soundtrack matched a stretch of
 * the upload overlapping one of the picture's segments. A work found by its soundtrack alone
 * is as strong as that match (a crop or a picture-in-picture leaves the sound untouched;
 * the thresholds in soundtrack.ts keep unrelated sound out).
 */
function combine(pictures: ReadonlyArray<WorkMatch & { segments: PictureSegment[] }>, sounds: readonly SoundMatch[]): Array<WorkMatch & { segments: PictureSegment[]; sound: SoundSegment[] }> {
  const soundOf = new Map(sounds.map((s) => [s.work, s]));
  const overlaps = (a: Excerpt, b: Excerpt) => a.upload[0] <= b.upload[1] && b.upload[0] <= a.upload[1];
  const both = pictures.map((p) => {
    const s = soundOf.get(p.work);
    const agree = s !== undefined && s.segments.some((a) => p.segments.some((b) => overlaps(soundExcerpt(a), b)));
    return { ...p, sound: s?.segments ?? [], strength: p.strength === 'match' || s?.strength === 'match' || agree ? ('match' as const) : ('review' as const) };
  });
  const seen = new Set(pictures.map((p) => p.work));
  const soundOnly = sounds.filter((s) => !seen.has(s.work)).map((s) => ({ work: s.work, workDurationMs: s.workDurationMs, segments: [], sound: s.segments, strength: s.strength }));
  // Stable: within a strength, the picture's order (its strongest first), then the sound's.
  return [...both, ...soundOnly].sort((a, b) => Number(a.strength !== 'match') - Number(b.strength !== 'match'));
}

/** What a check found of an upload, searched by the caller (so a long search can run in slices). */
export interface Findings {
  /** the hits of the upload's frames (whole, regions, inner pictures) among registered frames */
  frames: readonly FrameHit[];
  /** the hits of its keypoint patches among registered patches */
  patches?: readonly FrameHit[];
  /** what its soundtrack matched */
  sounds?: readonly SoundMatch[];
}

/**
 * The pre-publish check by fingerprints: from what the upload's picture and soundtrack
 * found, the works found, where, and the licence verdict for each under the use the match
 * implies (or `q.use` when given), for at most MAX_MATCHED_WORKS works. The overall verdict counts only
 * `match`-strength works: unlicensed if any is, else contested if any is, else owner if all
 * are the uploader's, else licensed; unregistered if none.
 */
export function checkFrames(view: LedgerView, findings: Findings, q: Omit<CheckQuery, 'sha256' | 'use'> & { use?: string }): { verdict: Verdict; matches: MatchVerdict[] } {
  return judgeFindings(view, { frames: readHits(findings.frames), patches: readHits(findings.patches ?? []), sounds: findings.sounds ?? [] }, q);
}

/**
 * The works hits of one kind (frames, or patches) found, strongest first, their segments as
 * a check reads them. Reading the most hits a check keeps takes up to ~100 ms, so a server
 * reads them a few works a turn (store/sliced-search.ts's readHitsInSlices, through `readMatches`).
 */
export function readHits(hits: readonly FrameHit[]): WorkMatch[] {
  return readMatches(segmentsOf(hits));
}

/** Ranked works' matches (segments.ts's rankMatches) as a check reads them: the strongest MAX_MATCHED_WORKS. */
export function readMatches(ranked: readonly WorkMatch[]): WorkMatch[] {
  return ranked.slice(0, MAX_MATCHED_WORKS).map(readForCheck);
}

/** Findings whose picture hits were read already (readHits). */
export interface ReadFindings {
  frames: readonly WorkMatch[];
  patches: readonly WorkMatch[];
  sounds: readonly SoundMatch[];
}

/** checkFrames, from findings read already. */
export function judgeFindings(view: LedgerView, read: ReadFindings, q: Omit<CheckQuery, 'sha256' | 'use'> & { use?: string }): { verdict: Verdict; matches: MatchVerdict[] } {
  const matches = worksFound(view, read, q.use).map((m): MatchVerdict => ({ ...judge(view, m.work.sha256, { ...q, use: m.use }), ...m }));
  return { verdict: overallVerdict(matches), matches };
}

/** A work findings found, with what was found of it and the use that implies, before its verdict. */
export type WorkFound = Omit<MatchVerdict, keyof CheckResult>;

/**
 * The works findings found (at most MAX_MATCHED_WORKS, strongest first), each with the use
 * asked about, or else the one the match implies. A server judges each on the state of the
 * store its evidence is read on (store/evidence.ts forMatch), not on `view`.
 */
export function worksFound(view: LedgerView, read: ReadFindings, use?: string): WorkFound[] {
  const found = combine(pictureOf(read.frames, read.patches), read.sounds).slice(0, MAX_MATCHED_WORKS);
  const strong = found.filter((m) => m.strength === 'match').length;
  return found.flatMap((m) => {
    const work = view.work(m.work);
    return work ? [{ work, segments: m.segments, sound: m.sound, strength: m.strength, use: use ?? impliedUse(strong, excerptsOf(m), m.workDurationMs) }] : [];
  });
}

/** A check's verdict from its works' verdicts, as checkFrames states it. */
export function overallVerdict(matches: ReadonlyArray<{ strength: MatchVerdict['strength']; verdict: Verdict }>): Verdict {
  const verdicts = matches.filter((m) => m.strength === 'match').map((m) => m.verdict);
  return verdicts.length === 0
    ? 'unregistered'
    : verdicts.includes('unlicensed')
      ? 'unlicensed'
      : verdicts.includes('contested')
        ? 'contested'
        : verdicts.every((v) => v === 'owner')
          ? 'owner'
          : 'licensed';
}
