/** Turning a frame back, so a re-upload rotated by a few degrees hashes as it was registered. */
import type { Raster } from './fingerprint.js';

/**
 * The frame turned by `degrees` about its centre, as it would be on screen: `aspect` is its
 * display width over height (its raster is square whatever the film's shape, so a turn on
 * screen is not a turn of the raster). Undoes a small rotation of a re-upload (issue 13.1).
 */
export function rotate(src: Raster, degrees: number, aspect: number): Raster {
  const { width, height } = src;
  // Screen units: a raster column is `stretch` rows wide.
  const stretch = (aspect * height) / width;
  const cos = Math.cos((degrees * Math.PI) / 180);
  const sin = Math.sin((degrees * Math.PI) / 180);
  return resample(src, (x, y) => {
    const px = (x + 0.5 - width / 2) * stretch;
    const py = y + 0.5 - height / 2;
    return [(cos * px + sin * py) / stretch + width / 2 - 0.5, -sin * px + cos * py + height / 2 - 0.5];
  });
}

/** Each output pixel sampled bilinearly at the source position `from` gives (clamped to the raster). */
function resample(src: Raster, from: (x: number, y: number) => [number, number]): Raster {
  const { width, height, data } = src;
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [fx0, fy0] = from(x, y);
      const sx = Math.min(width - 1, Math.max(0, fx0));
      const sy = Math.min(height - 1, Math.max(0, fy0));
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(width - 1, x0 + 1);
      const y1 = Math.min(height - 1, y0 + 1);
      const fx = sx - x0;
      const fy = sy - y0;
      const top = (data[y0 * width + x0] as number) * (1 - fx) + (data[y0 * width + x1] as number) * fx;
      const bottom = (data[y1 * width + x0] as number) * (1 - fx) + (data[y1 * width + x1] as number) * fx;
      out[y * width + x] = Math.round(top * (1 - fy) + bottom * fy);
    }
  }
  return { width, height, data: out };
}
