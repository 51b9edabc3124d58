/**
 * npm run evaluate [-- --seconds 30] [--only 'crop'] [--set generated|debian] [--cache DIR] [--answers DIR]
 * The detection evaluation (issue 13): films are registered on a fresh real server; each
 * edit class re-uploaders use is applied to every film, and, as negatives, to footage that
 * is not registered; each result is checked through the real CLI. Prints recall per class,
 * false positives (a negative that matched, an upload of one film that named another), and
 * whether the implied use (clip, recap, compilation, publish) was right, and how many finds only
 * the soundtrack made, as a Markdown table. The films are generated with ffmpeg's lavfi sources
 * (`--set generated`, the default), or real footage shipped in Debian packages (`--set
 * debian`, fetched once into `--cache`, by default ~/.cache/cartulary-footage). `--answers
 * DIR` keeps every check's answer (UPLOAD.json, and works.json naming the films' works), so a
 * change to how answers are read can be measured on them without editing and checking again.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Io } from '../src/cli/command.js';
import { main } from '../src/cli/main.js';
import { startServer } from '../src/http/server.js';
import { debianSet } from './lib/debian-footage.js';
import { EDITS, X264, applies, ffmpeg, generatedSet, type Source } from './lib/evaluation-set.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '30' }, only: { type: 'string' }, set: { type: 'string', default: 'generated' }, cache: { type: 'string', default: join(homedir(), '.cache', 'cartulary-footage') }, answers: { type: 'string' } },
});
if (values.set !== 'generated' && values.set !== 'debian') throw new Error(`--set is generated or debian, not ${values.set}`);

const dir = await mkdtemp(join(tmpdir(), 'cartulary-evaluate-'));
const file = (name: string) => join(dir, name);
const server = await startServer({ port: 0, host: '127.0.0.1', dataDir: file('data'), keysDir: file('server-keys'), logger: pino({ level: 'warn' }), checkRateLimit: 1_000_000 });
const quiet: Io = { out: () => {}, err: () => {}, progress: false };
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...argv, '--server', server.url, '--keys', file('keys')], { ...quiet, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

try {
  for (const name of ['owner', 'platform']) await main(['keygen', name, '--out', file('keys')], quiet);
  const works = new Map<string, string>();
  const set = values.set === 'debian' ? debianSet(values.cache) : generatedSet((name) => file(`${name}.mp4`), Number(values.seconds));
  for (const film of set.films) {
    // The receipt is written beside the file registered: a copy in this run's folder keeps the cache clean.
    const copy = file(`${film.name}-registered${film.path.slice(film.path.lastIndexOf('.'))}`);
    await copyFile(film.path, copy);
    const r = await cli('register', copy, '--key', 'owner', '--title', film.name);
    if (r.code !== 0) throw new Error(`registering ${film.name} failed: ${r.err}`);
    works.set(JSON.parse(await readFile(`${copy}.cartulary.json`, 'utf8')).receipt.id as string, film.name);
  }
  if (values.answers) {
    await mkdir(values.answers, { recursive: true });
    await writeFile(join(values.answers, 'works.json'), JSON.stringify(Object.fromEntries(works), null, 1));
  }
  // `wrong`: uploads of a film that named another registered film besides (or instead of) it:
  // a false accusation as much as a negative's match is. `bySound`: finds that are a match only
  // through the soundtrack (no segment of the picture is one by itself); `byPatches`: finds the
  // picture made through keypoint patches (the frames found no match).
  interface Row { cases: number; found: number; byPatches: number; bySound: number; useRight: number; wrong: number; negatives: number; falsePositives: number }
  const rows = new Map<string, Row>();
  const check = async (upload: string) => {
    const r = await cli('check', upload, '--uploader', 'platform', '--territory', 'FR', '--json');
    if (r.code === 3 || r.code === 64) throw new Error(`checking ${upload} failed: ${r.err}`);
    if (values.answers) await writeFile(join(values.answers, `${basename(upload)}.json`), r.out);
    const answer = JSON.parse(r.out) as { matches: Array<{ work: { id: string }; strength: string; use: string; segments: Array<{ strength: string; by: string }> }> };
    return answer.matches
      .filter((m) => m.strength === 'match')
      .map((m) => {
        const strong = m.segments.filter((s) => s.strength === 'match');
        return { film: works.get(m.work.id), use: m.use, bySound: strong.length === 0, byPatches: strong.length > 0 && strong.every((s) => s.by === 'patches') };
      });
  };
  const { films, negatives } = set;
  for (const edit of EDITS.filter((e) => !values.only || e.name.includes(values.only))) {
    const row: Row = { cases: 0, found: 0, byPatches: 0, bySound: 0, useRight: 0, wrong: 0, negatives: 0, falsePositives: 0 };
    // The class first, then what went wrong in it, then its count.
    process.stderr.write(`  ${edit.name}:\n`);
    for (const [i, source] of films.entries()) {
      if (!applies(edit, source)) continue;
      const film = source.name;
      const upload = file(`${film}-${EDITS.indexOf(edit)}.mp4`);
      ffmpeg([...edit.args(source, (negatives[i % negatives.length] as Source).path), upload]);
      const found = await check(upload);
      row.cases++;
      const hit = found.find((f) => f.film === film);
      if (!hit) process.stderr.write(`    missed: ${film} (found ${found.map((f) => f.film).join(', ') || 'nothing'})\n`);
      if (hit) row.found++;
      if (hit?.bySound) row.bySound++;
      if (hit?.byPatches) row.byPatches++;
      const others = found.filter((f) => f.film !== film);
      if (others.length > 0) row.wrong++;
      if (hit && others.length > 0) process.stderr.write(`    also named: ${film} (found ${others.map((f) => f.film).join(', ')} too)\n`);
      if (hit && hit.use === edit.use) row.useRight++;
      else if (hit) process.stderr.write(`    use: ${film} answered ${hit.use}, not ${edit.use}\n`);
    }
    for (const [i, source] of negatives.entries()) {
      if (!applies(edit, source)) continue;
      const upload = file(`${source.name}-${EDITS.indexOf(edit)}.mp4`);
      ffmpeg([...edit.args(source, (negatives[(i + 1) % negatives.length] as Source).path), upload]);
      row.negatives++;
      const found = await check(upload);
      if (found.length > 0) process.stderr.write(`    false positive: ${source.name} (found ${found.map((f) => f.film).join(', ')})\n`);
      if (found.length > 0) row.falsePositives++;
    }
    rows.set(edit.name, row);
    process.stderr.write(`    found ${row.found}/${row.cases}\n`);
  }
  // A compilation: a piece of two films (of 20 s or more) in one upload, both brought to one size and
  // rate (concat waits forever on films of different rates).
  const [first, second] = films.filter((f) => f.seconds >= 20) as [Source, Source];
  {
    const upload = file('compilation.mp4');
    ffmpeg(['-ss', '5', '-t', '8', '-i', first.path, '-ss', '12', '-t', '8', '-i', second.path, '-filter_complex', '[0:v]fps=25,scale=640:360,setsar=1[a];[1:v]fps=25,scale=640:360,setsar=1[b];[a][b]concat=n=2:v=1[v]', '-map', '[v]', ...X264, upload]);
    const found = await check(upload);
    const both = [first.name, second.name].every((f) => found.some((x) => x.film === f));
    const wrong = found.some((x) => x.film !== first.name && x.film !== second.name) ? 1 : 0;
    rows.set('compilation (2 films, 8 s each)', { cases: 1, found: both ? 1 : 0, byPatches: both && found.some((f) => f.byPatches) ? 1 : 0, bySound: both && found.some((f) => f.bySound) ? 1 : 0, useRight: both && found.every((f) => f.use === 'compilation') ? 1 : 0, wrong, negatives: 0, falsePositives: 0 });
  }
  const pct = (n: number, d: number) => (d === 0 ? '–' : `${Math.round((100 * n) / d)} %`);
  const total = [...rows.values()].reduce((t, r) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v + r[k as keyof Row]])) as unknown as Row);
  console.log(`\n${set.description}: ${films.length} registered films (${films.map((f) => `${f.name} ${Math.round(f.seconds)} s`).join(', ')}); negatives: ${negatives.map((f) => f.name).join(', ')}, edited the same way; an edit with a shortest source applies to those as long\n`);
  console.log('| edit class | found | of them by keypoint patches | by the soundtrack | implied use right | another film named | false positives |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, r] of rows) console.log(`| ${name} | ${r.found}/${r.cases} | ${r.byPatches} | ${r.bySound} | ${r.useRight}/${r.found} | ${r.wrong}/${r.cases} | ${r.falsePositives}/${r.negatives} |`);
  console.log(`| **all** | **${total.found}/${total.cases} (${pct(total.found, total.cases)})** | **${total.byPatches}** | **${total.bySound}** | **${pct(total.useRight, total.found)}** | **${total.wrong}/${total.cases}** | **${total.falsePositives}/${total.negatives}** |`);
} finally {
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
