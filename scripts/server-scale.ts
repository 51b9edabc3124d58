/**
 * npm run bench:server-scale [-- --frames 10000000] [--checks 200] [--patches [--patches-a-second 8]] [--keep DIR] [--cpu-prof DIR]
 * Issue 13.7 on a real server: a child `serve` process is filled through HTTP with
 * registrations of 720 frame records each (random hashes, as `npm run bench:fingerprints`
 * fills its in-process index) until it holds `--frames` records, then restarted (its index
 * rebuilt from the stored records, as after a crash; then restarted again, its indexes
 * reopened as the first restart's clean shutdown saved them), and asked `--checks` times to check a
 * 60-second upload (1,680 query hashes, a quarter of its times planted from registered
 * works). Reports the fill rate, the restart time, the server's own resident memory (anon;
 * LevelDB's mapped table pages are reported apart, the kernel reclaims them at will), and the
 * check's latency over HTTP (fingerprints, search, verdict, evidence), p50 and p99, with the
 * share of planted frames the answers' segments cover. `--patches`: each registration carries
 * half its records as frames and half as keypoint patches (a film of a minute or so), so the
 * patch index holds as many records as the frame index, and each check also sends random
 * patches, `--patches-a-second` (8: the frame's; 32 with a picture in bands and two inner
 * pictures) for each of its 60 seconds. `--keep DIR` keeps the ledger, or
 * grows the one there (uploads are then planted from works read back from it); `--cpu-prof
 * DIR` profiles the server. Needs a quiet machine: ~15 minutes at 10 M records on 2 cores.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { toBase64 } from '../src/core/bytes.js';
import { signStatement } from '../src/core/cose.js';
import { randomSeed, sha256, signerFromSeed } from '../src/core/crypto.js';
import { decodeFrames, encodeFrames, FINGERPRINT_KIND, PATCH_KIND, type FrameHash } from '../src/core/fingerprint.js';
import { PATCHES_SENT } from '../src/core/keypoints.js';
import { memoryOf, startChildServer, type ChildServer } from './lib/child-server.js';
import { PER_WORK, plantedUpload, registeredFrames, type Planted } from './lib/fingerprint-bench.js';
import { load, percentile } from './lib/load.js';

const { values } = parseArgs({ options: { frames: { type: 'string', default: '10000000' }, checks: { type: 'string', default: '200' }, patches: { type: 'boolean', default: false }, 'patches-a-second': { type: 'string', default: String(PATCHES_SENT) }, keep: { type: 'string' }, 'cpu-prof': { type: 'string' } } });
// Frame records a registration carries; with --patches, as many patch records beside them.
const perWork = values.patches ? PER_WORK / 2 : PER_WORK;
const perSecond = Number(values['patches-a-second']);
const target = Number(values.frames);
const checks = Number(values.checks);
const dir = values.keep ?? (await mkdtemp(join(tmpdir(), 'cartulary-server-scale-')));
await mkdir(dir, { recursive: true });
const profile = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : [];
const serve = () => startChildServer(join(dir, 'data'), join(dir, 'keys'), { args: ['--check-rate-limit', '1000000'], captureStdout: false, env: { LOG_LEVEL: 'warn' }, nodeArgs: profile });
const framesHeld = async (url: string) => Number(/^cartulary_fingerprint_index_frames (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
const stop = async (s: ChildServer) => {
  // A server that exited before it was asked, or whose shutdown saved nothing, says why.
  const before = s.child.exitCode ?? s.child.signalCode;
  s.child.kill('SIGTERM');
  await s.exited;
  if (before !== null || /not saved|error|fatal/i.test(s.output())) console.warn(`the server${before !== null ? ` had already exited (${before})` : ''}; its last output:\n${s.output().slice(-2000)}`);
};

let server = await serve();
try {
  // ---- fill: registrations over HTTP, four at a time, until the index holds the target
  const held = await framesHeld(server.url);
  const works = Math.ceil(Math.max(0, target - held) / perWork);
  const signers = Array.from({ length: 16 }, () => signerFromSeed(randomSeed()));
  // The works the uploads are made of: the first 200 registered by this run, by title (unique).
  const sample: Array<{ work: string; frames: FrameHash[] }> = [];
  const fillStarted = performance.now();
  let lastReport = fillStarted;
  const fill = await load(server.url, {
    concurrency: 4,
    durationMs: 24 * 3600 * 1000,
    keepBodies: (status) => status >= 400,
    next: (i) => {
      if (i >= works) return undefined;
      const frames = registeredFrames(perWork);
      const title = `scale ${held + i * perWork}`;
      const fingerprints = [{ kind: FINGERPRINT_KIND, value: encodeFrames(frames) }, ...(values.patches ? [{ kind: PATCH_KIND, value: encodeFrames(registeredFrames(perWork)) }] : [])];
      const payload = { type: 'register', issuedAt: Date.now(), sha256: sha256(randomSeed()), size: 1, mediaType: 'video/mp4', title, fingerprints };
      if (sample.length < 200) sample.push({ work: title, frames });
      if (performance.now() - lastReport > 30_000) {
        lastReport = performance.now();
        process.stderr.write(`  ${i.toLocaleString('en')} of ${works.toLocaleString('en')} registrations, ${((i * perWork) / ((lastReport - fillStarted) / 1000)).toFixed(0)} frames/s\n`);
      }
      return { method: 'POST', path: '/v1/statements', body: Buffer.from(signStatement(payload, signers[i % signers.length]!)), contentType: 'application/cose' };
    },
  });
  const fillSeconds = (performance.now() - fillStarted) / 1000;
  if (fill.errors > 0) throw new Error(`${fill.errors} registrations refused: ${fill.bodies[0] ?? ''}`);
  const filled = await framesHeld(server.url);
  await stop(server);

  // ---- restarts: the indexes rebuilt from the stored records (their saved state removed
  // first, as after a crash), then reopened as that server's clean shutdown saved them
  const restart = async () => {
    const started = performance.now();
    server = await serve();
    return (performance.now() - started) / 1000;
  };
  await rm(join(dir, 'data', 'fingerprint-index.state'), { force: true });
  const rebuildSeconds = await restart();
  const stopStarted = performance.now();
  await stop(server);
  const stopSeconds = (performance.now() - stopStarted) / 1000;
  const reopenSeconds = await restart();
  const memory = await memoryOf(server.child.pid!);

  // A kept ledger grown by nothing this run: its works are read back, 200 spread over it.
  if (sample.length === 0 && filled > 0) {
    const { size } = (await (await fetch(`${server.url}/v1/log`)).json()) as { size: number };
    for (let k = 0; k < 200; k++) {
      const entry = (await (await fetch(`${server.url}/v1/entries/${Math.floor((k * size) / 200)}`)).json()) as { payload: { title?: string; fingerprints?: Array<{ kind: string; value: string }> } };
      const value = entry.payload.fingerprints?.find((f) => f.kind === FINGERPRINT_KIND)?.value;
      if (value && entry.payload.title) sample.push({ work: entry.payload.title, frames: decodeFrames(Buffer.from(value, 'hex')) });
    }
  }

  // ---- checks: a 60 s upload, one at a time, over HTTP
  const latencies: number[] = [];
  let planted = 0;
  let covered = 0;
  let worksFound = 0;
  let worksPlanted = 0;
  for (let k = 0; k < checks && sample.length > 0; k++) {
    const upload = plantedUpload(sample);
    const whole = upload.frames.filter((f) => f.mirrored !== undefined);
    const body = JSON.stringify({
      fingerprints: {
        kind: FINGERPRINT_KIND,
        frames: toBase64(encodeFrames(upload.frames)),
        mirrored: toBase64(encodeFrames(whole.map((f) => ({ timeMs: f.timeMs, hash: f.mirrored! })))),
        ...(values.patches ? { patches: toBase64(encodeFrames(registeredFrames(60 * perSecond).map((p, j) => ({ ...p, timeMs: Math.floor(j / perSecond) * 1000 })))) } : {}),
      },
      uploader: '00'.repeat(32),
      territory: 'FR',
    });
    const t = performance.now();
    const res = await fetch(`${server.url}/v1/check`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const answer = (await res.json()) as { matches?: Array<{ work: { id: string; title: string }; segments: Array<{ upload: [number, number] }> }> };
    latencies.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`check answered ${res.status}: ${JSON.stringify(answer)}`);
    // A planted frame counts as found when a segment of its work covers its upload time.
    const matches = answer.matches ?? [];
    const inSegment = (p: Planted) => matches.some((m) => m.work.title === p.work && m.segments.some((s) => s.upload[0] <= p.queryMs && p.queryMs <= s.upload[1]));
    planted += upload.planted.length;
    covered += upload.planted.filter(inSegment).length;
    const plantedWorks = new Set(upload.planted.map((p) => p.work));
    worksPlanted += plantedWorks.size;
    worksFound += [...plantedWorks].filter((w) => matches.some((m) => m.work.title === w)).length;
  }
  latencies.sort((a, b) => a - b);
  const after = await memoryOf(server.child.pid!);
  console.log(`Server at scale (issue 13.7): ${filled.toLocaleString('en')} frame records in the index (${dir})`);
  console.log('| frame records | fill | restart: indexes rebuilt, shutdown (indexes saved), reopened | server RSS, own (anon): restarted, after the checks | mapped files (after) | 60 s upload checked over HTTP: p50 | p99 | planted frames in a segment | planted works matched |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  console.log(
    `| ${filled.toLocaleString('en')}${values.patches ? ` (+ as many patches; ${60 * perSecond} patches a check)` : ''} | ${works > 0 ? `${works.toLocaleString('en')} registrations in ${fillSeconds.toFixed(0)} s (${((works * perWork) / fillSeconds).toFixed(0)} frames/s)` : 'kept'} | ${rebuildSeconds.toFixed(1)} s, ${stopSeconds.toFixed(1)} s, ${reopenSeconds.toFixed(1)} s | ${memory.anon.toFixed(0)} MB, ${after.anon.toFixed(0)} MB | ${after.file.toFixed(0)} MB | ${percentile(latencies, 50).toFixed(1)} ms | ${percentile(latencies, 99).toFixed(1)} ms | ${planted ? ((100 * covered) / planted).toFixed(0) : '–'} % | ${worksPlanted ? `${worksFound}/${worksPlanted}` : '–'} |`,
  );
} finally {
  await stop(server);
  if (!values.keep) await rm(dir, { recursive: true, force: true });
}
