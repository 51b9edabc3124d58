/**
 * The detection evaluation set (issue 13): films generated with ffmpeg's lavfi sources, the
 * unregistered footage used as negatives, and the edit classes re-uploaders use, each as the
 * ffmpeg arguments that make an upload from a source. Shared by scripts/evaluate.ts,
 * scripts/compare-rules.ts and the tests that try one edit class on a real server.
 */
import { execFileSync } from 'node:child_process';

export const FILMS: Record<string, string> = {
  mandelbrot: 'mandelbrot=size=640x360:rate=25:maxiter=150',
  life: 'life=size=640x360:rate=25:seed=7:ratio=0.3:mold=10:life_color=#e0c040:death_color=#203060',
  cellauto: 'cellauto=rule=110:size=640x360:rate=25:random_seed=1',
  // Colours given: the source draws its default ('random') from the system's randomness,
  // whatever the seed, so without them no two runs of the evaluation saw the same film.
  gradients: 'gradients=size=640x360:rate=25:speed=0.03:seed=3:c0=#e08030:c1=#203070',
};

/**
 * Unregistered footage: some of it the same kind of picture as a film (another life, another
 * cellular automaton, another part of the Mandelbrot set). Not another `gradients`: two
 * smooth colour ramps are one diagonal ramp in luma, which a luma hash cannot tell apart
 * (README, Evaluation).
 */
export const NEGATIVES: Record<string, string> = {
  testsrc2: 'testsrc2=size=640x360:rate=25',
  'life-other': 'life=size=640x360:rate=25:seed=99:ratio=0.5:mold=3:life_color=#40c0e0:death_color=#301020',
  'cellauto-30': 'cellauto=rule=30:size=640x360:rate=25:random_seed=2',
  sierpinski: 'sierpinski=size=640x360:rate=25:type=triangle:seed=5',
  testsrc: 'testsrc=size=640x360:rate=25',
  'mandelbrot-other': 'mandelbrot=size=640x360:rate=25:maxiter=150:start_x=-0.16:start_y=1.04:start_scale=0.4',
};

/** A source an edit is made from: its file and its length, which places its clips and excerpts. */
export interface Source {
  name: string;
  path: string;
  seconds: number;
}

/** Films to register and unregistered footage to edit alike, and a line that says what they are. */
export interface FootageSet {
  description: string;
  films: Source[];
  negatives: Source[];
}

/**
 * An edit class: the ffmpeg arguments that make an upload from a source (and other footage,
 * for picture-in-picture), the use it implies, and the shortest source it is made from (a
 * recap of a seven-second film is not one).
 */
export interface Edit {
  name: string;
  use: string;
  minSeconds?: number;
  args: (src: Source, other: string) => string[];
}

/** Whether an edit is made from a source: it is long enough for it. */
export function applies(edit: Edit, source: Source): boolean {
  return source.seconds >= (edit.minSeconds ?? 0);
}

export const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

/** Runs ffmpeg quietly, overwriting its output. */
export const ffmpeg = (args: string[]): Buffer => execFileSync('ffmpeg', ['-v', 'error', '-y', ...args], { stdio: 'pipe' });

/** Renders every film and negative, `seconds` long, to `path(name)`. */
export function generatedSet(path: (name: string) => string, seconds: number): FootageSet {
  const render = (sources: Record<string, string>) =>
    Object.entries(sources).map(([name, source]): Source => {
      ffmpeg(['-f', 'lavfi', '-i', source, '-t', String(seconds), ...X264, path(name)]);
      return { name, path: path(name), seconds };
    });
  return { description: `films generated with ffmpeg's lavfi sources, ${seconds} s each`, films: render(FILMS), negatives: render(NEGATIVES) };
}

/**
 * The part of a source a clip takes: from 8 s for 10 s in films of 20 s or more (as before
 * sources had lengths of their own), else from two fifths of the way for half of it.
 */
function part(seconds: number): { from: number; length: number } {
  return { from: Math.min(8, seconds * 0.4), length: Math.min(10, seconds * 0.5) };
}
const at = (n: number) => String(Math.round(n * 1000) / 1000);
// Ends on even sides: x264 takes no odd ones, and a 9:16 crop of a 720-line film is 405 wide.
const clip = (vf: string) => (src: Source) => {
  const { from, length } = part(src.seconds);
  return ['-ss', at(from), '-i', src.path, '-t', at(length), '-vf', `${vf},crop=trunc(iw/2)*2:trunc(ih/2)*2`, ...X264];
};
// The other footage is brought to 640×360 first: real footage comes in every size.
const overClip = (graph: string) => (src: Source, other: string) => {
  const { from, length } = part(src.seconds);
  return ['-ss', at(from), '-i', src.path, '-i', other, '-t', at(length), '-filter_complex', `[1:v]scale=640:360,setsar=1[bg];${graph}`, ...X264];
};
const speed = (factor: number) => (src: Source) => {
  const { from, length } = part(src.seconds);
  return ['-ss', at(from), '-i', src.path, '-t', at(length * factor), '-vf', `setpts=PTS/${factor}`, '-r', '25', ...X264];
};
// A camcorded copy: the screen seen at an angle (a keystoned quadrilateral in a dark room,
// with some of the room around it),
// the lens's vignette, its softness and the sensor's noise.
const CAMCORDER =
  'pad=iw*1.1:ih*1.1:(ow-iw)/2:(oh-ih)/2:black,perspective=x0=W*0.06:y0=H*0.05:x1=W*0.96:y1=H*0.08:x2=W*0.03:y2=H*0.95:x3=W*0.93:y3=H*0.93:sense=destination,' +
  'vignette=angle=PI/4,gblur=sigma=1.2,noise=alls=10:allf=t';

export const EDITS: Edit[] = [
  { name: 're-encode, whole film, 320 px', use: 'publish', args: (src) => ['-i', src.path, '-vf', 'scale=320:180', ...X264, '-crf', '32'] },
  { name: 'clip (10 s)', use: 'clip', args: clip('null') },
  { name: 'clip, mirrored', use: 'clip', args: clip('hflip') },
  { name: 'clip, grey + noise', use: 'clip', args: clip('format=gray,noise=alls=12:allf=t') },
  { name: 'clip, colour grading', use: 'clip', args: clip('eq=brightness=0.08:saturation=1.6:gamma=1.2') },
  { name: 'clip, black letterbox', use: 'clip', args: clip('scale=640:270,pad=640:400:0:65:black') },
  { name: 'clip, coloured border', use: 'clip', args: clip('scale=560:316,pad=640:360:40:22:red') },
  { name: 'clip, crop to 70 %', use: 'clip', args: clip('crop=iw*0.7:ih*0.7') },
  { name: 'clip, crop to 60 %, off centre', use: 'clip', args: clip('crop=iw*0.6:ih*0.6:iw*0.25:ih*0.15') },
  { name: 'clip, 9:16 with blurred bands', use: 'clip', args: clip('split[a][b];[a]scale=360:640,boxblur=20[bg];[b]scale=360:203[fg];[bg][fg]overlay=0:218') },
  { name: 'clip, 9:16 centre crop', use: 'clip', args: clip('crop=ih*9/16:ih') },
  { name: 'clip, picture-in-picture', use: 'clip', args: overClip('[0:v]scale=320:180[pip];[bg][pip]overlay=300:160') },
  { name: 'clip, picture-in-picture, small, top left', use: 'clip', args: overClip('[0:v]scale=240:136[pip];[bg][pip]overlay=24:20') },
  { name: 'clip, rotated 5°', use: 'clip', args: clip('rotate=5*PI/180') },
  { name: 'clip, rotated −3°', use: 'clip', args: clip('rotate=-3*PI/180') },
  { name: 'clip, camcorded', use: 'clip', args: clip(CAMCORDER) },
  { name: 'clip, sped up 1.25×', use: 'clip', args: speed(1.25) },
  { name: 'clip, slowed 0.8×', use: 'clip', args: speed(0.8) },
  {
    // Four excerpts spread over the film, each a tenth of it (at most 3 s) and far apart in
    // it, as a recap's are: excerpts that jump less than the film's own length over again
    // read as one sped-up clip (a 20-second film: 2 s at 1, 6, 11 and 16 s).
    name: 'recap (4 excerpts of up to 3 s)',
    use: 'recap',
    minSeconds: 20,
    args: (src) => {
      const length = Math.min(3, src.seconds / 10);
      const starts = [0.05, 0.3, 0.55, 0.8].map((f) => src.seconds * f);
      return ['-i', src.path, '-filter_complex', `${starts.map((t, i) => `[0:v]trim=${at(t)}:${at(t + length)},setpts=PTS-STARTPTS[v${i}]`).join(';')};[v0][v1][v2][v3]concat=n=4:v=1[v]`, '-map', '[v]', ...X264];
    },
  },
];
