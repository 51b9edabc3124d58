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

/** An edit class: the ffmpeg arguments that make an upload from a source (and other footage, for picture-in-picture), and the use it implies. */
export interface Edit {
  name: string;
  use: string;
  args: (src: string, other: string) => string[];
}

export const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

/** Runs ffmpeg quietly, overwriting its output. */
export const ffmpeg = (args: string[]): Buffer => execFileSync('ffmpeg', ['-v', 'error', '-y', ...args], { stdio: 'pipe' });

/** Renders every film and negative, `seconds` long, to `path(name)`. */
export function renderSources(path: (name: string) => string, seconds: number): void {
  for (const [name, source] of Object.entries({ ...FILMS, ...NEGATIVES })) ffmpeg(['-f', 'lavfi', '-i', source, '-t', String(seconds), ...X264, path(name)]);
}
const clip = (vf: string) => (src: string) => ['-ss', '8', '-i', src, '-t', '10', '-vf', vf, ...X264];
const overClip = (graph: string) => (src: string, other: string) => ['-ss', '8', '-i', src, '-i', other, '-t', '10', '-filter_complex', graph, ...X264];
// A camcorded copy: the screen seen at an angle (a keystoned quadrilateral in a dark room,
// with some of the room around it),
// the lens's vignette, its softness and the sensor's noise.
const CAMCORDER =
  'pad=iw*1.1:ih*1.1:(ow-iw)/2:(oh-ih)/2:black,perspective=x0=W*0.06:y0=H*0.05:x1=W*0.96:y1=H*0.08:x2=W*0.03:y2=H*0.95:x3=W*0.93:y3=H*0.93:sense=destination,' +
  'vignette=angle=PI/4,gblur=sigma=1.2,noise=alls=10:allf=t';

export const EDITS: Edit[] = [
  { name: 're-encode, whole film, 320 px', use: 'publish', args: (src) => ['-i', src, '-vf', 'scale=320:180', ...X264, '-crf', '32'] },
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
  { name: 'clip, picture-in-picture', use: 'clip', args: overClip('[0:v]scale=320:180[pip];[1:v][pip]overlay=300:160') },
  { name: 'clip, picture-in-picture, small, top left', use: 'clip', args: overClip('[0:v]scale=240:136[pip];[1:v][pip]overlay=24:20') },
  { name: 'clip, rotated 5°', use: 'clip', args: clip('rotate=5*PI/180') },
  { name: 'clip, rotated −3°', use: 'clip', args: clip('rotate=-3*PI/180') },
  { name: 'clip, camcorded', use: 'clip', args: clip(CAMCORDER) },
  { name: 'clip, sped up 1.25×', use: 'clip', args: (src) => ['-ss', '8', '-i', src, '-t', '12', '-vf', 'setpts=PTS/1.25', '-r', '25', ...X264] },
  { name: 'clip, slowed 0.8×', use: 'clip', args: (src) => ['-ss', '8', '-i', src, '-t', '8', '-vf', 'setpts=PTS/0.8', '-r', '25', ...X264] },
  {
    name: 'recap (4 excerpts of 3 s)',
    use: 'recap',
    args: (src) => ['-i', src, '-filter_complex', `${[2, 9, 16, 23].map((t, i) => `[0:v]trim=${t}:${t + 3},setpts=PTS-STARTPTS[v${i}]`).join(';')};[v0][v1][v2][v3]concat=n=4:v=1[v]`, '-map', '[v]', ...X264],
  },
];
