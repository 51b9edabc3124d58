/**
 * Fingerprinting media files on the client: video through ffmpeg (found on PATH), images
 * through sharp, both ending in the same final step (src/core/fingerprint.ts) so image and
 * video hashes are comparable. Registrations sample at 1 fps (every k s for long videos,
 * to stay inside a statement); checks sample at 4 fps and hash each frame mirrored too.
 */
import { spawn } from 'node:child_process';
import { extname } from 'node:path';
import { CartularyError } from '../core/errors.js';
import { contentBox, hashFrame, mirror, type FrameHash, type Raster } from '../core/fingerprint.js';
import { progressLine, type Io } from './command.js';

/** Frames a registration may carry: 20 bytes each inside a 16 KiB payload. */
export const MAX_REGISTERED_FRAMES = 720;
const SIDE = 128;

export interface Fingerprint {
  frames: FrameHash[];
  /** the same frames hashed mirrored (checks only): a flipped re-upload still matches */
  mirrored: FrameHash[];
}

/** Media types by extension: the type a registration names when ffprobe says no more. */
export const MEDIA_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4', '.m4v': 'video/mp4', '.mov': 'video/quicktime', '.webm': 'video/webm', '.mkv': 'video/x-matroska', '.avi': 'video/x-msvideo',
  '.mpg': 'video/mpeg', '.mpeg': 'video/mpeg', '.ts': 'video/mp2t', '.flv': 'video/x-flv', '.wmv': 'video/x-ms-wmv', '.ogv': 'video/ogg', '.3gp': 'video/3gpp',
  '.mp3': 'audio/mpeg', '.m4a': 'audio/mp4', '.wav': 'audio/wav', '.flac': 'audio/flac', '.ogg': 'audio/ogg',
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.gif': 'image/gif', '.webp': 'image/webp',
  '.pdf': 'application/pdf', '.txt': 'text/plain', '.md': 'text/markdown', '.html': 'text/html',
};

// ffprobe's container names, for a file whose extension says nothing (or lies).
const FORMAT_TYPES: Array<[RegExp, string]> = [
  [/^avi$/, 'video/x-msvideo'], [/^mov,mp4/, 'video/mp4'], [/^matroska,webm$/, 'video/x-matroska'], [/^mpegts$/, 'video/mp2t'],
  [/^mpeg$/, 'video/mpeg'], [/^flv$/, 'video/x-flv'], [/^asf$/, 'video/x-ms-asf'], [/^ogg$/, 'video/ogg'],
  [/^png_pipe$/, 'image/png'], [/^jpeg_pipe$/, 'image/jpeg'], [/^webp_pipe$/, 'image/webp'], [/^gif$/, 'image/gif'],
];
// Still pictures, read through sharp; everything else with a picture stream is video.
const IMAGE_FORMAT = /^(image2|\w+_pipe|gif)$/;

export type MediaKind = 'video' | 'image';

/**
 * What a file is, decided by probing it with ffprobe, not by its name (issue 13.3): `kind`
 * is what the fingerprint step reads it as (null: neither, e.g. audio or a document), and
 * `mediaType` the type to register (the one given, else the extension's when it agrees with
 * the probe, else one from the container). Without ffprobe on PATH, the extension decides.
 */
export async function probeMedia(path: string, given?: string): Promise<{ mediaType: string; kind: MediaKind | null }> {
  const byName = MEDIA_TYPES[extname(path).toLowerCase()];
  const kindOfType = (type: string | undefined): MediaKind | null => (type?.startsWith('video/') ? 'video' : type?.startsWith('image/') ? 'image' : null);
  let probed: { format?: { format_name?: string }; streams?: Array<{ codec_type?: string; disposition?: { attached_pic?: number } }> };
  try {
    probed = JSON.parse(await run('ffprobe', ['-v', 'error', '-show_entries', 'format=format_name:stream=codec_type:stream_disposition=attached_pic', '-of', 'json', path]));
  } catch (e) {
    if (e instanceof CartularyError && e.code === 'unavailable') {
      const mediaType = given ?? byName ?? 'application/octet-stream';
      return { mediaType, kind: kindOfType(mediaType) };
    }
    // Not something ffmpeg reads: no pictures in it.
    return { mediaType: given ?? byName ?? 'application/octet-stream', kind: null };
  }
  const format = probed.format?.format_name ?? '';
  const pictures = (probed.streams ?? []).some((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  const kind: MediaKind | null = !pictures ? null : IMAGE_FORMAT.test(format) ? 'image' : 'video';
  const byFormat = FORMAT_TYPES.find(([re]) => re.test(format))?.[1];
  const mediaType = given ?? (byName && kindOfType(byName) === kind ? byName : (kind && byFormat) || byName || 'application/octet-stream');
  return { mediaType, kind };
}

function run(command: string, args: string[], onData?: (chunk: Buffer) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (onData ? onData(d) : (out += d.toString())));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new CartularyError('unavailable', `${command} is needed to fingerprint video and was not found on PATH; install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg)`)
          : e,
      ),
    );
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new CartularyError('malformed', `${command} could not read the file: ${err.trim().split('\n').pop() ?? `exit ${code}`}`))));
  });
}

async function videoDuration(path: string): Promise<number> {
  const out = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path]);
  const seconds = Number(out.trim());
  return Number.isFinite(seconds) ? seconds : 0;
}

/** Greyscale 128×128 frames at `fps`, sampled at exactly k/fps seconds (fps=N:round=up). */
async function videoFrames(path: string, fps: number, onFrame: (raster: Raster, timeMs: number) => void): Promise<void> {
  const frameBytes = SIDE * SIDE;
  let pending: Buffer = Buffer.alloc(0);
  let k = 0;
  await run(
    'ffmpeg',
    ['-v', 'error', '-nostdin', '-i', path, '-an', '-vf', `fps=${fps}:round=up,scale=${SIDE}:${SIDE}:flags=area,format=gray`, '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
    (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= frameBytes) {
        onFrame({ width: SIDE, height: SIDE, data: new Uint8Array(pending.subarray(0, frameBytes)) }, Math.round((k++ * 1000) / fps));
        pending = pending.subarray(frameBytes);
      }
    },
  );
}

async function imageRaster(path: string): Promise<Raster> {
  const { default: sharp } = await import('sharp');
  try {
    const { data, info } = await sharp(path).toColourspace('b-w').resize(SIDE, SIDE, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, info.width * info.height) };
  } catch (e) {
    throw new CartularyError('malformed', `cannot read the image ${path}: ${(e as Error).message}`);
  }
}

/**
 * Fingerprints a file for a registration or a check. Media the tools cannot decode get a
 * note and no fingerprint (the file is still registered and checked by its SHA-256); a
 * missing ffmpeg is an error that says how to install it.
 */
export async function fingerprintOrNote(path: string, kind: MediaKind, purpose: 'register' | 'check', io: Io): Promise<Fingerprint> {
  try {
    return await fingerprintFile(path, kind, purpose, io);
  } catch (e) {
    if (!(e instanceof CartularyError) || e.code !== 'malformed') throw e;
    io.err(`note: ${path} was not fingerprinted (${e.message}); using its SHA-256 only`);
    return { frames: [], mirrored: [] };
  }
}

export async function fingerprintFile(path: string, kind: MediaKind, purpose: 'register' | 'check', io: Io): Promise<Fingerprint> {
  const frames: FrameHash[] = [];
  const mirrored: FrameHash[] = [];
  const take = (raster: Raster, timeMs: number) => {
    const hash = hashFrame(raster);
    if (!hash) return;
    frames.push({ timeMs, hash });
    if (purpose === 'check') {
      const m = hashFrame(mirror(raster));
      if (m) mirrored.push({ timeMs, hash: m });
      // The picture inside bands is searched too, as more frames at the same time (the
      // mirrored list pairs one hash with each time, the whole frame's).
      const box = contentBox(raster);
      for (const region of box ? [box, mirror(box)] : []) {
        const h = hashFrame(region);
        if (h) frames.push({ timeMs, hash: h });
      }
    }
  };
  if (kind === 'image') {
    take(await imageRaster(path), 0);
    return { frames, mirrored };
  }
  const duration = await videoDuration(path);
  // Registrations: 1 fps, or one frame every k whole seconds for long videos, so samples
  // stay on whole seconds and line up with a check's 4 fps samples.
  const fps = purpose === 'check' ? 4 : 1 / Math.max(1, Math.ceil(duration / MAX_REGISTERED_FRAMES));
  const progress = duration > 60 ? progressLine(io, `fingerprinting ${path}`) : () => {};
  const expected = Math.ceil(duration * fps);
  await videoFrames(path, fps, (raster, timeMs) => {
    take(raster, timeMs);
    progress(Math.min(expected, Math.round((timeMs / 1000) * fps)), expected);
  });
  return { frames: purpose === 'register' ? frames.slice(0, MAX_REGISTERED_FRAMES) : frames, mirrored };
}
