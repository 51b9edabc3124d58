/**
 * Real footage for the detection evaluation (issue 13): camera footage and films made by
 * people that Debian 12 ships inside its packages (sample data of OpenCV, imageio, Kivy,
 * pymecavideo, games' opening films), fetched with `apt-get download` (no root, nothing
 * installed) into a cache folder and unpacked with `dpkg-deb -x`. Debian ships no long real
 * footage: two films run over a minute, the rest 7–19 s, so edits take parts of each film
 * in proportion to its length (`part`). The licence of each file is its package's
 * (debian/copyright); ~350 MB of packages.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { ffmpeg, X264, type FootageSet, type Source } from './evaluation-set.js';

/** Packages, pinned to the versions measured (a point release may replace one: then the newest is taken). */
const PACKAGES: Record<string, string> = {
  'opencv-doc': '4.6.0+dfsg-12',
  freecol: '1.0.0-1',
  'python3-imageio': '2.4.1-5',
  'pd-extendedview': '0.5~repack-4',
  'python-nbsphinx-doc': '0.8.11+ds-1',
  'python3-mecavideo': '8.0~rc5-1',
  'python-kivy-examples': '2.1.0-1',
  'renpy-demo': '8.0.3+dfsg-1',
  'golang-github-gabriel-vasile-mimetype-dev': '1.4.1+dfsg1-2',
  'node-opencv': '7.0.0+git20200316.f0a03a4b-1+b3',
  kphotoalbum: '5.9.1-1',
  'libdlib19.1': '19.24+dfsg-1',
  'docutils-doc': '0.19+dfsg-6',
  'planetblupi-common': '1.14.2-3',
  'openboard-common': '1.6.4+dfsg-1',
};

/** name → [package, path in it]. A `.gz` file is unpacked; a folder of frames is made into a film. */
const FILMS: Record<string, [string, string]> = {
  // a fixed camera over a campus road: pedestrians, 79 s
  vtest: ['opencv-doc', 'usr/share/doc/opencv-doc/examples/data/vtest.avi'],
  // a montage of old colour film: landscapes, wagons, ships, 77 s, many shots
  'freecol-opening': ['freecol', 'usr/share/games/freecol/default/resources/video/freecol-opening.video.ogg'],
  box: ['opencv-doc', 'usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz'],
  cockatoo: ['python3-imageio', 'usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4'],
  diver: ['pd-extendedview', 'usr/share/doc/pd-extendedview/media/diver.mov'],
  // 1906, black and white, 214×160
  'calais-1906': ['python-nbsphinx-doc', 'usr/share/doc/python-nbsphinx/html/www/wikimediacommons/Shepard_Calais_1906_FrenchGP.ogv.160p.ogv'],
  'thrown-ball': ['python3-mecavideo', 'usr/share/pymecavideo/data/video/balle-jbart.mp4'],
  'city-night': ['python-kivy-examples', 'usr/share/kivy-examples/widgets/cityCC0.mpg'],
  cup: ['opencv-doc', 'usr/share/doc/opencv-doc/opencv4/html/cup.mp4.gz'],
  'rocket-launch': ['renpy-demo', 'usr/share/games/renpy/demo/game/oa4_launch.webm'],
};

const NEGATIVES: Record<string, [string, string]> = {
  lego: ['golang-github-gabriel-vasile-mimetype-dev', 'usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata/mp4.mp4'],
  'big-buck-bunny': ['golang-github-gabriel-vasile-mimetype-dev', 'usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata/mkv.mkv'],
  'coin-pushed': ['node-opencv', 'usr/share/doc/node-opencv/examples/files/motion.mov'],
  'webcam-face': ['kphotoalbum', 'usr/share/kphotoalbum/demo/movie.avi'],
  'tree-window': ['opencv-doc', 'usr/share/doc/opencv-doc/examples/data/tree.avi'],
  pens: ['docutils-doc', 'usr/share/doc/docutils-doc/docs/user/rst/images/pens.mp4.gz'],
  'wanna-work-together': ['openboard-common', 'usr/share/openboard/library/videos/wannaworktogether.mp4'],
  'blupi-cutscene': ['planetblupi-common', 'usr/share/planetblupi/movie/win005.mkv'],
  'table-objects': ['libdlib19.1', 'usr/share/doc/libdlib19.1/examples/video_frames'],
};

const run = (command: string, args: string[], cwd?: string): string => execFileSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/**
 * A file's video: its seconds, from its frames as decoded (some of these files' headers give
 * a length several times their content's), and its size.
 */
function probe(path: string): { seconds: number; width: number; height: number } {
  const out = run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,nb_read_frames,avg_frame_rate,r_frame_rate', '-of', 'json', path]);
  const stream = (JSON.parse(out) as { streams: Array<{ width: number; height: number; nb_read_frames: string; avg_frame_rate: string; r_frame_rate: string }> }).streams[0];
  if (!stream) throw new Error(`${path} has no video`);
  // Some containers give no average rate (0/0): then the stream's base rate.
  const rate = [stream.avg_frame_rate, stream.r_frame_rate].map((r) => r.split('/').map(Number) as [number, number]).find(([num, den]) => num > 0 && den > 0) as [number, number];
  return { seconds: (Number(stream.nb_read_frames) * rate[1]) / rate[0], width: stream.width, height: stream.height };
}

/**
 * Whether the video decodes without an error from a seek to `at` seconds: edits seek before
 * they decode (`-ss` before `-i`), and a file whose keyframes are not clean entry points
 * (imageio's cockatoo) then gives an edit whose first seconds are broken pictures.
 */
function seeksCleanly(path: string, at: number): boolean {
  const { status, stderr } = spawnSync('ffmpeg', ['-v', 'error', '-nostdin', '-ss', at.toFixed(2), '-i', path, '-t', '1', '-an', '-f', 'null', '-'], { encoding: 'utf8' });
  return status === 0 && stderr.trim() === '';
}

/** Downloads (once) and unpacks each package into `cache`, and returns the films and negatives in it. */
export function debianSet(cache: string): FootageSet {
  const debs = join(cache, 'debs');
  mkdirSync(debs, { recursive: true });
  for (const [pkg, version] of Object.entries(PACKAGES)) {
    const root = join(cache, 'root', pkg);
    if (existsSync(join(root, '.unpacked'))) continue;
    let deb = readdirSync(debs).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
    if (!deb) {
      process.stderr.write(`  fetching ${pkg}\n`);
      try {
        run('apt-get', ['download', `${pkg}=${version}`], debs);
      } catch {
        run('apt-get', ['download', pkg], debs);
      }
      deb = readdirSync(debs).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb')) as string;
    }
    mkdirSync(root, { recursive: true });
    run('dpkg-deb', ['-x', join(debs, deb), root]);
    writeFileSync(join(root, '.unpacked'), '');
  }
  const files = join(cache, 'files');
  mkdirSync(files, { recursive: true });
  const prepare = (sources: Record<string, [string, string]>): Source[] =>
    Object.entries(sources).map(([name, [pkg, inside]]) => {
      const found = join(cache, 'root', pkg, inside);
      let path = found;
      if (inside.endsWith('.gz')) {
        path = join(files, `${name}.${inside.slice(0, -3).split('.').pop() as string}`);
        if (!existsSync(path)) writeFileSync(path, gunzipSync(readFileSync(found)));
      } else if (!/\.[a-z0-9]+$/i.test(inside)) {
        path = join(files, `${name}.mp4`);
        if (!existsSync(path)) ffmpeg(['-framerate', '25', '-pattern_type', 'glob', '-i', join(found, '*.jpg'), ...X264, path]);
      }
      const { seconds, width, height } = probe(path);
      // x264 takes no odd sides, and the edits re-encode with it: such a film is registered
      // as a copy one line of pixels smaller, at a quality no edit comes near. So is one that
      // decodes badly after a seek to where clips start (`part`), so edits start clean.
      if (width % 2 || height % 2 || !seeksCleanly(path, 0.4 * seconds)) {
        const clean = join(files, `${name}-clean.mp4`);
        if (!existsSync(clean)) ffmpeg(['-i', path, '-vf', 'crop=trunc(iw/2)*2:trunc(ih/2)*2', ...X264, '-crf', '12', clean]);
        path = clean;
      }
      return { name, path, seconds };
    });
  return { description: 'real footage shipped in Debian 12 packages (scripts/lib/debian-footage.ts), whole films of 7–80 s', films: prepare(FILMS), negatives: prepare(NEGATIVES) };
}
