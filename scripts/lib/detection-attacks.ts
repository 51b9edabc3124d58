/**
 * Attacks on the fingerprint search (issue 10.2, 10.3): registrations stuffed with one frame
 * and a maximal check of frames built to hit it, while `/healthz` is probed. Each must be
 * answered without a 5xx, and the server must keep answering others meanwhile.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { toBase64 } from '../../src/core/bytes.js';
import { signStatement } from '../../src/core/cose.js';
import { randomSeed, sha256, signerFromSeed } from '../../src/core/crypto.js';
import { MAX_CHECK_FRAMES, MAX_CHECK_PATCHES } from '../../src/cli/media.js';
import { encodeFrames, FINGERPRINT_KIND, PATCH_KIND, type FrameHash } from '../../src/core/fingerprint.js';
import { encodeSound, encodeValues, MAX_CHECK_SOUND, MAX_REGISTERED_SOUND, SOUND_KIND } from '../../src/core/soundtrack.js';
import type { AttackResult } from './attacks.js';

/** How long `/healthz` took to answer while something else ran: the worst and how many probes. */
export interface HealthProbe {
  stop(): Promise<{ maxMs: number; probes: number }>;
}

/**
 * Probes `/healthz` one at a time, each 5 ms after the last answer, until stopped. A probe's
 * delay counts from when it was due, so a server that stalls between probes is seen too.
 */
export function probeHealth(url: string): HealthProbe {
  let running = true;
  let maxMs = 0;
  let probes = 0;
  const loop = (async () => {
    while (running) {
      const due = performance.now() + 5;
      await new Promise((r) => setTimeout(r, 5));
      await (await fetch(`${url}/healthz`)).arrayBuffer();
      maxMs = Math.max(maxMs, performance.now() - due);
      probes++;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { maxMs, probes };
    },
  };
}

/**
 * The CPU time, ms, the thread running this event loop has spent: Linux keeps it per thread
 * in nanoseconds (/proc/thread-self/schedstat). Elsewhere the process's, which also counts
 * the thread pool's work (signatures, LevelDB) and the garbage collector's helper threads.
 */
function loopThreadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  }
}

/**
 * The longest the event loop of this process (and so of the server in it) was held, in CPU
 * ms: the CPU time its thread spent between two ticks of a 1 ms timer. On a loaded machine
 * the wall time between ticks also counts the time spent waiting for a core; the CPU time
 * is the work the server did without letting anything else run.
 */
export function watchEventLoop(): () => number {
  let last = loopThreadCpuMs();
  let worst = 0;
  const timer = setInterval(() => {
    const now = loopThreadCpuMs();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  return () => {
    clearInterval(timer);
    return worst;
  };
}

/** A hash with `bits` of it flipped, at positions spread by `seed`. */
function flipped(hash: Uint8Array, seed: number, bits: number): Uint8Array {
  const out = hash.slice();
  for (let i = 0; i < bits; i++) {
    const bit = (seed * 7 + i * 37) % 128;
    out[bit >> 3] = (out[bit >> 3] as number) ^ (0x80 >> (bit & 7));
  }
  return out;
}

/** A POST through node:http: one write of a ready buffer, nothing for the client to encode. */
function post(url: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const frames = (n: number, hashOf: (i: number) => Uint8Array, stepMs: number): FrameHash[] => Array.from({ length: n }, (_, i) => ({ timeMs: i * stepMs, hash: hashOf(i) }));

export interface DetectionAttackOptions {
  /** the slowest a `/healthz` probe may be during the maximal check, ms (default 100) */
  healthLimitMs?: number;
  /**
   * When the server runs in this process: watches its event loop during the maximal check
   * and returns the longest it was held (ms), which must stay within `loopLimitMs`.
   */
  watchEventLoop?: () => () => number;
  /** default 100 */
  loopLimitMs?: number;
  /**
   * When the server runs in this process: the CPU time (this process's, user and system) a
   * maximal check may take, ms. `npm run attacks` sets it; the test suite does not, as CPU
   * time still depends on the machine. A search that got ten times dearer passed every
   * bound above (session 15): this one catches it.
   */
  cpuLimitMs?: number;
}

/**
 * Runs the attacks against `url`; the maximal check holds only if no `/healthz` probe meanwhile
 * took longer than the limit (and, when watched, the event loop was never held longer).
 */
export async function runDetectionAttacks(url: string, opts: DetectionAttackOptions = {}): Promise<AttackResult[]> {
  const healthLimitMs = opts.healthLimitMs ?? 100;
  const loopLimitMs = opts.loopLimitMs ?? 100;
  const results: AttackResult[] = [];
  const picture = sha256(randomSeed()).slice(0, 16);
  const submit = async (payload: Record<string, unknown>) => {
    const res = await fetch(`${url}/v1/statements`, { method: 'POST', body: Buffer.from(signStatement(payload, signerFromSeed(randomSeed()))), headers: { 'content-type': 'application/cose' } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const register = (list: FrameHash[], title: string, kind = FINGERPRINT_KIND) =>
    submit({ type: 'register', issuedAt: Date.now(), sha256: sha256(randomSeed()), size: 1, mediaType: 'video/mp4', title, fingerprints: [{ kind, value: encodeFrames(list) }] });
  // Bodies are encoded before they are sent, so the client's own work is not measured.
  const checkBody = (list: FrameHash[], mirrored: FrameHash[], patches: FrameHash[] = []) =>
    Buffer.from(
      JSON.stringify({
        fingerprints: { kind: FINGERPRINT_KIND, frames: toBase64(encodeFrames(list)), mirrored: toBase64(encodeFrames(mirrored)), ...(patches.length ? { patches: toBase64(encodeFrames(patches)) } : {}) },
        uploader: '00'.repeat(32),
        territory: 'FR',
      }),
    );
  const check = async (body: Buffer) => {
    const started = performance.now();
    const { status, text } = await post(`${url}/v1/check`, body);
    const answer = JSON.parse(text) as { matches?: unknown[] };
    return { status, ms: performance.now() - started, matches: answer.matches?.length ?? 0 };
  };
  // A check that holds if answered 200 while no /healthz probe (and, when watched, no turn of
  // the event loop) took longer than the limits.
  const watchedCheck = async (name: string, body: Buffer) => {
    const stopWatching = opts.watchEventLoop?.();
    const cpuBefore = process.cpuUsage();
    const probe = probeHealth(url);
    const answer = await check(body);
    const health = await probe.stop();
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const loopMs = stopWatching?.();
    results.push({
      name,
      held: answer.status === 200 && health.maxMs <= healthLimitMs && (loopMs ?? 0) <= loopLimitMs && cpuMs <= (opts.cpuLimitMs ?? Infinity),
      detail:
        `${answer.status} in ${Math.round(answer.ms)} ms, ${answer.matches} works; /healthz slowest ${Math.round(health.maxMs)} ms over ${health.probes} probes (limit ${healthLimitMs})` +
        `${loopMs === undefined ? '' : `; event loop held at most ${Math.round(loopMs)} ms (limit ${loopLimitMs})`}` +
        `${opts.cpuLimitMs === undefined ? '' : `; ${Math.round(cpuMs)} ms of CPU (limit ${opts.cpuLimitMs})`}`,
    });
  };

  // 750 copies of one frame, registered by four fresh keys: each is one frame in the index,
  // and the later ones (searched against the earlier) cost no more than the first.
  const identical = frames(750, () => picture, 1000);
  const times: number[] = [];
  for (let k = 0; k < 4; k++) {
    const started = performance.now();
    const r = await register(identical, `stuffed ${k}`);
    times.push(performance.now() - started);
    results.push({ name: `a registration of 750 identical frames (#${k + 1}, searched against the earlier ones)`, held: r.status === 201, detail: `${r.status} in ${Math.round(times[k] as number)} ms` });
  }

  // Works whose 750 distinct frames all share their first hash chunks, so they crowd the same
  // buckets: each later registration's search examines every earlier one's frames. It runs in
  // slices before the rules, so the server keeps answering (watched: the event loop).
  const shared = () => frames(750, () => { const h = sha256(randomSeed()).slice(0, 16); h.set(picture.subarray(0, 2), 0); h.set(picture.subarray(8, 10), 8); return h; }, 1000);
  const crowded = Array.from({ length: 12 }, shared);
  const stopWatchingRegistrations = opts.watchEventLoop?.();
  const crowdProbe = probeHealth(url);
  let crowdStatus = 201;
  const crowdStarted = performance.now();
  for (const [k, list] of crowded.entries()) crowdStatus = Math.max(crowdStatus, (await register(list, `crowded ${k}`)).status);
  const crowdMs = performance.now() - crowdStarted;
  const crowdHealth = await crowdProbe.stop();
  const crowdLoopMs = stopWatchingRegistrations?.();
  results.push({
    name: '12 registrations of 750 distinct frames crowding the same buckets, while /healthz is probed',
    held: crowdStatus === 201 && crowdHealth.maxMs <= healthLimitMs && (crowdLoopMs ?? 0) <= loopLimitMs,
    detail:
      `all ${crowdStatus} in ${Math.round(crowdMs)} ms; /healthz slowest ${Math.round(crowdHealth.maxMs)} ms (limit ${healthLimitMs})` +
      `${crowdLoopMs === undefined ? '' : `; event loop held at most ${Math.round(crowdLoopMs)} ms (limit ${loopLimitMs})`}`,
  });

  // 1,000 frames, each a bit away from the stuffed one (27 KB): once a stack overflow, a 500.
  const thousand = frames(1000, (i) => flipped(picture, i, 1 + (i % 3)), 250);
  const small = await check(checkBody(thousand, []));
  results.push({ name: 'a 1,000-frame check against the stuffed frames', held: small.status === 200, detail: `${small.status}, ${small.matches} works, ${Math.round(small.ms)} ms` });

  // Keypoint patches crowding the patch index likewise (a check's evidence only: registering
  // them searches nothing).
  for (const [k, list] of crowded.entries()) await register(list, `crowded patches ${k}`, PATCH_KIND);

  // The maximal checks: every frame and every mirror within a few bits of the stuffed frame,
  // against the crowded frames; then every patch likewise, against the crowded patches.
  const query = frames(MAX_CHECK_FRAMES, (i) => flipped(picture, i, 1 + (i % 4)), 250);
  const mirrored = frames(MAX_CHECK_FRAMES, (i) => flipped(picture, i + 1, 2 + (i % 3)), 250);
  await watchedCheck(`a maximal check (${MAX_CHECK_FRAMES.toLocaleString('en')} frames + mirrors) while /healthz is probed`, checkBody(query, mirrored));
  const patches = frames(MAX_CHECK_PATCHES, (i) => flipped(picture, i + 2, 1 + (i % 4)), 125);
  await watchedCheck(`a maximal check of keypoint patches (${MAX_CHECK_PATCHES.toLocaleString('en')}, with one frame) while /healthz is probed`, checkBody(query.slice(0, 1), [], patches));

  // Soundtracks (issue 13.6): 32 works of one soundtrack (every value at the most postings a
  // value may have and still be looked up), then the largest sound check the API takes, its
  // values theirs but scattered, so every lookup votes and no alignment gathers two votes.
  const soundtrack = Uint32Array.from({ length: MAX_REGISTERED_SOUND }, (_, i) => new DataView(sha256(Uint8Array.of(i >> 8, i & 255, ...picture)).buffer).getUint32(0));
  for (let k = 0; k < 32; k++) {
    await submit({ type: 'register', issuedAt: Date.now(), sha256: sha256(randomSeed()), size: 1, mediaType: 'audio/ogg', title: `shared sound ${k}`, fingerprints: [{ kind: SOUND_KIND, value: encodeSound({ step: 1, values: soundtrack }) }] });
  }
  const scattered = Uint32Array.from({ length: MAX_CHECK_SOUND }, (_, i) => soundtrack[(i * 7) % soundtrack.length] as number);
  const soundBody = Buffer.from(JSON.stringify({ sound: { kind: SOUND_KIND, values: toBase64(encodeValues(scattered)) }, uploader: '00'.repeat(32), territory: 'FR' }));
  await watchedCheck(`a maximal sound check (${MAX_CHECK_SOUND.toLocaleString('en')} values) against 32 works of one soundtrack, while /healthz is probed`, soundBody);
  return results;
}
