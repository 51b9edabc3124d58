/**
 * The cost of evidence against histories a hostile party builds so that a victim's evidence (GET
 * /v1/works/{id}/evidence) and every check of the victim's content (POST /v1/check) read and
 * carry chains the attacker grows at will. Real server (a child process), real signatures,
 * LevelDB, HTTP. The server's CPU is read from /proc; /healthz is probed all along.
 *
 *   node --import tsx scripts/evidence-cost.ts rivals  [--chains 15] [--licences 2000]
 *   node --import tsx scripts/evidence-cost.ts search  [--chains 63] [--licences 2000]
 *   node --import tsx scripts/evidence-cost.ts own     [--licences 30000]   (the documented case, for comparison)
 *
 * rivals: no mediator. Sixteen lookalikes of a film registered ahead of it, each bought by the
 *   key that registers the next; the victim's registration of the film cites them all, and
 *   ownedRivals carries fifteen of them whole — with every licence the attacker grants on them,
 *   at any time after.
 * search: one honest decision on the victim's content (an award to the victim, made on one of
 *   the attacker's copies). The attacker's other copies, licensed before it, revoke their
 *   licences after it and a fresh key registers the content again: standingDecisions reads
 *   every revocation of 63 chains (up to 1,000 leaves parsed in one turn) for each request.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { toBase64, toHex } from '../src/core/bytes.js';
import { signStatement } from '../src/core/cose.js';
import { randomSeed, sha256, signerFromSeed, type Signer } from '../src/core/crypto.js';
import { encodeFrames, FINGERPRINT_KIND } from '../src/core/fingerprint.js';
import { verifyBundle } from '../src/verify/index.js';
import { startChildServer } from './lib/child-server.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { chains: { type: 'string' }, licences: { type: 'string' } } });
const scenario = positionals[0] ?? 'rivals';
const LICENCES = Number(values.licences ?? 2000);

type Party = Signer & { id: string };
const party = (): Party => {
  const s = signerFromSeed(randomSeed());
  return Object.assign(s, { id: toHex(s.publicKey) });
};
const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
let n = 0;
const bytes = (label: string) => new TextEncoder().encode(`${label} ${++n} ${Math.random()}`);
const frames = Array.from({ length: 12 }, (_, i) => ({ timeMs: i * 1000, hash: sha256(bytes('frame')).subarray(0, 16) }));
const printed = { fingerprints: [{ kind: FINGERPRINT_KIND, value: encodeFrames(frames) }] };
const s = {
  register: (p: Signer, file: Uint8Array, extra: Record<string, unknown> = {}) =>
    signStatement({ type: 'register', issuedAt: Date.now(), sha256: sha256(file), size: file.length, mediaType: 'video/mp4', title: 'A film', ...extra }, p),
  transfer: (p: Signer, work: string, to: string) => signStatement({ type: 'transfer', issuedAt: Date.now(), work: hex(work), to: hex(to) }, p),
  license: (p: Signer, work: string, to: string) => signStatement({ type: 'license', issuedAt: Date.now(), work: hex(work), licensee: hex(to), uses: ['clip'], territories: ['*'] }, p),
  revoke: (p: Signer, licence: string) => signStatement({ type: 'revoke', issuedAt: Date.now(), license: hex(licence) }, p),
  accredit: (p: Signer, mediator: string) => signStatement({ type: 'accredit', issuedAt: Date.now(), mediator: hex(mediator) }, p),
  resolve: (p: Signer, work: string, decision: string, extra: Record<string, unknown> = {}) => signStatement({ type: 'resolve', issuedAt: Date.now(), work: hex(work), decision, ...extra }, p),
};

const dir = await mkdtemp(join(tmpdir(), 'cartulary-evidence-cost-'));
const registrar = party();
const server = await startChildServer(join(dir, 'data'), join(dir, 'keys'), {
  args: ['--registrar', registrar.id, '--rate-limit', '100000000', '--check-rate-limit', '100000000'],
  captureStdout: false,
});
const url = server.url;
const pid = server.child.pid as number;
const cpuMs = async () => {
  const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, clock ticks of 10 ms
};
const rssMb = async () => Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

async function submit(statement: Uint8Array): Promise<{ id: string; index: number }> {
  const res = await fetch(`${url}/v1/statements`, { method: 'POST', body: Buffer.from(statement), headers: { 'content-type': 'application/cose' } });
  const body = (await res.json()) as { id: string; index: number; detail?: string };
  if (res.status >= 300) throw new Error(`${res.status}: ${body.detail}`);
  return body;
}
async function batch(statements: Uint8Array[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < statements.length; i += 1000) {
    const body = JSON.stringify({ statements: statements.slice(i, i + 1000).map(toBase64) });
    // (a keep-alive socket the server closed after 5 s idle, while the statements were signed, is retried)
    const post = () => fetch(`${url}/v1/statements/batch`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const res = await post().catch(post);
    const { results } = (await res.json()) as { results: Array<{ id?: string; detail?: string }> };
    for (const r of results) {
      if (!r.id) throw new Error(`refused in batch: ${r.detail}`);
      ids.push(r.id);
    }
  }
  return ids;
}

/** One request, with the server's CPU, its answer's size, and the slowest /healthz answered meanwhile. */
async function measure(what: string, request: () => Promise<Response>) {
  let slowest = 0;
  let probing = true;
  const probe = (async () => {
    while (probing) {
      const t = performance.now();
      await fetch(`${url}/healthz`);
      slowest = Math.max(slowest, performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const cpu0 = await cpuMs();
  const t0 = performance.now();
  const res = await request();
  const text = await res.text();
  const wall = performance.now() - t0;
  const cpu = (await cpuMs()) - cpu0;
  probing = false;
  await probe;
  let entries = -1;
  let verified = '';
  try {
    const json = JSON.parse(text) as { entries?: unknown[]; evidence?: { entries: unknown[] } };
    const bundle = json.entries ? json : json.evidence;
    entries = bundle?.entries?.length ?? -1;
    if (bundle) {
      const v = verifyBundle(bundle, verifierKey);
      verified = v.ok ? 'verifies' : `FAILS ${v.failure?.code}`;
    }
  } catch {
    verified = `not JSON: ${text.slice(0, 200)}`;
  }
  console.log(`${what}: HTTP ${res.status}, ${(wall / 1000).toFixed(2)} s, server CPU ${(cpu / 1000).toFixed(2)} s, ${(text.length / 1e6).toFixed(1)} MB, ${entries} entries, ${verified}; slowest /healthz meanwhile ${slowest.toFixed(0)} ms; server peak RSS ${(await rssMb()).toFixed(0)} MB`);
}

const log = (await (await fetch(`${url}/v1/log`)).json()) as { verifierKey: string };
const verifierKey = log.verifierKey;
const victim = party();
const film = bytes('film');
let victimWork = '';
const grant = async (owners: Array<{ owner: Party; work: string }>, count: number) => {
  const t = performance.now();
  const statements = owners.flatMap(({ owner, work }) => Array.from({ length: count }, () => s.license(owner, work, party().id)));
  const ids = await batch(statements);
  console.log(`attacker: ${statements.length} licences on ${owners.length} works in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return ids;
};

try {
  if (scenario === 'own') {
    victimWork = (await submit(s.register(victim, film, printed))).id;
    await measure('victim work, before', () => fetch(`${url}/v1/works/${victimWork}/evidence`));
    await grant([{ owner: victim, work: victimWork }], LICENCES);
    await measure(`a work licensed ${LICENCES} times (documented): GET evidence`, () => fetch(`${url}/v1/works/${victimWork}/evidence`));
  } else if (scenario === 'rivals') {
    const chains = Number(values.chains ?? 15);
    // Ahead of the film: lookalikes L1…L(chains+1), each bought by the key that registers the next.
    const keys = Array.from({ length: chains + 1 }, () => party());
    const rivals: Array<{ owner: Party; work: string }> = [];
    for (const [i, key] of keys.entries()) {
      const work = (await submit(s.register(key, bytes(`lookalike ${i}`), printed))).id;
      if (i < chains) {
        await submit(s.transfer(key, work, keys[i + 1]!.id));
        rivals.push({ owner: keys[i + 1]!, work });
      }
    }
    victimWork = (await submit(s.register(victim, film, printed))).id;
    const checkBody = JSON.stringify({ sha256: toHex(sha256(film)), uploader: party().id, use: 'publish', territory: 'FR' });
    await measure('victim work, before the licences', () => fetch(`${url}/v1/works/${victimWork}/evidence`));
    await grant(rivals, LICENCES);
    await measure('victim work: GET /v1/works/{id}/evidence', () => fetch(`${url}/v1/works/${victimWork}/evidence`));
    await measure("a platform's check of the victim's film: POST /v1/check", () => fetch(`${url}/v1/check`, { method: 'POST', body: checkBody, headers: { 'content-type': 'application/json' } }));
  } else if (scenario === 'search') {
    const chains = Number(values.chains ?? 63);
    const mediator = party();
    await submit(s.accredit(registrar, mediator.id));
    victimWork = (await submit(s.register(victim, film))).id;
    // the attacker's copies of the film, each licensed before any decision
    const copies: Array<{ owner: Party; work: string }> = [];
    for (let i = 0; i < chains + 1; i++) {
      const owner = party();
      copies.push({ owner, work: (await submit(s.register(owner, film))).id });
    }
    const licences = await grant(copies.slice(1), LICENCES);
    // an honest mediator rules the first copy's contest: title to the victim
    await submit(s.resolve(mediator, copies[0]!.work, 'award', { award: hex(victimWork) }));
    const checkBody = JSON.stringify({ sha256: toHex(sha256(film)), uploader: party().id, use: 'publish', territory: 'FR' });
    await measure('victim work, after the decision', () => fetch(`${url}/v1/works/${victimWork}/evidence`));
    // the superseded copies' owners may still revoke: every revocation is an entry of their chains
    const t = performance.now();
    await batch(licences.map((id, i) => s.revoke(copies[1 + Math.floor(i / LICENCES)]!.owner, id)));
    console.log(`attacker: ${licences.length} revocations in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    await measure('victim work, revocations in, before the reopening', () => fetch(`${url}/v1/works/${victimWork}/evidence`));
    await submit(s.register(party(), film)); // reopens the decided contest
    await measure('victim work: GET /v1/works/{id}/evidence', () => fetch(`${url}/v1/works/${victimWork}/evidence`));
    await measure("a platform's check of the victim's film: POST /v1/check", () => fetch(`${url}/v1/check`, { method: 'POST', body: checkBody, headers: { 'content-type': 'application/json' } }));
  } else if (scenario === 'decisions') {
    // A mediator the attacker controls (accredited, perhaps since withdrawn: its decisions stay)
    // dismisses the contest on the victim's content N times, each reopened by a fresh key's
    // registration: every decision is on the attacker's copy's chain, which the award brings in.
    const decisions = Number(values.licences ?? 5000);
    const mediator = party();
    await submit(s.accredit(registrar, mediator.id));
    victimWork = (await submit(s.register(victim, film))).id;
    const attacker = party();
    const copy = (await submit(s.register(attacker, film))).id;
    const t = performance.now();
    // (one at a time: a batch's statements are sequenced in no set order)
    for (let i = 0; i < decisions; i++) {
      await submit(s.resolve(mediator, copy, 'dismiss'));
      await submit(s.register(party(), film));
    }
    console.log(`attacker: ${decisions} dismissals, each reopened, in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const checkBody = JSON.stringify({ sha256: toHex(sha256(film)), uploader: party().id, use: 'publish', territory: 'FR' });
    await measure('victim work: GET /v1/works/{id}/evidence', () => fetch(`${url}/v1/works/${victimWork}/evidence`));
    await measure("a platform's check of the victim's film: POST /v1/check", () => fetch(`${url}/v1/check`, { method: 'POST', body: checkBody, headers: { 'content-type': 'application/json' } }));
  }
} catch (e) {
  console.log('FAILED:', e, '\nserver exit code:', server.child.exitCode, '\nserver output tail:', server.output().slice(-3000));
  process.exitCode = 1;
} finally {
  server.child.kill('SIGTERM');
  await server.exited;
  await rm(dir, { recursive: true, force: true });
}
