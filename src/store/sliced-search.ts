/**
 * A fingerprint search that never holds the event loop for long: the query frames are
 * searched a few at a time, yielding between slices of at most `sliceMs`. The result is
 * exactly the index's `hits` for all the frames at once (its caps compose), so a search
 * made this way decides as a synchronous one would.
 */
import { capHits, type FrameHit, type MatchingRules, type QueryFrame, type SimilarityIndex } from '../core/similarity.js';

export interface SlicedSearch {
  /** query frames [from, from + n) */
  frames(from: number, n: number): QueryFrame[];
  count: number;
  rules: MatchingRules;
  /** candidates examined per query hash (see SimilarityIndex.near); none for a search the rules replay */
  budget?: number;
  sliceMs: number;
}

export async function searchInSlices(index: SimilarityIndex, s: SlicedSearch): Promise<FrameHit[]> {
  let hits: FrameHit[] = [];
  let next = 0;
  while (next < s.count) {
    const started = performance.now();
    while (next < s.count && performance.now() - started < s.sliceMs) {
      for (const h of index.hits(s.frames(next, 2), { rules: s.rules, ...(s.budget === undefined ? {} : { budget: s.budget }) })) hits.push(h);
      next += 2;
    }
    // Capped as they come, so no cap ever sorts much more than it keeps.
    if (hits.length > s.rules.perRequest) hits = capHits(hits, s.rules);
    if (next < s.count) await new Promise((resume) => setImmediate(resume));
  }
  return capHits(hits, s.rules);
}
