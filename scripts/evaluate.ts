/**
 * npm run evaluate [-- --seconds 30] [--only 'crop']
 * The detection evaluation (issue 13): films generated with ffmpeg's lavfi sources are
 * registered on a fresh real server; each edit class re-uploaders use is applied to every
 * film, and, as negatives, to footage that is not registered; each result is checked
 * through the real CLI. Prints recall per class, false positives, and whether the implied
 * use (clip, recap, compilation, publish) was right, as a Markdown table.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Io } from '../src/cli/command.js';
import { main } from '../src/cli/main.js';
import { startServer } from '../src/http/server.js';
import { EDITS, FILMS, NEGATIVES, X264, ffmpeg, renderSources } from './lib/evaluation-set.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' }, only: { type: 'string' } } });
const SECONDS = Number(values.seconds);

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
  renderSources((name) => file(`${name}.mp4`), SECONDS);
  for (const name of Object.keys(FILMS)) {
    const r = await cli('register', file(`${name}.mp4`), '--key', 'owner', '--title', name);
    if (r.code !== 0) throw new Error(`registering ${name} failed`);
    works.set(JSON.parse(await readFile(file(`${name}.mp4.cartulary.json`), 'utf8')).receipt.id as string, name);
  }
  interface Row { cases: number; found: number; useRight: number; negatives: number; falsePositives: number }
  const rows = new Map<string, Row>();
  const check = async (upload: string) => {
    const r = await cli('check', upload, '--uploader', 'platform', '--territory', 'FR', '--json');
    if (r.code === 3 || r.code === 64) throw new Error(`checking ${upload} failed: ${r.err}`);
    const answer = JSON.parse(r.out) as { matches: Array<{ work: { id: string }; strength: string; use: string }> };
    return answer.matches.filter((m) => m.strength === 'match').map((m) => ({ film: works.get(m.work.id), use: m.use }));
  };
  const films = Object.keys(FILMS);
  const negatives = Object.keys(NEGATIVES);
  for (const edit of EDITS.filter((e) => !values.only || e.name.includes(values.only))) {
    const row: Row = { cases: 0, found: 0, useRight: 0, negatives: 0, falsePositives: 0 };
    for (const [i, film] of films.entries()) {
      const upload = file(`${film}-${EDITS.indexOf(edit)}.mp4`);
      ffmpeg([...edit.args(file(`${film}.mp4`), file(`${negatives[i % negatives.length]}.mp4`)), upload]);
      const found = await check(upload);
      row.cases++;
      const hit = found.find((f) => f.film === film);
      if (!hit) process.stderr.write(`    missed: ${film} (found ${found.map((f) => f.film).join(', ') || 'nothing'})\n`);
      if (hit) row.found++;
      if (hit && hit.use === edit.use) row.useRight++;
      else if (hit) process.stderr.write(`    use: ${film} answered ${hit.use}, not ${edit.use}\n`);
    }
    for (const [i, negative] of negatives.entries()) {
      const upload = file(`${negative}-${EDITS.indexOf(edit)}.mp4`);
      ffmpeg([...edit.args(file(`${negative}.mp4`), file(`${negatives[(i + 1) % negatives.length]}.mp4`)), upload]);
      row.negatives++;
      const found = await check(upload);
      if (found.length > 0) process.stderr.write(`    false positive: ${negative} (found ${found.map((f) => f.film).join(', ')})\n`);
      if (found.length > 0) row.falsePositives++;
    }
    rows.set(edit.name, row);
    process.stderr.write(`  ${edit.name}: ${row.found}/${row.cases}\n`);
  }
  // A compilation: a piece of two films in one upload.
  {
    const upload = file('compilation.mp4');
    ffmpeg(['-ss', '5', '-t', '8', '-i', file(`${films[0]}.mp4`), '-ss', '12', '-t', '8', '-i', file(`${films[1]}.mp4`), '-filter_complex', '[0:v][1:v]concat=n=2:v=1[v]', '-map', '[v]', ...X264, upload]);
    const found = await check(upload);
    const both = [films[0], films[1]].every((f) => found.some((x) => x.film === f));
    rows.set('compilation (2 films, 8 s each)', { cases: 1, found: both ? 1 : 0, useRight: both && found.every((f) => f.use === 'compilation') ? 1 : 0, negatives: 0, falsePositives: 0 });
  }
  const pct = (n: number, d: number) => (d === 0 ? '–' : `${Math.round((100 * n) / d)} %`);
  const total = [...rows.values()].reduce((t, r) => ({ cases: t.cases + r.cases, found: t.found + r.found, useRight: t.useRight + r.useRight, negatives: t.negatives + r.negatives, falsePositives: t.falsePositives + r.falsePositives }));
  console.log(`\n${films.length} registered films of ${SECONDS} s (${films.join(', ')}); negatives: ${negatives.join(', ')}, edited the same way\n`);
  console.log('| edit class | found | implied use right | false positives |');
  console.log('|---|---|---|---|');
  for (const [name, r] of rows) console.log(`| ${name} | ${r.found}/${r.cases} | ${r.useRight}/${r.found} | ${r.falsePositives}/${r.negatives} |`);
  console.log(`| **all** | **${total.found}/${total.cases} (${pct(total.found, total.cases)})** | **${pct(total.useRight, total.found)}** | **${total.falsePositives}/${total.negatives}** |`);
} finally {
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
