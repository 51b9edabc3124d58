/**
 * Fingerprinting media files on the client: video through ffmpeg (found on PATH), images
 * through sharp, both ending in the same final step (src/core/fingerprint.ts) so image and
 * video hashes are comparable. Registrations sample at 1 fps (every k s for long videos,
 * to stay inside a statement) and hash regions of each frame besides the whole (its centre,
 * its 9:16 column) and patches around its strongest blobs; checks sample at 4 fps and hash
 * each frame mirrored, its centre (also turned back ±5°), the picture inside bands, inner
 * pictures found over time, and the blob patches of one frame a second and of the pictures
 * inside it (issue 13.1).
 */
import { spawn } from 'node:child_process';
import { extname } from 'node:path';
import { CartularyError } from '../core/errors.js';
import { areaResize, CENTRE, contentBox, cropRegion, hashFrame, mirror, regionHashes, registeredRegions, type FrameHash, type Raster, type Region } from '../core/fingerprint.js';
import { innerPictures } from '../core/inner-picture.js';
import { keypointPatches, PATCHES_REGISTERED, PATCHES_SENT, PATCHES_SENT_OF_PICTURE } from '../core/keypoints.js';
import { rotate } from '../core/rotate.js';
import { isInformative, ITEM_MS, MAX_CHECK_SOUND } from '../core/soundtrack.js';
import { progressLine, type Io } from './command.js';

/** Frames a registration may carry: 20 bytes each inside a 16 KiB payload. */
export const MAX_REGISTERED_FRAMES = 720;
/** Frames a registration with a soundtrack carries: its MAX_REGISTERED_SOUND values (4 bytes each) take the rest. */
const FRAMES_BESIDE_SOUND = 600;
/** Whole frames a registration carries at most; region hashes, then keypoint patches, fill the rest. */
const WHOLE_FRAMES = 480;
/** Rotations a check undoes (degrees): a re-upload turned by up to 2–3° is found as it is, up to 7° by these. */
const UNDONE_ROTATIONS = [-5, 5];
/**
 * The energy spread an inner picture's hash needs (see REGION_MIN_SPREAD): the guess is often
 * a plain area of the footage around it. Real films spread 0.15–0.85 but smooth ones less (a
 * rocket launch's sky 0.13–0.23, a wall 0.09), and at 0.2 none of them was found inside
 * other footage; at 0.07 two more were, with no false positive on either evaluation set.
 */
const INNER_MIN_SPREAD = 0.07;
/** Frame records a check sends at most: the API takes 400,000 base64 characters of them (20 bytes each). */
export const MAX_CHECK_FRAMES = 15_000;
/**
 * Keypoint patch records a check sends at most (96,000 base64 characters): 8 a second for 7½
 * minutes, fewer a second beyond (see strongest). The maximal check of 7,500 held a server's
 * event loop for 150 ms at once in the suite (`test/bounded-detection.test.ts`); of 3,600,
 * under 65 ms, as the frames' maximal check.
 */
export const MAX_CHECK_PATCHES = 3_600;
/** A check's frames looked at together for an inner picture: 8 s at 4 fps. */
const INNER_PICTURE_RUN = 32;
const SIDE = 128;

export interface Fingerprint {
  frames: FrameHash[];
  /** the same frames hashed mirrored (checks only): a flipped re-upload still matches */
  mirrored: FrameHash[];
  /** patches around the frames' strongest blobs (keypoints.ts), compared only with patches */
  patches: FrameHash[];
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
 * A file named as media that ffprobe cannot read (damaged, cut short, or not media at all) is
 * not registered under that name's type, and the note says that it was not fingerprinted.
 */
export async function probeMedia(path: string, given: string | undefined, purpose: 'register' | 'check', io: Io): Promise<{ mediaType: string; kind: MediaKind | null; sound: boolean }> {
  const byName = MEDIA_TYPES[extname(path).toLowerCase()];
  const kindOfType = (type: string | undefined): MediaKind | null => (type?.startsWith('video/') ? 'video' : type?.startsWith('image/') ? 'image' : null);
  let probed: { format?: { format_name?: string }; streams?: Array<{ codec_type?: string; disposition?: { attached_pic?: number } }> };
  try {
    probed = JSON.parse(await run('ffprobe', ['-v', 'error', '-show_entries', 'format=format_name:stream=codec_type:stream_disposition=attached_pic', '-of', 'json', path]));
  } catch (e) {
    if (e instanceof CartularyError && e.code === 'unavailable') {
      const mediaType = given ?? byName ?? 'application/octet-stream';
      return { mediaType, kind: kindOfType(mediaType), sound: false };
    }
    // Not something ffmpeg reads: no pictures or sound in it.
    const named = given ?? byName;
    const asMedia = named !== undefined && /^(video|image|audio)\//.test(named);
    if (asMedia) {
      const outcome = purpose === 'register' ? `registered as ${given ?? 'application/octet-stream'}, without fingerprints` : 'checked by its SHA-256 alone: a copy of a registered work inside it would not be found';
      io.err(`note: ${path} is named as ${named} but ffprobe cannot read it (${(e as Error).message.split('\n')[0]}); ${outcome}`);
    }
    return { mediaType: given ?? (asMedia ? 'application/octet-stream' : (byName ?? 'application/octet-stream')), kind: null, sound: false };
  }
  const format = probed.format?.format_name ?? '';
  const pictures = (probed.streams ?? []).some((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  const kind: MediaKind | null = !pictures ? null : IMAGE_FORMAT.test(format) ? 'image' : 'video';
  const byFormat = FORMAT_TYPES.find(([re]) => re.test(format))?.[1];
  const mediaType = given ?? (byName && kindOfType(byName) === kind ? byName : (kind && byFormat) || byName || 'application/octet-stream');
  return { mediaType, kind, sound: (probed.streams ?? []).some((s) => s.codec_type === 'audio') };
}

/**
 * The soundtrack's Chromaprint sub-fingerprints (fpcalc, Debian's libchromaprint-tools), for
 * a registration (every step-th value, inside the statement) or a check (every value, its
 * first 15 minutes); null with a note when fpcalc is missing or cannot read the file, and
 * null when the sound says nothing (silence, a steady tone: see core/soundtrack.ts). The
 * soundtrack is a second signal beside the picture, so its absence is never an error.
 */
export async function soundOf(path: string, purpose: 'register' | 'check', io: Io): Promise<Uint32Array | null> {
  const seconds = purpose === 'check' ? String(Math.ceil((MAX_CHECK_SOUND * ITEM_MS) / 1000)) : '0';
  let out: string;
  try {
    // fpcalc 1.5 built on FFmpeg 5 (Debian 12's) exits 3 at the end of every file, having
    // printed the whole fingerprint: that ending is not a failure.
    const atEnd = (code: number | null, err: string) => code === 0 || (code === 3 && err.trim().split('\n').every((l) => l.includes('(End of file)')));
    out = await run('fpcalc', ['-raw', '-json', '-length', seconds, path], undefined, atEnd);
  } catch (e) {
    if (!(e instanceof CartularyError)) throw e;
    io.err(e.code === 'unavailable' ? 'note: fpcalc was not found on PATH, so the soundtrack was not fingerprinted (Debian/Ubuntu: apt-get install libchromaprint-tools)' : `note: the soundtrack of ${path} was not fingerprinted (${e.message})`);
    return null;
  }
  const printed = (JSON.parse(out) as { fingerprint?: unknown }).fingerprint;
  const all = Uint32Array.from(Array.isArray(printed) ? printed : [], (v) => Number(v) >>> 0);
  const values = purpose === 'check' ? all.slice(0, MAX_CHECK_SOUND) : all;
  return isInformative(values) ? values : null;
}

/**
 * Runs a tool and gives its output. A tool missing from PATH is 'unavailable'; one that exits
 * otherwise than `done` accepts is 'malformed' (the file is not something it reads), with its
 * last line of errors.
 */
function run(command: string, args: string[], onData?: (chunk: Buffer) => void, done: (code: number | null, err: string) => boolean = (code) => code === 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (onData ? onData(d) : (out += d.toString())));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new CartularyError('unavailable', `${command} is needed to fingerprint media and was not found on PATH; install it (Debian/Ubuntu: apt-get install ffmpeg libchromaprint-tools; macOS: brew install ffmpeg chromaprint)`)
          : e,
      ),
    );
    child.once('close', (code) => (done(code, err) ? resolve(out) : reject(new CartularyError('malformed', `${command} could not read the file: ${err.trim().split('\n').pop() ?? `exit ${code}`}`))));
  });
}

/** A video's length (s) and its display aspect (width over height, its pixels' shape counted). */
async function videoInfo(path: string): Promise<{ duration: number; aspect: number }> {
  const out = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,sample_aspect_ratio:format=duration', '-of', 'json', path]);
  const info = JSON.parse(out) as { format?: { duration?: string }; streams?: Array<{ width?: number; height?: number; sample_aspect_ratio?: string }> };
  const seconds = Number(info.format?.duration);
  const stream = info.streams?.[0];
  const [num, den] = (stream?.sample_aspect_ratio ?? '1:1').split(':').map(Number) as [number, number];
  const sar = num > 0 && den > 0 ? num / den : 1;
  const aspect = stream?.width && stream.height ? (stream.width * sar) / stream.height : 16 / 9;
  return { duration: Number.isFinite(seconds) ? seconds : 0, aspect };
}

/** A part of a frame resampled to a frame's size (SIDE × SIDE), as a frame is sampled. */
function asFrame(picture: Raster): Raster {
  return { width: SIDE, height: SIDE, data: Uint8Array.from(areaResize(picture, SIDE, SIDE), (v) => Math.round(v)) };
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

async function imageRaster(path: string): Promise<{ raster: Raster; aspect: number }> {
  const { default: sharp } = await import('sharp');
  try {
    const image = sharp(path);
    const { width, height } = await image.metadata();
    const { data, info } = await image.toColourspace('b-w').resize(SIDE, SIDE, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    const raster = { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, info.width * info.height) };
    return { raster, aspect: width && height ? width / height : 1 };
  } catch (e) {
    throw new CartularyError('malformed', `cannot read the image ${path}: ${(e as Error).message}`);
  }
}

/**
 * Fingerprints a file for a registration or a check. Media the tools cannot decode get a
 * note and no fingerprint (the file is still registered and checked by its SHA-256); a
 * missing ffmpeg is an error that says how to install it.
 */
export async function fingerprintOrNote(path: string, kind: MediaKind, purpose: 'register' | 'check', io: Io, withSound = false): Promise<Fingerprint> {
  try {
    return await fingerprintFile(path, kind, purpose, io, withSound);
  } catch (e) {
    if (!(e instanceof CartularyError) || e.code !== 'malformed') throw e;
    io.err(`note: ${path} was not fingerprinted (${e.message}); using its SHA-256 only`);
    return { frames: [], mirrored: [], patches: [] };
  }
}

/** `withSound`: a registration that also carries a soundtrack fingerprint, so fewer frames fit. */
export async function fingerprintFile(path: string, kind: MediaKind, purpose: 'register' | 'check', io: Io, withSound = false): Promise<Fingerprint> {
  const frames: FrameHash[] = [];
  const mirrored: FrameHash[] = [];
  // The mirrored list pairs one hash with each time, the whole frame's; every other hash of
  // a time (a region's, a patch's) is one more frame at that time, kept apart until the end,
  // regions and patches in tiers of their own (see interleave).
  const regions: FrameHash[][] = [];
  const patches: FrameHash[][] = [];
  const pushTo = (tier: FrameHash[][]) => (timeMs: number, hashes: Iterable<Uint8Array>) => {
    const at = tier[tier.length - 1];
    const list = at?.[0]?.timeMs === timeMs ? at : [];
    for (const hash of hashes) list.push({ timeMs, hash });
    if (list !== at && list.length > 0) tier.push(list);
  };
  const push = pushTo(regions);
  const pushPatches = pushTo(patches);
  // A check sends frames and patches apart, each up to its own limit; a registration's
  // share one statement, patches in the room the frames and regions leave.
  const registered = withSound ? FRAMES_BESIDE_SOUND : MAX_REGISTERED_FRAMES;
  const all = (): Fingerprint => {
    const kept = interleave(frames, regions, purpose === 'check' ? MAX_CHECK_FRAMES : registered);
    const room = purpose === 'check' ? MAX_CHECK_PATCHES : registered - kept.length;
    return { frames: kept, mirrored, patches: strongest(patches, room) };
  };
  // `inner`: for a check, the inner pictures found in the frames around it.
  const take = (raster: Raster, timeMs: number, aspect: number, inner: readonly Region[] = []) => {
    const hash = hashFrame(raster);
    if (!hash) return;
    frames.push({ timeMs, hash });
    // A check's patches at whole seconds only, where a registration's frames are (at 4 fps
    // they would be a third of its hashes for little more).
    if (purpose === 'register' || timeMs % 1000 === 0) pushPatches(timeMs, keypointPatches(raster, aspect, purpose === 'register' ? PATCHES_REGISTERED : PATCHES_SENT));
    if (purpose === 'register') {
      push(timeMs, regionHashes(raster, registeredRegions, aspect));
      return;
    }
    const m = hashFrame(mirror(raster));
    if (m) mirrored.push({ timeMs, hash: m });
    push(timeMs, regionHashes(raster, () => [CENTRE], aspect));
    // The centre of the frame turned back by a small rotation either way.
    for (const degrees of UNDONE_ROTATIONS) push(timeMs, regionHashes(rotate(raster, degrees, aspect), () => [CENTRE], aspect));
    // The picture inside bands and the inner pictures, each mirrored too. A box found from
    // bands is as sure as the whole frame; an inner picture is a guess, often a plain area
    // of the footage around it, so only a detailed one is searched.
    const box = contentBox(raster);
    const pictures: Array<[Raster, number]> = [...(box ? [[box, 0] as [Raster, number]] : []), ...inner.map((r): [Raster, number] => [cropRegion(raster, r), INNER_MIN_SPREAD])];
    for (const [picture, minSpread] of pictures) push(timeMs, [hashFrame(picture, minSpread), hashFrame(mirror(picture), minSpread)].filter((h) => h !== null));
    // Their patches too, after the whole frame's (so a long upload short of room keeps the
    // frame's): a guessed inner picture is often only part of the film's, and a part is
    // what patches find. Each is brought to a frame's size first, so the film's blobs are
    // at the scales searched however small the picture was set.
    if (timeMs % 1000 === 0) {
      for (const [picture] of pictures) {
        const pictureAspect = (aspect * (picture.width / raster.width)) / (picture.height / raster.height);
        pushPatches(timeMs, keypointPatches(asFrame(picture), pictureAspect, PATCHES_SENT_OF_PICTURE));
      }
    }
  };
  if (kind === 'image') {
    const { raster, aspect } = await imageRaster(path);
    take(raster, 0, aspect);
    return all();
  }
  const { duration, aspect } = await videoInfo(path);
  // Registrations: whole frames at 1 fps, or one every k whole seconds for long videos (so
  // samples stay on whole seconds and line up with a check's 4 fps samples), in two thirds
  // of the statement; regions in the rest (see interleave).
  const k = Math.max(1, Math.ceil(duration / WHOLE_FRAMES));
  const fps = purpose === 'check' ? 4 : 1 / k;
  const progress = duration > 60 ? progressLine(io, `fingerprinting ${path}`) : () => {};
  const expected = Math.ceil(duration * fps);
  // A check's frames go in runs of INNER_PICTURE_RUN, in which inner pictures are looked
  // for; the last, short run is looked at with the frames before it.
  const run: Array<{ raster: Raster; timeMs: number }> = [];
  let before: Raster[] = [];
  const flush = () => {
    if (run.length === 0) return;
    const seen = [...before, ...run.map((f) => f.raster)].slice(-INNER_PICTURE_RUN);
    const inner = innerPictures(seen);
    for (const f of run) take(f.raster, f.timeMs, aspect, inner);
    before = seen;
    run.length = 0;
  };
  await videoFrames(path, fps, (raster, timeMs) => {
    if (purpose === 'register') take(raster, timeMs, aspect);
    else if (run.push({ raster, timeMs }) === INNER_PICTURE_RUN) flush();
    progress(Math.min(expected, Math.round((timeMs / 1000) * fps)), expected);
  });
  flush();
  return all();
}

/**
 * Whole frames and the region hashes of each time, in time order, at most `max` records: all
 * the whole frames (up to `max`), and the regions of every r-th time that carries any, r as
 * small as the rest of the room allows.
 */
function interleave(whole: readonly FrameHash[], regions: readonly FrameHash[][], max: number): FrameHash[] {
  const kept = whole.slice(0, max);
  const room = max - kept.length;
  const total = regions.reduce((n, list) => n + list.length, 0);
  if (total > 0 && room > 0) {
    const r = Math.ceil(total / room);
    let left = room;
    regions.forEach((list, i) => {
      if (i % r !== 0 || list.length > left) return;
      for (const f of list) kept.push(f);
      left -= list.length;
    });
  }
  // A stable sort: each time's whole frame stays first.
  return kept.sort((a, b) => a.timeMs - b.timeMs);
}

/**
 * At most `room` keypoint patches, in time order: the k strongest of every time (each
 * time's list is strongest first), k as large as the room allows; when not even one a time
 * fits, the strongest of every r-th time. Every second keeps some, where regions would skip
 * seconds: a clip is found by patches at several of its seconds, not many at a few.
 */
function strongest(patches: readonly FrameHash[][], room: number): FrameHash[] {
  if (patches.length === 0 || room <= 0) return [];
  const k = Math.floor(room / patches.length);
  const r = k === 0 ? Math.ceil(patches.length / room) : 1;
  return patches.filter((_, i) => i % r === 0).flatMap((list) => list.slice(0, Math.max(1, k)));
}
