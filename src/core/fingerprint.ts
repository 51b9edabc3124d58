/**
 * Perceptual frame fingerprints: the one final step that images and video frames share,
 * so their hashes are comparable. From a greyscale raster of any size:
 *   1. crop dark borders (letterbox and pillarbox bars);
 *   2. area-average to 32×32 luma;
 *   3. skip flat frames (nothing to recognise);
 *   4. pHash: 2-D DCT-II of the 32×32, the 8×8 lowest frequencies but DC, each bit
 *      "above the median"; dHash: the 32×32 area-averaged to 9×8, each bit "brighter than
 *      its right neighbour". 8 + 8 bytes.
 * Measured on generated media: re-encodes, 50 % resizes and brightness changes stay within
 * ~0–8 bits; unrelated frames rarely come closer than 13.
 */

export interface Raster {
  width: number;
  height: number;
  /** one byte of luma per pixel, row by row */
  data: Uint8Array;
}

/** A sampled frame: its time in the media and its 16-byte hash (pHash ‖ dHash). */
export interface FrameHash {
  timeMs: number;
  hash: Uint8Array;
}

export const FRAME_HASH_BYTES = 16;
export const FINGERPRINT_KIND = 'phash-dhash/v1';
/**
 * The fingerprint kind of a registration's keypoint patches: records like its frames'
 * (u32 time in ms ‖ 16-byte hash), in a value of their own (see keypoints.ts), so they are compared only with
 * one another: a patch is a crop, and a crop of a zooming film is a later frame of it, so
 * patch hits among the frames would put a clip at the wrong offset. A check's evidence,
 * never a rule's (contests are decided by the frames alone).
 */
export const PATCH_KIND = 'keypoint-patches/v1';
/** One frame in a `register` statement or a check: u32 time in ms ‖ the 16-byte hash. */
export const FRAME_RECORD_BYTES = 4 + FRAME_HASH_BYTES;
const SIDE = 32;
const DARK = 28;
const FLAT_STDDEV = 3;

/** Box-filter resize with fractional coverage: every source pixel counts by its area. */
export function areaResize(src: Raster, width: number, height: number): Float64Array {
  const out = new Float64Array(width * height);
  const sx = src.width / width;
  const sy = src.height / height;
  for (let oy = 0; oy < height; oy++) {
    const y0 = oy * sy;
    const y1 = y0 + sy;
    for (let ox = 0; ox < width; ox++) {
      const x0 = ox * sx;
      const x1 = x0 + sx;
      let sum = 0;
      for (let y = Math.floor(y0); y < Math.ceil(y1); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        const row = y * src.width;
        for (let x = Math.floor(x0); x < Math.ceil(x1); x++) {
          sum += (src.data[row + x] ?? 0) * wy * (Math.min(x + 1, x1) - Math.max(x, x0));
        }
      }
      out[oy * width + ox] = sum / (sx * sy);
    }
  }
  return out;
}

/** Removes uniform dark bars at the edges, keeping at least half of each dimension. */
export function cropDarkBorders(src: Raster): Raster {
  const { width, height, data } = src;
  const rowDark = (y: number) => {
    let max = 0;
    for (let x = 0; x < width; x++) max = Math.max(max, data[y * width + x] ?? 0);
    return max < DARK;
  };
  const colDark = (x: number, top: number, bottom: number) => {
    let max = 0;
    for (let y = top; y < bottom; y++) max = Math.max(max, data[y * width + x] ?? 0);
    return max < DARK;
  };
  let top = 0;
  let bottom = height;
  while (top < height / 4 && rowDark(top)) top++;
  while (bottom > (height * 3) / 4 && rowDark(bottom - 1)) bottom--;
  let left = 0;
  let right = width;
  while (left < width / 4 && colDark(left, top, bottom)) left++;
  while (right > (width * 3) / 4 && colDark(right - 1, top, bottom)) right--;
  if (top === 0 && bottom === height && left === 0 && right === width) return src;
  return cropPixels(src, left, top, right, bottom);
}

/** The pixels in columns [left, right) and rows [top, bottom). */
function cropPixels(src: Raster, left: number, top: number, right: number, bottom: number): Raster {
  const w = right - left;
  const h = bottom - top;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) out.set(src.data.subarray((top + y) * src.width + left, (top + y) * src.width + right), y * w);
  return { width: w, height: h, data: out };
}

/** A rectangle of a frame, in fractions of its width and height. */
export interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The pixels of `r` in `src`, to whole pixels and at least one. */
export function cropRegion(src: Raster, r: Region): Raster {
  const left = Math.min(src.width - 1, Math.max(0, Math.round(r.x * src.width)));
  const top = Math.min(src.height - 1, Math.max(0, Math.round(r.y * src.height)));
  const right = Math.max(left + 1, Math.min(src.width, Math.round((r.x + r.w) * src.width)));
  const bottom = Math.max(top + 1, Math.min(src.height, Math.round((r.y + r.h) * src.height)));
  return cropPixels(src, left, top, right, bottom);
}

/**
 * The picture inside bands of any kind, for a check to search as well as the whole frame
 * (issue 13.1): a re-upload framed by a coloured border, or set in a 9:16 frame whose bands
 * are a blurred copy of itself. A band row (column) is either of the colour of the frame's
 * edge on that side (its pixels within UNIFORM of one another, its mean within ONE_COLOUR of
 * the edge line's), or blurred: under a quarter of the mean edge strength of the frame's
 * middle rows (columns), where that middle has detail (SHARP). A floor on edge strength
 * alone took every row of a smooth picture, a colour ramp or a sky, for a band, and so never
 * found it inside a border. Returns null when there are no bands (at least 4 % of a side);
 * a band is at most a third of a side.
 */
export function contentBox(src: Raster): Raster | null {
  const { width, height, data } = src;
  const at = (x: number, y: number) => data[y * width + x] as number;
  // A line's detail (the mean absolute difference between neighbours along it), mean, and
  // whether it is one colour.
  const line = (n: number, pixel: (i: number) => number) => {
    let sum = 0;
    let low = pixel(0);
    let high = low;
    let total = low;
    for (let i = 1; i < n; i++) {
      const v = pixel(i);
      sum += Math.abs(v - pixel(i - 1));
      low = Math.min(low, v);
      high = Math.max(high, v);
      total += v;
    }
    return { detail: sum / Math.max(1, n - 1), mean: total / n, uniform: high - low <= UNIFORM };
  };
  const row = (y: number) => line(width, (x) => at(x, y));
  const middle = (n: number, detail: (i: number) => number) => {
    let sum = 0;
    for (let i = Math.floor(n / 3); i < Math.ceil((2 * n) / 3); i++) sum += detail(i);
    return sum / (Math.ceil((2 * n) / 3) - Math.floor(n / 3));
  };
  type Line = ReturnType<typeof line>;
  const isBand = (l: Line, edge: Line, ref: number) => (l.uniform && edge.uniform && Math.abs(l.mean - edge.mean) <= ONE_COLOUR) || (ref >= SHARP && l.detail < ref / 4);
  const rowRef = middle(height, (y) => row(y).detail);
  let top = 0;
  let bottom = height;
  const [firstRow, lastRow] = [row(0), row(height - 1)];
  while (top < height / 3 && isBand(row(top), firstRow, rowRef)) top++;
  while (bottom > (height * 2) / 3 && isBand(row(bottom - 1), lastRow, rowRef)) bottom--;
  const col = (x: number) => line(bottom - top, (i) => at(x, top + i));
  const colRef = middle(width, (x) => col(x).detail);
  let left = 0;
  let right = width;
  const [firstCol, lastCol] = [col(0), col(width - 1)];
  while (left < width / 3 && isBand(col(left), firstCol, colRef)) left++;
  while (right > (width * 2) / 3 && isBand(col(right - 1), lastCol, colRef)) right--;
  const minBand = (n: number) => Math.max(2, Math.round(n * 0.04));
  const banded = top >= minBand(height) || height - bottom >= minBand(height) || left >= minBand(width) || width - right >= minBand(width);
  return banded ? cropPixels(src, left, top, right, bottom) : null;
}

/** The most a band's pixels may differ in brightness and still be one colour (a coded border's ringing and grain). */
const UNIFORM = 16;
/**
 * The most a band line's mean may differ from the edge's: a border is one colour throughout,
 * where a smooth picture's lines (a ramp across the frame) each differ from the last by a
 * little, and would otherwise pass for bands a dozen lines deep.
 */
const ONE_COLOUR = 4;
/** The least edge strength of a frame's middle for lines of a quarter of it to be blurred bands: a smooth picture's plateaus are not. */
const SHARP = 2;

/** A frame without its outer 15 % on every side: what survives a crop, a camcorder's keystone and vignette, a small rotation's corners. */
export const CENTRE: Region = { x: 0.15, y: 0.15, w: 0.7, h: 0.7 };

/**
 * Regions of a registered frame hashed besides the whole of it (issue 13.1), so that an
 * upload showing only part of the picture still meets a hash of that part: the centre (a
 * crop to 60–80 %) and the column a 9:16 centre crop keeps. `aspect` is the frame's display
 * width over height (its raster is square whatever the film's shape).
 */
export function registeredRegions(aspect: number): Region[] {
  const column = 9 / 16 / aspect;
  return column < 0.8 ? [CENTRE, { x: (1 - column) / 2, y: 0, w: column, h: 1 }] : [CENTRE];
}

/**
 * Hashes of regions of a frame's picture (its dark borders cropped first, as hashFrame does,
 * so a letterboxed film's regions are regions of the film), in order; flat and smooth ones
 * (REGION_MIN_SPREAD) are left out.
 */
export function regionHashes(raster: Raster, regions: (aspect: number) => readonly Region[], aspect: number): Uint8Array[] {
  const content = cropDarkBorders(raster);
  const contentAspect = (aspect * (content.width / raster.width)) / (content.height / raster.height);
  return regions(contentAspect).flatMap((r) => hashFrame(cropRegion(content, r), REGION_MIN_SPREAD) ?? []);
}

export function mirror(src: Raster): Raster {
  const out = new Uint8Array(src.data.length);
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < src.width; x++) out[y * src.width + x] = src.data[y * src.width + (src.width - 1 - x)] as number;
  }
  return { ...src, data: out };
}

// DCT-II basis for 32 points, computed once.
const COS = (() => {
  const table = new Float64Array(SIDE * SIDE);
  for (let k = 0; k < SIDE; k++) for (let n = 0; n < SIDE; n++) table[k * SIDE + n] = Math.cos((Math.PI / SIDE) * (n + 0.5) * k);
  return table;
})();

function bitsToBytes(bits: boolean[]): Uint8Array {
  const out = new Uint8Array(bits.length / 8);
  bits.forEach((b, i) => {
    if (b) out[i >> 3] = (out[i >> 3] as number) | (0x80 >> (i & 7));
  });
  return out;
}

/**
 * The pHash bits, and how spread the picture's energy is over those frequencies: the share
 * not in its three strongest. A smooth ramp or a few flat areas (0–0.07) put nearly all of it
 * in one or two, and every such picture hashes alike; texture and detail spread it (0.15–0.85).
 */
function pHash(px: Float64Array): { bits: Uint8Array; spread: number } {
  // Only the 8×8 lowest frequencies are needed: rows first, then those columns.
  const rows = new Float64Array(SIDE * 9);
  for (let y = 0; y < SIDE; y++) {
    for (let k = 0; k < 9; k++) {
      let s = 0;
      for (let x = 0; x < SIDE; x++) s += (px[y * SIDE + x] as number) * (COS[k * SIDE + x] as number);
      rows[y * 9 + k] = s;
    }
  }
  // The bits are of frequencies 1–8 in both directions; the spread counts those along the
  // axes too (0 in one direction), where a ramp puts its energy.
  const coefficients: number[] = [];
  const energy: number[] = [];
  for (let v = 0; v <= 8; v++) {
    for (let u = 0; u <= 8; u++) {
      if (u === 0 && v === 0) continue;
      let s = 0;
      for (let y = 0; y < SIDE; y++) s += (rows[y * 9 + u] as number) * (COS[v * SIDE + y] as number);
      if (u > 0 && v > 0) coefficients.push(s);
      energy.push(s * s);
    }
  }
  const median = [...coefficients].sort((a, b) => a - b)[32] as number;
  energy.sort((a, b) => b - a);
  const total = energy.reduce((sum, e) => sum + e, 0);
  const strongest = (energy[0] as number) + (energy[1] as number) + (energy[2] as number);
  return { bits: bitsToBytes(coefficients.map((c) => c > median)), spread: total > 0 ? 1 - strongest / total : 0 };
}

function dHash(px: Float64Array): Uint8Array {
  const small = areaResize({ width: SIDE, height: SIDE, data: Uint8Array.from(px, (v) => Math.round(v)) }, 9, 8);
  const bits: boolean[] = [];
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) bits.push((small[y * 9 + x] as number) > (small[y * 9 + x + 1] as number));
  return bitsToBytes(bits);
}

/**
 * Regions of a frame are hashed only with at least this energy spread (see pHash): a part of
 * a smooth picture is a ramp, and ramps of unrelated pictures collide. Real footage smooth
 * throughout (a plain wall behind a thrown ball, 0.08–0.09; underwater haze, 0.03–0.36) had
 * no region hashes at 0.1, so no crop of it matched; at 0.07 the evaluation found four more
 * uploads and no false positive on either set (`npm run evaluate`).
 */
export const REGION_MIN_SPREAD = 0.07;

/**
 * The 16-byte hash of a frame, or null for a flat frame (a fade, a black or blank card), or
 * for one whose energy spread is below `minSpread`.
 */
export function hashFrame(raster: Raster, minSpread = 0): Uint8Array | null {
  return hashPixels(areaResize(cropDarkBorders(raster), SIDE, SIDE), minSpread);
}

/** hashFrame's last steps, on 32 × 32 pixels (row by row) already cropped and resized. */
export function hashPixels(px: Float64Array, minSpread = 0): Uint8Array | null {
  let mean = 0;
  for (const v of px) mean += v;
  mean /= px.length;
  let variance = 0;
  for (const v of px) variance += (v - mean) ** 2;
  if (Math.sqrt(variance / px.length) < FLAT_STDDEV) return null;
  const p = pHash(px);
  if (p.spread < minSpread) return null;
  const out = new Uint8Array(FRAME_HASH_BYTES);
  out.set(p.bits, 0);
  out.set(dHash(px), 8);
  return out;
}

/** Frames as they travel in a `register` statement: [u32 time ms ‖ 16-byte hash]… */
export function encodeFrames(frames: readonly FrameHash[]): Uint8Array {
  const out = new Uint8Array(frames.length * FRAME_RECORD_BYTES);
  const view = new DataView(out.buffer);
  frames.forEach((f, i) => {
    view.setUint32(i * FRAME_RECORD_BYTES, f.timeMs);
    out.set(f.hash, i * FRAME_RECORD_BYTES + 4);
  });
  return out;
}

export function decodeFrames(bytes: Uint8Array): FrameHash[] {
  if (bytes.length % FRAME_RECORD_BYTES !== 0) throw new RangeError(`fingerprint frames must be a multiple of ${FRAME_RECORD_BYTES} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: FrameHash[] = [];
  for (let at = 0; at < bytes.length; at += FRAME_RECORD_BYTES) out.push({ timeMs: view.getUint32(at), hash: bytes.slice(at + 4, at + FRAME_RECORD_BYTES) });
  return out;
}

/** How many bits two 8-byte hashes differ in. */
export function hamming64(a: Uint8Array, aOffset: number, b: Uint8Array, bOffset: number): number {
  let d = 0;
  for (let i = 0; i < 8; i++) {
    let x = ((a[aOffset + i] as number) ^ (b[bOffset + i] as number)) & 0xff;
    while (x) {
      x &= x - 1;
      d++;
    }
  }
  return d;
}
