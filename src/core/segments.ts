/**
 * Turning frame hits into matched segments ("upload 00:00–00:08 ↔ work 00:12–00:20, at
 * 1.25×"): the evidence a check reports and the rules count.
 *
 * Hits of one work are points (upload time q, work time w). A piece of the work played at a
 * steady speed s lies on a line w = s·q + b; speed changes of 0.5× to 2× are what re-uploads
 * use, so lines are fitted over that range, not binned by offset (a sped-up clip used to
 * split into several offsets and be judged a recap; issue 13.2). The fit is a vote: each
 * point votes, for every slope of a fixed ladder, for the intercept its line would have; the
 * strongest (slope, intercept) takes its points, and the search repeats on what is left.
 * Work frames are sampled a second apart (a check's at 4 per second), so an intercept bin is
 * a second wide and its neighbours count with it.
 */
import { compareHits, type FrameHit } from './similarity.js';

/** Frames at most this far apart count towards a `match`; further ones only towards `review`. */
export const MATCH_DISTANCE = 8;
/** The speeds a segment may have, work time per upload time. */
export const MIN_SPEED = 0.5;
export const MAX_SPEED = 2;
// 25 slopes, 6 % apart: over a 20 s excerpt a 3 % error drifts 600 ms, inside one bin.
const SLOPES = Array.from({ length: 25 }, (_, k) => MIN_SPEED * (MAX_SPEED / MIN_SPEED) ** (k / 24));
const ONE = SLOPES.reduce((best, s, k) => (Math.abs(Math.log(s)) < Math.abs(Math.log(SLOPES[best] as number)) ? k : best), 0);
const BIN_MS = 1000;
/** Points this far (work ms) from a fitted line still lie on it. */
const TOLERANCE_MS = 1500;
/** Upload time without a point that splits a line into two segments. */
const GAP_MS = 5000;
/** A jump of the work between consecutive upload frames beyond the line's: a cut (work samples are 1 s apart, so less is jitter). */
const JUMP_MS = 1800;
/** Lines (and so segments) fitted per work: a recap of more excerpts is still a recap. */
const MAX_SEGMENTS = 32;
/** Hits of one work taken into the fit, the closest first: bounds its cost (SLOPES × points × lines). Below 2,048 (LineVotes). */
const MAX_POINTS = 1024;

export interface Segment {
  /** the upload's time range, ms */
  upload: [number, number];
  /** the matched work's time range, ms */
  work: [number, number];
  /** work time per upload time: 1 for a clip at its speed, 1.25 for one sped up by a quarter */
  speed: number;
  frames: number;
  distance: number;
  strength: 'match' | 'review';
}

export interface WorkMatch {
  work: string;
  workDurationMs: number;
  segments: Segment[];
  strength: 'match' | 'review';
}

/**
 * Groups frame hits into segments of each work, strongest work first. Only each upload
 * frame's closest hits in a work take part, and a segment whose upload range mostly lies
 * inside a stronger one of the same work is dropped: in continuously changing video a frame
 * is also near the samples a second either side, and those echoes are not segments of their
 * own. A segment is a `match` with at least 3 distinct upload frames (1 for an image) at a
 * mean distance within MATCH_DISTANCE, a `review` with at least 2; anything less is noise.
 * Deterministic: the hits are sorted first and every tie is broken, so neither their order
 * nor an index's fill order changes the result (issue 10.9).
 */
export function segmentsOf(hits: readonly FrameHit[]): WorkMatch[] {
  return rankMatches(hitsByWork(hits).flatMap((all) => workMatch(all) ?? []));
}

/** Hits by work, each work's in compareHits order (closest first): what `workMatch` takes. */
export function hitsByWork(hits: readonly FrameHit[]): FrameHit[][] {
  // Never spread a list into arguments (push(...x), Math.min(...x)): a long one overflows
  // the stack (issue 10.3).
  const byWork = new Map<string, FrameHit[]>();
  for (const h of [...hits].sort(compareHits)) {
    const list = byWork.get(h.work);
    if (list) list.push(h);
    else byWork.set(h.work, [h]);
  }
  return [...byWork.values()];
}

/** One work's segments from its hits (`hitsByWork`), or null when they make none. */
export function workMatch(all: readonly FrameHit[]): (WorkMatch & { workIndex: number }) | null {
  const first = all[0] as FrameHit;
  // An image is one frame: one close frame is the whole of it.
  const image = first.workDurationMs === 0;
  const segments = image ? imageSegment(all) : videoSegments(all);
  if (segments.length === 0) return null;
  return { work: first.work, workIndex: first.workIndex, workDurationMs: first.workDurationMs, segments, strength: segments.some((x) => x.strength === 'match') ? 'match' : 'review' };
}

/** Works' matches strongest first (most frames in segments), then the earliest registered. */
export function rankMatches(matches: ReadonlyArray<WorkMatch & { workIndex: number }>): WorkMatch[] {
  const weight = (m: WorkMatch) => m.segments.reduce((n, x) => n + x.frames, 0);
  return [...matches].sort((a, b) => weight(b) - weight(a) || a.workIndex - b.workIndex).map(({ workIndex: _, ...m }) => m);
}

function imageSegment(all: readonly FrameHit[]): Segment[] {
  const segment = segmentOf(all, 1, true);
  return segment ? [segment] : [];
}

function videoSegments(all: readonly FrameHit[]): Segment[] {
  const closest = new Map<number, number>();
  for (const h of all) closest.set(h.queryMs, Math.min(h.distance, closest.get(h.queryMs) ?? Infinity));
  // `all` is in compareHits order, closest first.
  const points = all.filter((h) => h.distance <= (closest.get(h.queryMs) as number) + 1).slice(0, MAX_POINTS);
  const votes = new LineVotes(points);
  const candidates: Segment[] = [];
  // Runs that do not move through the work (a fixed camera, a title card): one segment for
  // all of them, not a stray echo per line through them.
  const still: FrameHit[] = [];
  for (let n = 0; n < MAX_SEGMENTS && votes.left >= 2; n++) {
    const line = votes.strongest();
    if (!line) break;
    const inliers = votes.take((h) => Math.abs(h.workMs - (line.slope * h.queryMs + line.intercept)) <= TOLERANCE_MS);
    for (const run of runsOf(inliers, line.slope)) {
      const segment = segmentOf(run, line.slope, false);
      if (!segment) continue;
      // Half the slowest speed: work samples a second apart blur a short slow run's span.
      if (segment.work[1] - segment.work[0] < (MIN_SPEED / 2) * (segment.upload[1] - segment.upload[0])) for (const h of run) still.push(h);
      else candidates.push(segment);
    }
  }
  const stillSegment = segmentOf(still, 1, false);
  if (stillSegment) candidates.push({ ...stillSegment, speed: 1 });
  candidates.sort((a, b) => b.frames - a.frames || a.distance - b.distance || a.upload[0] - b.upload[0] || a.work[0] - b.work[0]);
  const segments: Segment[] = [];
  for (const c of candidates) {
    const span = Math.max(1, c.upload[1] - c.upload[0]);
    const echo = segments.some((s) => Math.min(s.upload[1], c.upload[1]) - Math.max(s.upload[0], c.upload[0]) > span / 2);
    if (!echo) segments.push(c);
  }
  return segments.sort((a, b) => a.upload[0] - b.upload[0] || a.work[0] - b.work[0]);
}

/**
 * Points voting for lines (see the module comment), as they are taken by one line after
 * another. Each point's intercept bin for every slope is worked out once and the votes are
 * kept as counts beside each slope's bins in order, so finding the next line reads counts
 * instead of hashing every point again for every slope: 32 lines over 1,024 points of one
 * work held the server's event loop ~70 ms at once when each recounted them in a Map.
 */
class LineVotes {
  private readonly points: readonly FrameHit[];
  // For slope k: its distinct bins ascending (bins[k]), their votes from points not yet taken
  // (counts[k]), and where each point's bin is among them (slots[k][i]).
  private readonly bins: Float64Array[] = [];
  private readonly counts: Int32Array[] = [];
  private readonly slots: Int32Array[] = [];
  private readonly taken: Uint8Array;
  private remaining: number;

  constructor(points: readonly FrameHit[]) {
    this.points = points;
    this.remaining = points.length;
    this.taken = new Uint8Array(points.length);
    // A bin and a point's number in one exactly representable number (points < 2,048), so
    // one typed-array sort orders them.
    const keyed = new Float64Array(points.length);
    for (const slope of SLOPES) {
      points.forEach((h, i) => (keyed[i] = Math.round((h.workMs - slope * h.queryMs) / BIN_MS) * 2048 + i));
      keyed.sort();
      const bins: number[] = [];
      const counts = new Int32Array(points.length);
      const slots = new Int32Array(points.length);
      for (const key of keyed) {
        const bin = Math.floor(key / 2048);
        if (bins[bins.length - 1] !== bin) bins.push(bin);
        counts[bins.length - 1] = (counts[bins.length - 1] as number) + 1;
        slots[key - bin * 2048] = bins.length - 1;
      }
      this.bins.push(Float64Array.from(bins));
      this.counts.push(counts.subarray(0, bins.length));
      this.slots.push(slots);
    }
  }

  /** Points not yet taken. */
  get left(): number {
    return this.remaining;
  }

  /**
   * The (slope, intercept) most points not yet taken agree on (a bin and its two
   * neighbours), or null when no line holds two. Ties go to the slope nearest 1, then the
   * lower slope, then the earliest intercept. Costs the slopes' bins.
   */
  strongest(): { slope: number; intercept: number } | null {
    let best = { votes: 0, k: 0, bin: 0 };
    for (let k = 0; k < SLOPES.length; k++) {
      const bins = this.bins[k] as Float64Array;
      const counts = this.counts[k] as Int32Array;
      for (let j = 0; j < bins.length; j++) {
        const own = counts[j] as number;
        if (own === 0) continue;
        const bin = bins[j] as number;
        const n = own + (j > 0 && bins[j - 1] === bin - 1 ? (counts[j - 1] as number) : 0) + (j + 1 < bins.length && bins[j + 1] === bin + 1 ? (counts[j + 1] as number) : 0);
        if (n < best.votes) continue;
        if (n === best.votes) {
          const d = Math.abs(k - ONE) - Math.abs(best.k - ONE);
          if (d > 0 || (d === 0 && (k > best.k || (k === best.k && bin >= best.bin)))) continue;
        }
        best = { votes: n, k, bin };
      }
    }
    return best.votes < 2 ? null : { slope: SLOPES[best.k] as number, intercept: best.bin * BIN_MS };
  }

  /** Takes the points not yet taken that `on` holds for, in their order; they vote no more. */
  take(on: (h: FrameHit) => boolean): FrameHit[] {
    const out: FrameHit[] = [];
    this.points.forEach((h, i) => {
      if (this.taken[i] || !on(h)) return;
      this.taken[i] = 1;
      this.remaining--;
      out.push(h);
      for (let k = 0; k < SLOPES.length; k++) {
        const counts = this.counts[k] as Int32Array;
        const slot = (this.slots[k] as Int32Array)[i] as number;
        counts[slot] = (counts[slot] as number) - 1;
      }
    });
    return out;
  }
}

/**
 * A line's points split where the upload goes GAP_MS without one, and at jump cuts: where
 * the work jumps between consecutive upload frames by more than the line allows. A steep
 * line can otherwise thread several excerpts of a recap, each played at its own speed.
 */
function runsOf(points: readonly FrameHit[], slope: number): FrameHit[][] {
  const sorted = [...points].sort((a, b) => a.queryMs - b.queryMs || compareHits(a, b));
  const runs: FrameHit[][] = [];
  let run: FrameHit[] = [];
  // the closest point of the previous upload frame, and of the current one so far
  let previous: FrameHit | undefined;
  let current: FrameHit | undefined;
  for (const h of sorted) {
    if (current && h.queryMs !== current.queryMs) {
      previous = current;
      current = undefined;
    }
    const gap = previous !== undefined && h.queryMs - previous.queryMs > GAP_MS;
    const cut = previous !== undefined && current === undefined && Math.abs(h.workMs - previous.workMs - slope * (h.queryMs - previous.queryMs)) > JUMP_MS;
    if (run.length && (gap || cut)) {
      runs.push(run);
      run = [];
    }
    if (!current) current = h;
    run.push(h);
  }
  if (run.length) runs.push(run);
  return runs;
}

/** One segment from hits of one work on one line: each upload frame's closest hit counts once. */
function segmentOf(group: readonly FrameHit[], slope: number, image: boolean): Segment | null {
  const perFrame = new Map<number, FrameHit>();
  for (const h of group) {
    const seen = perFrame.get(h.queryMs);
    if (!seen || compareHits(h, seen) < 0) perFrame.set(h.queryMs, h);
  }
  if (perFrame.size < (image ? 1 : 2)) return null;
  let sum = 0;
  const upload: [number, number] = [Infinity, -Infinity];
  const work: [number, number] = [Infinity, -Infinity];
  for (const h of perFrame.values()) {
    sum += h.distance;
    upload[0] = Math.min(upload[0], h.queryMs);
    upload[1] = Math.max(upload[1], h.queryMs);
    work[0] = Math.min(work[0], h.workMs);
    work[1] = Math.max(work[1], h.workMs);
  }
  const distance = sum / perFrame.size;
  return {
    upload,
    work,
    speed: image ? 1 : speedOf([...perFrame.values()], slope),
    frames: perFrame.size,
    distance: Math.round(distance * 10) / 10,
    strength: (image || perFrame.size >= 3) && distance <= MATCH_DISTANCE ? 'match' : 'review',
  };
}

/**
 * The segment's speed: a least-squares fit of work time on upload time when the segment is
 * long enough for one (work samples are a second apart), else the line's slope; within
 * [MIN_SPEED, MAX_SPEED], to two decimals.
 */
function speedOf(points: readonly FrameHit[], slope: number): number {
  let fitted = slope;
  const n = points.length;
  const meanQ = points.reduce((s, h) => s + h.queryMs, 0) / n;
  const meanW = points.reduce((s, h) => s + h.workMs, 0) / n;
  let sqq = 0;
  let sqw = 0;
  for (const h of points) {
    sqq += (h.queryMs - meanQ) ** 2;
    sqw += (h.queryMs - meanQ) * (h.workMs - meanW);
  }
  const span = points.reduce((m, h) => Math.max(m, h.queryMs), -Infinity) - points.reduce((m, h) => Math.min(m, h.queryMs), Infinity);
  if (span >= 4000 && sqq > 0) fitted = sqw / sqq;
  return Math.round(Math.min(MAX_SPEED, Math.max(MIN_SPEED, fitted)) * 100) / 100;
}
