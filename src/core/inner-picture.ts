/**
 * Finding a picture set inside other footage (picture-in-picture, issue 13.1) from how a
 * run of frames looks over time: the inner picture's outline is a step between two
 * unrelated pictures, in the same place in every frame, while the edges of moving content
 * come and go. So the outline is a rectangle whose four sides are thin lines of edge
 * strength that persist through the run.
 */
import type { Raster, Region } from './fingerprint.js';

/** Each side of the outline must hold at least this mean line contrast (grey levels, averaged over the run). */
const MIN_SIDE_CONTRAST = 6;
/** An inner picture spans between these fractions of the frame, in each dimension. */
const MIN_SPAN = 0.2;
const MAX_SPAN = 0.9;
/** Lines kept per direction as candidate sides (after suppressing their neighbours). */
const CANDIDATE_LINES = 12;
/** Rectangles returned at most: the strongest is not always the picture (a static box of the background can outdo it). */
export const MAX_PICTURES = 2;
/** Pixels averaged either side of a boundary. */
const STEP = 3;
/** How far (pixels) a side is moved to where it is strongest. */
const REFINE = 4;

/**
 * The rectangles of at most MAX_PICTURES inner pictures common to `frames` (rasters of one
 * size), strongest first: none when no rectangle's four sides all persist. Costs
 * O(frames × pixels + CANDIDATE_LINES⁴).
 */
export function innerPictures(frames: readonly Raster[]): Region[] {
  const first = frames[0];
  if (!first || first.width < 16 || first.height < 16) return [];
  const { width, height } = first;
  // What each pixel looks like over the run: its mean level, how textured it is, and how
  // much it changes from frame to frame; and the mean step to its left and upper neighbour.
  // At the outline of an inner picture the steps are between unrelated pictures, and the
  // three looks may step too (life in life steps in level and motion, a cellular automaton
  // in a cellular automaton in texture); inside one picture they vary smoothly.
  const look = new Float64Array(3 * width * height);
  const rawV = new Float64Array(width * height);
  const rawH = new Float64Array(width * height);
  let previous: Uint8Array | undefined;
  // Every pixel has its looks, the frame's outermost too (their texture from the neighbour
  // they have): a pixel left without them reads as black standing still, and a step into it
  // drew a small picture's side out to the frame's edge.
  for (const f of frames) {
    const d = f.data;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const at = y * width + x;
        const p = d[at] as number;
        if (x > 0) rawV[at] = (rawV[at] as number) + Math.abs(p - (d[at - 1] as number)) / frames.length;
        if (y > 0) rawH[at] = (rawH[at] as number) + Math.abs(p - (d[at - width] as number)) / frames.length;
        look[3 * at] = (look[3 * at] as number) + p / frames.length;
        const across = d[x + 1 < width ? at + 1 : at - 1] as number;
        const down = d[y + 1 < height ? at + width : at - width] as number;
        look[3 * at + 1] = (look[3 * at + 1] as number) + (Math.abs(p - across) + Math.abs(p - down)) / frames.length;
        if (previous) look[3 * at + 2] = (look[3 * at + 2] as number) + Math.abs(p - (previous[at] as number)) / frames.length;
      }
    }
    previous = d;
  }
  // The step of the looks at each boundary (between pixels x−1 and x), from the mean of STEP
  // pixels on one side to the mean of STEP on the other: an outline peaks at its place.
  const stepAt = (at: number, stride: number) => {
    let sum = 0;
    for (let c = 0; c < 3; c++) {
      let before = 0;
      let after = 0;
      for (let k = 0; k < STEP; k++) {
        after += look[3 * (at + k * stride) + c] as number;
        before += look[3 * (at - (k + 1) * stride) + c] as number;
      }
      sum += Math.abs(after - before) / STEP;
    }
    return sum;
  };
  const v = new Float64Array(width * height);
  const h = new Float64Array(width * height);
  for (let y = STEP; y <= height - STEP; y++) {
    for (let x = STEP; x <= width - STEP; x++) {
      if (y < height) v[y * width + x] = stepAt(y * width + x, 1);
      if (x < width) h[y * width + x] = stepAt(y * width + x, width);
    }
  }
  // Line contrast: a step stronger than the steps a little way either side of it, as a thin
  // outline is and a gradual change or a texture is not.
  const contrast = (a: Float64Array, at: number, stride: number, k: number, i: number, n: number) =>
    Math.max(0, (a[at] as number) - Math.max(i - k >= 0 ? (a[at - k * stride] as number) : 0, i + k < n ? (a[at + k * stride] as number) : 0));
  const lineV = new Float64Array(width * height);
  const lineH = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * width + x;
      lineV[at] = contrast(v, at, 1, STEP, x, width) + contrast(rawV, at, 1, 2, x, width);
      lineH[at] = contrast(h, at, width, STEP, y, height) + contrast(rawH, at, width, 2, y, height);
    }
  }
  // Prefix sums along each line, so any side's mean is two reads.
  const colSum = new Float64Array(width * (height + 1));
  for (let x = 0; x < width; x++) for (let y = 0; y < height; y++) colSum[(y + 1) * width + x] = (colSum[y * width + x] as number) + (lineV[y * width + x] as number);
  const rowSum = new Float64Array((width + 1) * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rowSum[y * (width + 1) + x + 1] = (rowSum[y * (width + 1) + x] as number) + (lineH[y * width + x] as number);
  const vertical = (x: number, y0: number, y1: number) => ((colSum[y1 * width + x] as number) - (colSum[y0 * width + x] as number)) / Math.max(1, y1 - y0);
  const horizontal = (y: number, x0: number, x1: number) => ((rowSum[y * (width + 1) + x1] as number) - (rowSum[y * (width + 1) + x0] as number)) / Math.max(1, x1 - x0);
  // A side holds along all its length: its weakest quarter counts (a curve of the content
  // crossing a line is strong in one place only).
  const side = (mean: (i: number, a: number, b: number) => number, i: number, a: number, b: number) => {
    let weakest = Infinity;
    for (let q = 0; q < 4; q++) weakest = Math.min(weakest, mean(i, a + Math.floor(((b - a) * q) / 4), a + Math.floor(((b - a) * (q + 1)) / 4)));
    return weakest;
  };

  // Candidate sides: the columns (rows) with the longest-lasting strong runs, by the best
  // third of the frame they cross.
  const candidates = (n: number, along: number, mean: (i: number, a: number, b: number) => number) => {
    const third = Math.floor(along / 3);
    const score = Array.from({ length: n }, (_, i) => (i < STEP || i > n - STEP ? 0 : Math.max(mean(i, 0, third), mean(i, third, 2 * third), mean(i, 2 * third, along))));
    const out: number[] = [];
    for (const i of [...score.keys()].sort((a, b) => (score[b] as number) - (score[a] as number) || a - b)) {
      if (out.length === CANDIDATE_LINES || (score[i] as number) < MIN_SIDE_CONTRAST) break;
      if (out.every((j) => Math.abs(j - i) > 2)) out.push(i);
    }
    return out.sort((a, b) => a - b);
  };
  const xs = candidates(width, height, vertical);
  const ys = candidates(height, width, horizontal);
  const found: Array<{ score: number; x0: number; x1: number; y0: number; y1: number }> = [];
  const fits = (span: number, n: number) => span >= MIN_SPAN * n && span <= MAX_SPAN * n;
  for (const [i, x0] of xs.entries()) {
    for (const x1 of xs.slice(i + 1)) {
      if (!fits(x1 - x0, width)) continue;
      for (const [j, y0] of ys.entries()) {
        for (const y1 of ys.slice(j + 1)) {
          if (!fits(y1 - y0, height)) continue;
          // The weakest side decides: an inner picture has all four.
          const score = Math.min(side(vertical, x0, y0, y1), side(vertical, x1, y0, y1), side(horizontal, y0, x0, x1), side(horizontal, y1, x0, x1));
          if (score >= MIN_SIDE_CONTRAST) found.push({ score, x0, x1, y0, y1 });
        }
      }
    }
  }
  // The strongest rectangles, each overlapping no stronger one by more than half (ties: top left first).
  found.sort((a, b) => b.score - a.score || a.y0 - b.y0 || a.x0 - b.x0 || a.y1 - b.y1 || a.x1 - b.x1);
  const area = (r: (typeof found)[number]) => (r.x1 - r.x0) * (r.y1 - r.y0);
  const overlap = (a: (typeof found)[number], b: (typeof found)[number]) =>
    (Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0))) / Math.min(area(a), area(b));
  // Each side moved to where it is strongest nearby, the others held: a candidate line is
  // the best of its neighbourhood over a third of the frame, not over the side itself.
  const refine = (r: (typeof found)[number]) => {
    const best = (from: number, n: number, score: (i: number) => number) => {
      let at = from;
      for (let i = Math.max(STEP, from - REFINE); i <= Math.min(n - STEP, from + REFINE); i++) if (score(i) > score(at)) at = i;
      return at;
    };
    const x0 = best(r.x0, width, (i) => side(vertical, i, r.y0, r.y1));
    const x1 = best(r.x1, width, (i) => side(vertical, i, r.y0, r.y1));
    const y0 = best(r.y0, height, (i) => side(horizontal, i, x0, x1));
    const y1 = best(r.y1, height, (i) => side(horizontal, i, x0, x1));
    return { ...r, x0, x1, y0, y1 };
  };
  const kept: typeof found = [];
  for (const r of found) {
    if (kept.length === MAX_PICTURES) break;
    if (kept.every((k) => overlap(k, r) <= 0.5)) kept.push(refine(r));
  }
  // A step at boundary x lies between pixels x−1 and x: the picture starts at x0 and ends before x1.
  return kept.map((r) => ({ x: r.x0 / width, y: r.y0 / height, w: (r.x1 - r.x0) / width, h: (r.y1 - r.y0) / height }));
}
