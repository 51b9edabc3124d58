/**
 * The explorer page (served at `/`): look up a file, a work, a licence or a party; show a
 * work's chain of title with profile names; verify its evidence here, in the browser, with
 * the project's own verifier against a ledger key the reader pins. Plain DOM: every value
 * from the ledger is set as text, never as markup.
 */
import { certificateHtml } from '../certificate/html.js';
import { toHex } from '../core/bytes.js';
import { hashBlob } from './hash-blob.js';
import type { CheckQuery } from '../core/check.js';
import type { TitledWork } from '../core/disputes.js';
import type { LicenceRecord } from '../core/records.js';
import { BUNDLE_FORMAT, jsonNestsAtMost, MAX_BUNDLE_DEPTH, type EvidenceBundle } from '../verify/bundle.js';
import { describeEntry, partiesOf, profileNames, rivalNote, shortId, timeline, titleStatusText, withoutBidiControls } from '../verify/timeline.js';
import { verifyBundle, type VerifyResult } from '../verify/verify-bundle.js';

const KEY_STORAGE = 'cartulary.ledgerKey';

const byId = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, attrs: Record<string, string> = {}, ...children: Node[]) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = withoutBidiControls(text);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

class ApiError extends Error {}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  if (!res.ok) {
    const problem = (await res.json().catch(() => null)) as { detail?: string } | null;
    throw new ApiError(problem?.detail ?? `the ledger answered ${res.status}`);
  }
  return (await res.json()) as T;
}

const status = (text: string) => (byId('status').textContent = text);
const utc = (ms: number | null) => (ms === null ? 'open' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'));

/** A work as GET /v1/works/:id serves it: its first licences inline, with their standing now. */
type WorkView = TitledWork & { licences: Array<LicenceRecord & { standing: string }> };

interface Opened {
  id: string;
  bundle: EvidenceBundle;
  names: Map<string, string>;
  /** the SHA-256 of the file the reader looked up, when the work was found by it */
  fileSha256?: Uint8Array;
  result?: VerifyResult;
  verified?: EvidenceBundle;
  /** when it was verified: the licences' standing is given as of then, and a certificate says so */
  verifiedAt?: number;
  /** a check's evidence chosen as a file: the question it answers, which it is verified about (else the work shown) */
  check?: CheckQuery;
}
let opened: Opened | null = null;

const pinnedKey = () => (byId<HTMLInputElement>('ledger-key').value.trim());
const nameOf = (names: Map<string, string>) => (party: string) => {
  const name = names.get(party);
  return name ? `${name} (${shortId(party)})` : shortId(party);
};

async function showLog(): Promise<void> {
  const log = await getJson<{ origin: string; size: number; checkpoint: string }>('/v1/log');
  const signatures = log.checkpoint.split('\n').filter((l) => l.startsWith('— ')).length;
  byId('log-summary').textContent = `${log.origin}: ${log.size} entries; the latest checkpoint carries ${signatures} signature${signatures === 1 ? '' : 's'}${signatures > 1 ? ' (ledger and witnesses)' : ' (the ledger’s)'}.`;
  byId('log-checkpoint').textContent = log.checkpoint;
}

function fact(dl: HTMLElement, term: string, value: string, cls = ''): void {
  dl.append(el('dt', term), el('dd', value, cls ? { class: cls } : {}));
}

function showWork(work: WorkView, o: Opened): void {
  const name = nameOf(o.names);
  byId('work-title').textContent = withoutBidiControls(work.title);
  const facts = byId('work-facts');
  facts.replaceChildren();
  fact(facts, 'Work id', work.id, 'id');
  fact(facts, 'Content SHA-256', work.sha256, 'id');
  fact(facts, 'Registrant', `${name(work.registrant)} — ${work.registrant}`, 'id');
  fact(facts, 'Owner', `${name(work.owner)} — ${work.owner}`, 'id');
  fact(facts, 'Registered', utc(work.registeredAt));
  fact(facts, 'Status', titleStatusText(work, utc));

  byId('timeline').replaceChildren(
    ...timeline(o.bundle).map((e) => {
      return el('li', undefined, {}, el('time', `#${e.index} · ${utc(e.time)}`, { datetime: new Date(e.time).toISOString() }), document.createTextNode(describeEntry(e, name) + rivalNote(e, work)));
    }),
  );
  byId('licence-count').textContent =
    work.licenceCount > work.licences.length ? `The first ${work.licences.length} of ${work.licenceCount} licences:` : `${work.licenceCount} licence${work.licenceCount === 1 ? '' : 's'}.`;
  byId('licences').querySelector('tbody')!.replaceChildren(
    ...work.licences.map((l) =>
      el('tr', undefined, {}, el('td', name(l.licensee)), el('td', `${l.uses.join(', ')}${l.exclusive ? ' (exclusive)' : ''}`), el('td', l.territories.join(', ')), el('td', `${utc(l.validFrom)} → ${utc(l.validUntil)}`), el('td', l.standing)),
    ),
  );
  byId<HTMLTextAreaElement>('bundle').value = JSON.stringify(o.bundle, null, 2);
  byId('work').hidden = false;
}

/** Takes the last work off the page, so nothing stale is read as the answer to a new lookup. */
function clearWork(): void {
  opened = null;
  byId('work').hidden = true;
  byId('verdict').textContent = '';
  byId('checks').replaceChildren();
  byId<HTMLButtonElement>('certificate').disabled = true;
}

async function openWork(id: string, fileSha256?: Uint8Array): Promise<void> {
  clearWork();
  status(`Loading work ${shortId(id)}…`);
  const [work, bundle] = await Promise.all([
    getJson<WorkView>(`/v1/works/${id}`),
    getJson<EvidenceBundle>(`/v1/works/${id}/evidence`),
  ]);
  const names = await profileNames(partiesOf(timeline(bundle)), getJson);
  opened = { id, bundle, names, ...(fileSha256 ? { fileSha256 } : {}) };
  showWork(work, opened);
  status(`Work “${work.title}”.`);
  if (pinnedKey()) verify();
}

function verify(): void {
  if (!opened) return;
  const verdict = byId('verdict');
  const checks = byId('checks');
  checks.replaceChildren();
  const key = pinnedKey();
  if (!key) {
    verdict.textContent = 'Pin a ledger key first: the evidence is checked against the key you trust, not one the server hands out.';
    verdict.className = 'fail';
    return;
  }
  let result: VerifyResult;
  let input: unknown;
  try {
    const text = byId<HTMLTextAreaElement>('bundle').value;
    if (!jsonNestsAtMost(text, MAX_BUNDLE_DEPTH)) throw new Error(`the bundle nests deeper than ${MAX_BUNDLE_DEPTH} levels: no evidence bundle does`);
    input = JSON.parse(text);
    // The page shows work `opened.id`: the evidence must be about it, whatever the server sent.
    opened.verifiedAt = Date.now();
    const about = opened.check ? { check: opened.check } : { work: opened.id };
    result = verifyBundle(input, key, { about, standingAt: opened.verifiedAt, ...(opened.fileSha256 ? { fileSha256: opened.fileSha256 } : {}) });
  } catch (e) {
    result = { ok: false, holds: [], failure: { code: 'bad-shape', detail: (e as Error).message }, works: [], licences: [], claims: [], resolutions: [] };
  }
  opened.result = result;
  opened.verified = input as EvidenceBundle;
  checks.append(...result.holds.map((h) => el('li', `✓ ${h}`, { class: 'ok' })));
  if (result.failure) checks.append(el('li', `✗ ${result.failure.code}: ${result.failure.detail}`, { class: 'fail' }));
  verdict.textContent = result.ok ? `✓ Verified in this browser, as of tree size ${result.asOfSize}.` : '✗ The evidence does NOT verify.';
  verdict.className = result.ok ? 'ok' : 'fail';
  byId<HTMLButtonElement>('certificate').disabled = !result.ok;
}

function downloadCertificate(): void {
  if (!opened?.result?.ok || !opened.verified) return;
  const html = certificateHtml({
    work: opened.id,
    bundle: opened.verified,
    result: opened.result,
    ledgerKey: pinnedKey(),
    names: opened.names,
    source: new URL(`/v1/works/${opened.id}/evidence`, location.href).href,
    generatedAt: opened.verifiedAt ?? Date.now(),
    ...(opened.check ? { check: { ...opened.check, verdict: opened.result.verdict ?? '?', segments: [], sound: [] } } : {}),
  });
  const a = el('a', undefined, { href: URL.createObjectURL(new Blob([html], { type: 'text/html' })), download: `certificate-${opened.id.slice(0, 12)}.html` });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

function workButton(id: string, label: string): HTMLElement {
  const b = el('button', label, { type: 'button', class: 'link' });
  b.addEventListener('click', () => void run(() => openWork(id)));
  return b;
}

/** The most of a chosen file read as an evidence bundle (a bundle of 10,000 licences is ~18 MB). */
const MAX_BUNDLE_FILE = 64 * 1024 * 1024;

/**
 * An evidence bundle chosen as a file (one a court was handed, a certificate's attachment):
 * its work is opened and the bundle from the file, not the ledger's, is verified. Anything
 * else is null, and is looked up by its hash as any file is.
 */
async function bundleIn(file: File): Promise<{ text: string; work: string; check?: CheckQuery } | null> {
  if (file.size > MAX_BUNDLE_FILE || !/\.json$/i.test(file.name)) return null;
  const text = await file.text();
  if (!jsonNestsAtMost(text, MAX_BUNDLE_DEPTH)) return null;
  const id = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  try {
    const parsed = JSON.parse(text) as { format?: unknown; subject?: { work?: unknown; check?: CheckQuery }; claims?: { works?: Array<{ id?: unknown }> } };
    if (parsed.format !== BUNDLE_FORMAT) return null;
    if (id(parsed.subject?.work)) return { text, work: parsed.subject.work };
    // A check's evidence (a check certificate's attachment) is shown with the work that decided it.
    const decided = parsed.claims?.works?.[0]?.id;
    const check = parsed.subject?.check;
    return check && typeof check === 'object' && id(decided) ? { text, work: decided, check } : null;
  } catch {
    return null;
  }
}

async function lookUpFile(file: File): Promise<void> {
  const bundle = await bundleIn(file);
  if (bundle) {
    byId('results').replaceChildren(el('p', `${file.name} is ${bundle.check ? "a check's" : 'an'} evidence bundle about work `, {}, el('span', bundle.work, { class: 'id' })));
    await openWork(bundle.work);
    if (opened && bundle.check) opened.check = bundle.check;
    byId<HTMLTextAreaElement>('bundle').value = bundle.text;
    status(`The evidence bundle ${file.name}, verified below against the key you pinned (not the ledger's copy).`);
    verify();
    return;
  }
  status(`Hashing ${file.name} here (${file.size} bytes); it is not uploaded…`);
  const digest = await hashBlob(file, (done, total) => status(`Hashing ${file.name} here: ${Math.floor((done / total) * 100)} %; it is not uploaded…`));
  const sha = toHex(digest);
  const works = await getJson<TitledWork[]>(`/v1/works?sha256=${sha}`);
  const results = byId('results');
  results.replaceChildren(el('p', `SHA-256 of ${file.name}: `, {}, el('span', sha, { class: 'id' })));
  if (works.length === 0) {
    clearWork();
    status('This file is not registered in the ledger byte for byte. An edited copy (cut, re-encoded, cropped) is found by comparing fingerprints: cartulary check FILE.');
    return;
  }
  results.append(el('p', works.length === 1 ? 'Registered once:' : `Registered ${works.length} times (the earliest first):`), el('ul', undefined, {}, ...works.map((w) => el('li', undefined, {}, workButton(w.id, `“${w.title}” — ${utc(w.registeredAt)}`)))));
  await openWork(works[0]!.id, digest);
}

async function lookUpId(kind: string, id: string): Promise<void> {
  byId('results').replaceChildren();
  if (kind === 'work') return openWork(id);
  if (kind === 'licence') {
    const entry = await getJson<{ type: string; payload: { work?: string } }>(`/v1/statements/${id}`);
    if (entry.type !== 'license' || !entry.payload.work) throw new ApiError(`${shortId(id)} is a ${entry.type} statement, not a licence`);
    return openWork(entry.payload.work);
  }
  clearWork();
  const p = await getJson<{ party: string; profile: { name: string } | null; accreditation: { index: number; from: number; until: number | null } | null; works: string[]; licences: string[] }>(`/v1/parties/${id}`);
  byId('results').replaceChildren(
    el('h3', p.profile ? p.profile.name : 'A party without a profile'),
    el('p', p.party, { class: 'id' }),
    ...(p.accreditation
      ? [el('p', `Accredited as a mediator by the registrar from ${utc(p.accreditation.from)}${p.accreditation.until === null ? '' : ` until ${utc(p.accreditation.until)}`} (entry #${p.accreditation.index}).`)]
      : []),
    el('p', `Owns ${p.works.length} work${p.works.length === 1 ? '' : 's'}${p.works.length > 0 ? ':' : '.'}`),
    ...(p.works.length > 0 ? [el('ul', undefined, {}, ...p.works.map((w) => el('li', undefined, {}, workButton(w, w))))] : []),
    el('p', `Holds ${p.licences.length} licence${p.licences.length === 1 ? '' : 's'}.`),
  );
  status(`Party ${p.profile?.name ?? shortId(p.party)}.`);
}

/** Runs a user action; a refusal from the ledger or a network failure is shown, not thrown. */
async function run(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (e) {
    status(e instanceof ApiError ? e.message : `Something failed: ${(e as Error).message}`);
  }
}

function pin(key: string, note: string): void {
  byId<HTMLInputElement>('ledger-key').value = key;
  localStorage.setItem(KEY_STORAGE, key);
  byId('key-note').textContent = note;
  if (opened) verify();
}

function start(): void {
  byId<HTMLInputElement>('ledger-key').value = localStorage.getItem(KEY_STORAGE) ?? '';
  byId('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    pin(pinnedKey(), 'Pinned: evidence is verified against this key.');
  });
  byId('use-server-key').addEventListener('click', () =>
    void run(async () => {
      const { verifierKey } = await getJson<{ verifierKey: string }>('/v1/log');
      pin(verifierKey, 'Pinned the key this server gives, trusted on first use: compare it with one you got another way.');
    }),
  );
  byId<HTMLInputElement>('file').addEventListener('change', (ev) => {
    const file = (ev.target as HTMLInputElement).files?.[0];
    if (file) void run(() => lookUpFile(file));
  });
  byId('id-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target as HTMLFormElement);
    void run(() => lookUpId(String(form.get('kind')), String(form.get('id')).trim().toLowerCase()));
  });
  byId('verify').addEventListener('click', verify);
  byId('certificate').addEventListener('click', downloadCertificate);
  void run(showLog);
}

start();
