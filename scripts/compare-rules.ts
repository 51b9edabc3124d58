/**
 * npm run evaluate:rules [-- --seconds 20] [--only NAME] [--set generated|debian] [--cache DIR]
 * What a new matching-rules version changes, on the detection evaluation set (issue 13):
 * every upload of `npm run evaluate` is fingerprinted once, in process, and searched under
 * each version of the rules from 2 on against the same index of the registered films; the
 * works each finds at `match` strength are compared. The end-to-end evaluation edits and
 * fingerprints afresh each run, with the rules in force; this holds the uploads fixed and
 * searches each under every version, so every difference is the rules'.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fingerprintFile, fingerprintOrNote } from '../src/cli/media.js';
import type { Io } from '../src/cli/command.js';
import { segmentsOf } from '../src/core/segments.js';
import { MATCHING_RULES, SimilarityIndex, type QueryFrame } from '../src/core/similarity.js';
import { debianSet } from './lib/debian-footage.js';
import { EDITS, applies, ffmpeg, generatedSet, type Source } from './lib/evaluation-set.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '20' }, only: { type: 'string' }, set: { type: 'string', default: 'generated' }, cache: { type: 'string', default: join(homedir(), '.cache', 'cartulary-footage') } },
});
const quiet: Io = { out: () => {}, err: () => {}, progress: false };
const dir = await mkdtemp(join(tmpdir(), 'cartulary-rules-'));
const file = (name: string) => join(dir, `${name}.mp4`);
const versions = MATCHING_RULES.filter((r) => r.version >= 2);

try {
  const set = values.set === 'debian' ? debianSet(values.cache) : generatedSet(file, Number(values.seconds));
  const index = new SimilarityIndex();
  for (const [i, film] of set.films.entries()) index.add(film.name, i, (await fingerprintFile(film.path, 'video', 'register', quiet)).frames);
  const films = set.films.length;
  const { negatives } = set;
  const found = new Map(versions.map((r) => [r.version, { films: 0, falsePositives: 0 }]));
  const differences: string[] = [];
  let cases = 0;
  let negativeCases = 0;
  for (const [e, edit] of EDITS.entries()) {
    if (values.only && !edit.name.includes(values.only)) continue;
    for (const [i, source] of [...set.films, ...negatives].entries()) {
      if (!applies(edit, source)) continue;
      const upload = join(dir, `upload-${e}-${i}.mp4`);
      ffmpeg([...edit.args(source, (negatives[i % negatives.length] as Source).path), upload]);
      // An edit of a very short source may leave no video at all: it is checked by its SHA-256 only, and finds nothing here.
      const { frames, mirrored } = await fingerprintOrNote(upload, 'video', 'check', quiet);
      await rm(upload);
      const mirrorAt = new Map(mirrored.map((m) => [m.timeMs, m.hash]));
      const query: QueryFrame[] = frames.map((f) => {
        const m = mirrorAt.get(f.timeMs);
        return m ? { ...f, mirrored: m } : f;
      });
      const film = i < films;
      if (film) cases++;
      else negativeCases++;
      const answers = versions.map((rules) => {
        const works = segmentsOf(index.search(query, { rules })).filter((m) => m.strength === 'match').map((m) => m.work);
        const tally = found.get(rules.version) as { films: number; falsePositives: number };
        if (film && works.includes(source.name)) tally.films++;
        if (!film && works.length > 0) tally.falsePositives++;
        return works.join(', ') || 'nothing';
      });
      if (new Set(answers).size > 1) differences.push(`| ${edit.name} | ${source.name} | ${answers.join(' | ')} |`);
    }
  }
  console.log(`${cases} uploads of registered films, ${negativeCases} of unregistered footage (${set.description}), each fingerprinted once\n`);
  console.log('| matching rules | films found | false positives |\n|---|---|---|');
  for (const r of versions) {
    const t = found.get(r.version) as { films: number; falsePositives: number };
    console.log(`| ${r.version} | ${t.films}/${cases} | ${t.falsePositives}/${negativeCases} |`);
  }
  console.log(differences.length === 0 ? '\nNo upload is answered differently.' : `\n| edit | upload | ${versions.map((r) => `rules ${r.version}`).join(' | ')} |\n|---|---|${versions.map(() => '---|').join('')}\n${differences.join('\n')}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
