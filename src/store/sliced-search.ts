/**
 * A fingerprint search that never holds the event loop for long: the query frames are
 * searched a few at a time, yielding between slices of at most `sliceMs`, first the probe of
 * every frame, then (rules below chunk radius 2) each work it may search whole, against the
 * frames a few at a time again. The result is exactly the index's `probe` of all the frames
 * at once (its caps compose), so a search made this way decides as a synchronous one would.
 * Reading the hits into segments is sliced alike, a few works a turn.
 */
import { readMatches } from '../core/check.js';
import { hitsByWork, rankMatches, workMatch, type WorkMatch } from '../core/segments.js';
import { capHits, probeHits, wholeWorks, type FrameHit, type MatchingRules, type Probe, type QueryFrame, type SimilarityIndex } from '../core/similarity.js';

export interface SlicedSearch {
  /** query frames [from, from + n) */
  frames(from: number, n: number): QueryFrame[];
  count: number;
  rules: MatchingRules;
  /** candidates examined per query hash (see SimilarityIndex.near); none for a search the rules replay */
  budget?: number;
  sliceMs: number;
}

/** Resolves on the event loop's next turn, after the I/O waiting now: what a long piece of work yields to. */
export const nextTurn = (): Promise<void> => new Promise((resume) => setImmediate(resume));

/** Query frames a step takes: a step against the works searched whole (≤ 32 of ≤ 720 frames) stays well inside a slice. */
const STEP = 2;

/** `index.probe` of the query, in slices. */
export async function probeInSlices(index: SimilarityIndex, s: SlicedSearch): Promise<Probe> {
  const inSlices = async (step: (frames: QueryFrame[]) => void) => {
    let next = 0;
    while (next < s.count) {
      const started = performance.now();
      // At least one step a slice, however short the slice.
      do {
        step(s.frames(next, STEP));
        next += STEP;
      } while (next < s.count && performance.now() - started < s.sliceMs);
      if (next < s.count) await nextTurn();
    }
  };
  // Capped as they come, once twice the cap has come in: no cap sorts much more than it
  // keeps, and a full list is not sorted again at every step (capping at each step past
  // the cap made the largest check take 20 s, not half a second).
  const add = (list: FrameHit[], more: readonly FrameHit[]) => {
    for (const h of more) list.push(h);
    return list.length > 2 * s.rules.perRequest ? capHits(list, s.rules) : list;
  };
  const seeds = new Map<number, number>();
  let hits: FrameHit[] = [];
  await inSlices((frames) => (hits = add(hits, index.hits(frames, { rules: s.rules, seeds, ...(s.budget === undefined ? {} : { budget: s.budget }) }))));
  const whole = index.wholeOf(wholeWorks(seeds, s.rules));
  const found = new Map<number, FrameHit[]>(whole.works.map((w) => [w, []]));
  // With no work to search whole, not even the steps are taken.
  if (whole.works.length > 0) await inSlices((frames) => {
    for (const [w, more] of index.extension(whole, frames, s.rules)) found.set(w, add(found.get(w) as FrameHit[], more));
  });
  for (const [w, list] of found) found.set(w, capHits(list, s.rules));
  return { hits: capHits(hits, s.rules), seeds, whole: found };
}

/** A search of one index in slices: `index.search` of the query. */
export async function searchInSlices(index: SimilarityIndex, s: SlicedSearch): Promise<FrameHit[]> {
  return probeHits([await probeInSlices(index, s)], s.rules);
}

/**
 * check.ts's readHits, yielding between works once a slice has taken `sliceMs`: a maximal
 * check's 4,096 hits spread over a dozen works took up to ~100 ms to read at once (each
 * work's fit is bounded: MAX_SEGMENTS lines × 25 slopes × 1,024 points). The same answer.
 */
export async function readHitsInSlices(hits: readonly FrameHit[], sliceMs: number): Promise<WorkMatch[]> {
  const matches: Array<WorkMatch & { workIndex: number }> = [];
  let started = performance.now();
  for (const all of hitsByWork(hits)) {
    if (performance.now() - started >= sliceMs) {
      await nextTurn();
      started = performance.now();
    }
    const match = workMatch(all);
    if (match) matches.push(match);
  }
  return readMatches(rankMatches(matches));
}
