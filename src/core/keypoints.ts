/**
 * Keypoint patches: hashes of small parts of a frame anchored on what is in the picture, not
 * on where the frame's edges are (issue 13.1). A crop at an arbitrary place, a 9:16 column or
 * a picture scaled into other footage moves and scales the film inside the frame; a hash of
 * the whole frame or of a fixed region then sees other pixels. A blob of the picture (an
 * extremum of the difference of Gaussians over position and scale, as in SIFT) moves and
 * scales with it, so a square around each blob, its side in proportion to the blob's scale,
 * covers the same part of the film in the registered frame and in the upload.
 *
 * Measured before it was built (the ten real films of `npm run evaluate -- --set debian`,
 * each against its own 60 % off-centre crop, one frame a second, 8 patches a side): a patch
 * of the crop within 8 bits of one of the same second's registered patches in 6–69 of 8–80
 * seconds per film (none for the thrown ball against a plain wall); a patch of one film that
 * close to any patch of another film, 7 in 17,000, with a side of 14 blob scales; with 10,
 * ten times as many, with 7 thirty times.
 *
 * The blob search works at the picture's own shape: the 128 × 128 raster every frame is
 * sampled to is stretched back to the film's aspect first, so a 9:16 column of a wide film
 * is the same shape in both.
 */
import { hashPixels, type Raster } from './fingerprint.js';

/**
 * Patches per frame, strongest blobs first: a registration keeps more than a check sends. A
 * crop holds a third of the frame, so its strongest blobs are often not among the whole
 * frame's strongest: on the real evaluation footage (as below), 16 registered against 8
 * sent met in 151 of 260 cropped seconds, 8 against 8 in 127; of 16,839 patches sent, 31
 * against 17 came within 8 bits of a patch of another film.
 */
export const PATCHES_REGISTERED = 16;
export const PATCHES_SENT = 8;
/**
 * Patches a check sends of each picture found inside the frame (in bands, or a guessed inner
 * picture), besides the frame's: with 8 each, a 60-second upload showing three such pictures
 * sent 1,920 patches and took 267 ms at p99 against 10 M records (`npm run bench:server-scale
 * -- --patches --patches-a-second 32`), over the 250 ms a check may take.
 */
export const PATCHES_SENT_OF_PICTURE = 4;
/** A patch's side in blob scales (σ). */
const PATCH_SIDE = 14;
/**
 * The energy spread (see fingerprint.ts) a patch's hash needs: a patch of one plain shape
 * hashes like any other such patch. Measured as above: at 0.07 (what regions need) 31 patch
 * pairs with other films, at 0.2 14, for 151 and 146 cropped seconds found; at 0.25 9, and
 * the diver's seconds fell from 7 to 1.
 */
const PATCH_MIN_SPREAD = 0.2;
/** Scale-space levels: σ = BASE · √2^i. The DoG between each two; extrema in the inner ones. */
const LEVELS = 7;
const BASE = 1.6;
const STEP = Math.SQRT2;
/** A DoG extremum weaker than this (grey levels) is noise. */
const MIN_RESPONSE = 2;
/** Blobs on an edge are not localised along it: principal curvature ratio at most 10 (SIFT's), as (r+1)²/r. */
const MAX_EDGE_RATIO = 12.1;
/** Patches are hashed at 32 × 32, the size every frame hash is computed at. */
const SIDE = 32;

/**
 * Hashes of up to `max` patches of `raster` (a frame of display aspect `aspect`), strongest
 * blobs first, each a whole patch inside the frame; patches with less energy spread than
 * PATCH_MIN_SPREAD are left out. Costs O(pixels · LEVELS) whatever the picture.
 */
export function keypointPatches(raster: Raster, aspect: number, max: number): Uint8Array[] {
  const picture = toAspect(raster, aspect);
  const out: Uint8Array[] = [];
  for (const key of blobs(picture)) {
    const px = patch(picture, key.x, key.y, PATCH_SIDE * key.sigma);
    const hash = px && hashPixels(px, PATCH_MIN_SPREAD);
    if (hash) out.push(hash);
    if (out.length === max) break;
  }
  return out;
}

interface Blob {
  x: number;
  y: number;
  sigma: number;
  response: number;
}

/** Float pixels of a picture at its display shape. */
interface Plane {
  width: number;
  height: number;
  data: Float32Array;
}

/** The raster stretched (bilinear) along one side to the display aspect: the longer side grows. */
function toAspect(src: Raster, aspect: number): Plane {
  const a = Number.isFinite(aspect) && aspect > 0 ? Math.min(4, Math.max(0.25, aspect)) : 1;
  const width = a >= 1 ? Math.round(src.width * a) : src.width;
  const height = a >= 1 ? src.height : Math.round(src.height / a);
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(src.height - 1, Math.max(0, ((y + 0.5) * src.height) / height - 0.5));
    const y0 = Math.min(src.height - 2, Math.floor(sy));
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(src.width - 1, Math.max(0, ((x + 0.5) * src.width) / width - 0.5));
      const x0 = Math.min(src.width - 2, Math.floor(sx));
      const fx = sx - x0;
      data[y * width + x] = bilinear(src.data, src.width, y0 * src.width + x0, fx, fy);
    }
  }
  return { width, height, data };
}

/** The value at fractions (fx, fy) of the way from pixel `at` of a plane `width` wide to its right and lower neighbours. */
function bilinear(data: ArrayLike<number>, width: number, at: number, fx: number, fy: number): number {
  return (
    (data[at] as number) * (1 - fx) * (1 - fy) + (data[at + 1] as number) * fx * (1 - fy) + (data[at + width] as number) * (1 - fx) * fy + (data[at + width + 1] as number) * fx * fy
  );
}

/** Extrema of the difference of Gaussians in position and scale, strongest first. */
function blobs(picture: Plane): Blob[] {
  const { width: w, height: h } = picture;
  const levels = Array.from({ length: LEVELS }, (_, i) => gaussianBlur(picture, BASE * STEP ** i));
  const dog = levels.slice(1).map((level, i) => {
    const below = levels[i] as Float32Array;
    return level.map((v, j) => v - (below[j] as number));
  });
  const found: Blob[] = [];
  for (let s = 1; s < dog.length - 1; s++) {
    const d = dog[s] as Float32Array;
    for (let y = 1; y < h - 1; y++) {
      for (let x = 1; x < w - 1; x++) {
        const at = y * w + x;
        const v = d[at] as number;
        if (Math.abs(v) < MIN_RESPONSE || !isExtremum(dog, s, at, w, v)) continue;
        const dxx = (d[at + 1] as number) + (d[at - 1] as number) - 2 * v;
        const dyy = (d[at + w] as number) + (d[at - w] as number) - 2 * v;
        const dxy = ((d[at + w + 1] as number) - (d[at + w - 1] as number) - (d[at - w + 1] as number) + (d[at - w - 1] as number)) / 4;
        const det = dxx * dyy - dxy * dxy;
        if (det <= 0 || (dxx + dyy) ** 2 / det > MAX_EDGE_RATIO) continue;
        // Where the extremum lies between samples, from a parabola through each axis: the
        // scale above all, since an upload's scale is rarely a power of √2 of the film's.
        const ox = vertex(d[at - 1] as number, v, d[at + 1] as number);
        const oy = vertex(d[at - w] as number, v, d[at + w] as number);
        const os = vertex((dog[s - 1] as Float32Array)[at] as number, v, (dog[s + 1] as Float32Array)[at] as number);
        // The DoG between levels s and s+1 peaks at the blob scale between theirs.
        found.push({ x: x + ox, y: y + oy, sigma: BASE * STEP ** (s + os + 0.5), response: Math.abs(v) });
      }
    }
  }
  // Ties broken by place, so the order is the same on every machine.
  return found.sort((a, b) => b.response - a.response || a.y - b.y || a.x - b.x);
}

function isExtremum(dog: readonly Float32Array[], s: number, at: number, w: number, v: number): boolean {
  for (let ds = -1; ds <= 1; ds++) {
    const d = dog[s + ds] as Float32Array;
    for (let dy = -w; dy <= w; dy += w) {
      for (let dx = -1; dx <= 1; dx++) {
        if (ds === 0 && dy === 0 && dx === 0) continue;
        const u = d[at + dy + dx] as number;
        if (v > 0 ? u >= v : u <= v) return false;
      }
    }
  }
  return true;
}

/** The offset (−½ to ½) of the vertex of the parabola through three samples around the middle one. */
function vertex(before: number, at: number, after: number): number {
  const curvature = before - 2 * at + after;
  return curvature === 0 ? 0 : Math.max(-0.5, Math.min(0.5, (before - after) / (2 * curvature)));
}

/**
 * The square of `side` pixels centred at (cx, cy), sampled to 32 × 32 (four bilinear samples
 * a pixel), or null when it does not lie wholly inside the picture: a patch cut by the
 * frame's edge is another picture in the upload.
 */
function patch(picture: Plane, cx: number, cy: number, side: number): Float64Array | null {
  const { width: w, height: h, data } = picture;
  const left = cx - side / 2;
  const top = cy - side / 2;
  if (left < 0 || top < 0 || left + side > w - 1 || top + side > h - 1) return null;
  const out = new Float64Array(SIDE * SIDE);
  const cell = side / SIDE;
  for (let j = 0; j < SIDE; j++) {
    for (let i = 0; i < SIDE; i++) {
      let sum = 0;
      for (const sy of [0.25, 0.75]) {
        const y = top + (j + sy) * cell;
        const y0 = Math.floor(y);
        const fy = y - y0;
        for (const sx of [0.25, 0.75]) {
          const x = left + (i + sx) * cell;
          const x0 = Math.floor(x);
          const fx = x - x0;
          sum += bilinear(data, w, y0 * w + x0, fx, fy);
        }
      }
      out[j * SIDE + i] = sum / 4;
    }
  }
  return out;
}

/**
 * A Gaussian blur of standard deviation `sigma` (≥ 0.5), by the recursive filter of Young and
 * van Vliet (1995): four passes of a third-order filter, forward and back along rows then
 * columns, the same cost at any sigma; the edges are extended with their own value.
 */
function gaussianBlur(picture: Plane, sigma: number): Float32Array {
  const q = sigma >= 2.5 ? 0.98711 * sigma - 0.9633 : 3.97156 - 4.14554 * Math.sqrt(1 - 0.26891 * sigma);
  const b0 = 1.57825 + 2.44413 * q + 1.4281 * q * q + 0.422205 * q ** 3;
  const b1 = (2.44413 * q + 2.85619 * q * q + 1.26661 * q ** 3) / b0;
  const b2 = -(1.4281 * q * q + 1.26661 * q ** 3) / b0;
  const b3 = (0.422205 * q ** 3) / b0;
  const gain = 1 - (b1 + b2 + b3);
  const { width: w, height: h } = picture;
  const out = Float32Array.from(picture.data);
  const line = new Float64Array(Math.max(w, h));
  const pass = (start: number, stride: number, n: number) => {
    let p1 = out[start] as number;
    let p2 = p1;
    let p3 = p1;
    for (let i = 0; i < n; i++) {
      const v = gain * (out[start + i * stride] as number) + b1 * p1 + b2 * p2 + b3 * p3;
      line[i] = v;
      p3 = p2;
      p2 = p1;
      p1 = v;
    }
    p1 = p2 = p3 = line[n - 1] as number;
    for (let i = n - 1; i >= 0; i--) {
      const v = gain * (line[i] as number) + b1 * p1 + b2 * p2 + b3 * p3;
      out[start + i * stride] = v;
      p3 = p2;
      p2 = p1;
      p1 = v;
    }
  };
  for (let y = 0; y < h; y++) pass(y * w, 1, w);
  for (let x = 0; x < w; x++) pass(x, w, h);
  return out;
}
