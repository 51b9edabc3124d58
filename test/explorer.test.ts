/**
 * The explorer in a real browser (Debian's Chromium) against a real server: a file looked
 * up without leaving the page, a work looked up by id, its timeline with profile names,
 * its evidence verified in the browser against a pinned key, a tampered bundle refused,
 * the certificate downloaded — on a phone-sized screen, with no console errors.
 * Screenshots go to test-artifacts/ (gitignored).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../scripts/build-web.js';
import { launchBrowser, type Browser } from '../src/certificate/chromium.js';
import { toHex } from '../src/core/bytes.js';
import { sha256 } from '../src/core/crypto.js';
import { content, party, stmt } from './helpers.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';

const ARTIFACTS = 'test-artifacts';
/** Hashing, fetching and verifying take a moment on a loaded machine. */
const POLL = { timeout: 20_000, interval: 100 };

let dir: string;
let server: ServerFixture;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const alice = party();
const bob = party();
const film = content('explorer film');
let work: string;

async function submit(bytes: Uint8Array): Promise<string> {
  const res = await server.submit(bytes);
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cartulary-explorer-'));
  await mkdir(ARTIFACTS, { recursive: true });
  await buildWeb(join(dir, 'web'));
  server = await serverFixture({ dir, webDir: join(dir, 'web') });
  await submit(stmt.party(alice, 'Alice Films'));
  await submit(stmt.party(bob, 'Bob Clips'));
  work = await submit(stmt.register(alice, film, { title: 'My film <b>bold</b>' }));
  await submit(stmt.license(alice, work, bob.id, { uses: ['clip', 'stream'], territories: ['FR', 'BE'] }));
  await submit(stmt.transfer(alice, work, bob.id));
  await writeFile(join(dir, 'film.mp4'), film);

  browser = await launchBrowser({ viewport: { width: 390, height: 844 } });
  page = await browser.context.newPage();
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.goto(server.url);
  await page.getByText(/entries; the latest checkpoint/).waitFor();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const checks = () => page.locator('#checks li').allTextContents();

describe('the explorer', () => {
  it('is served under a strict Content-Security-Policy, with no inline script or style', async () => {
    const res = await server.get('/');
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html.match(/<script[^>]*>/g)).toEqual(['<script type="module" src="/assets/explorer.js">']);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });

  it('answers a plain 404 at / where the explorer is not built', async () => {
    const bare = await serverFixture({ dir: await mkdtemp(join(dir, 'bare-')), webDir: join(dir, 'not-built') });
    try {
      const res = await bare.get('/');
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as { detail: string }).detail).toBe('the explorer is not built here (npm run build)');
    } finally {
      await bare.close();
    }
  });

  it('labels every control and fits a phone screen', async () => {
    const unlabelled = await page.evaluate(() =>
      Array.from(document.querySelectorAll('input, select, textarea')).filter((e) => (e as HTMLInputElement).labels?.length === 0).map((e) => e.id),
    );
    expect(unlabelled).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  });

  it('looks up a file hashed in the browser, shows the timeline with names, and verifies the evidence', async () => {
    await page.fill('#ledger-key', server.verifierKey);
    await page.getByRole('button', { name: 'Pin this key' }).click();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(`${r.method()} ${r.url()}`));
    await page.setInputFiles('#file', join(dir, 'film.mp4'));
    await expect.poll(() => page.textContent('#verdict'), POLL).toMatch(/^✓ Verified in this browser, as of tree size 5\./);
    // The file never left the page: only GETs, and none carries its bytes.
    expect(requests.filter((r) => !r.startsWith('GET '))).toEqual([]);
    expect(await page.textContent('#work-title')).toBe('My film <b>bold</b>');
    const timeline = await page.locator('#timeline li').allTextContents();
    expect(timeline).toHaveLength(3);
    expect(timeline[0]).toContain('registered "My film <b>bold</b>"');
    expect(timeline[0]).toContain('by Alice Films');
    expect(timeline[1]).toMatch(/licensed by Alice Films \(.+\) to Bob Clips \(.+\) \(licence [0-9a-f]{12}…\): clip, stream in FR, BE, with no end$/);
    expect(timeline[2]).toMatch(/transferred by Alice Films .* to Bob Clips/);
    expect(await page.textContent('#work-facts')).toContain(`Bob Clips (${bob.id.slice(0, 12)}…) — ${bob.id}`);
    expect(await page.textContent('#licence-count')).toBe('1 licence.');
    expect(await page.locator('#licences tbody td').allTextContents()).toEqual([`Bob Clips (${bob.id.slice(0, 12)}…)`, 'clip, stream', 'FR, BE', expect.stringMatching(/ UTC → open$/), 'standing']);
    const passed = await checks();
    expect(passed.every((c) => c.startsWith('✓ '))).toBe(true);
    expect(passed).toContain('✓ the file is the registered content');
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-file.png'), fullPage: true });
  });

  it('looks up a work by id and a party by id', async () => {
    await page.selectOption('#lookup-kind', 'party');
    await page.fill('#lookup-id', bob.id);
    await page.getByRole('button', { name: 'Look up' }).click();
    await expect.poll(() => page.textContent('#results'), POLL).toContain('Bob Clips');
    expect(await page.textContent('#results')).toContain('Owns 1 work:');
    expect(await page.isHidden('#work')).toBe(true);
    await page.fill('#lookup-id', alice.id);
    await page.getByRole('button', { name: 'Look up' }).click();
    await expect.poll(() => page.textContent('#results'), POLL).toContain('Alice Films');
    expect(await page.textContent('#results')).toContain('Owns 0 works.Holds 0 licences.');
    expect(await page.textContent('#verdict')).toBe('');
    await page.selectOption('#lookup-kind', 'work');
    await page.fill('#lookup-id', work);
    await page.getByRole('button', { name: 'Look up' }).click();
    await expect.poll(() => page.textContent('#verdict'), POLL).toMatch(/^✓ Verified/);
    expect(await checks()).not.toContain('✓ the file is the registered content');
  });

  it('downloads a certificate of the verified work', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download the certificate' }).click()]);
    const html = await readFile((await download.path()) as string, 'utf8');
    expect(html).toContain('My film &lt;b&gt;bold&lt;/b&gt;');
    expect(html).toContain('Bob Clips');
    expect(html).toContain('✓ The evidence verifies');
  });

  // A court holds the bundle it was handed (a certificate's attachment): choosing it as a file
  // hashed it and said "not registered".
  it('verifies an evidence bundle chosen as a file, its own copy and not the ledger\'s; a tampered one fails', async () => {
    const bundle = (await (await server.get(`/v1/works/${work}/evidence`)).json()) as { claims: { works: Array<{ owner: string }> } };
    await writeFile(join(dir, 'evidence.json'), JSON.stringify(bundle));
    await page.setInputFiles('#file', join(dir, 'evidence.json'));
    await expect.poll(() => page.textContent('#verdict'), POLL).toMatch(/^✓ Verified in this browser/);
    expect(await page.textContent('#results')).toContain(`evidence.json is an evidence bundle about work ${work}`);
    bundle.claims.works[0]!.owner = alice.id;
    await writeFile(join(dir, 'forged.json'), JSON.stringify(bundle));
    await page.setInputFiles('#file', join(dir, 'forged.json'));
    await expect.poll(() => page.textContent('#verdict'), POLL).toBe('✗ The evidence does NOT verify.');
    expect((await checks()).at(-1)).toMatch(/^✗ bad-attestation: /);
    // A check's evidence (a check certificate's attachment) is verified about the check it answers.
    const answer = (await (await server.post('/v1/check', JSON.stringify({ sha256: toHex(sha256(film)), uploader: bob.id, use: 'clip', territory: 'FR' }), 'application/json')).json()) as { evidence: unknown };
    await writeFile(join(dir, 'check.json'), JSON.stringify(answer.evidence));
    await page.setInputFiles('#file', join(dir, 'check.json'));
    await expect.poll(() => page.textContent('#verdict'), POLL).toMatch(/^✓ Verified in this browser/);
    expect(await page.textContent('#results')).toContain(`check.json is a check's evidence bundle about work ${work}`);
  });

  it('refuses a bundle tampered with in the page', async () => {
    const bundle = JSON.parse(await page.inputValue('#bundle')) as { claims: { works: Array<{ owner: string }> } };
    bundle.claims.works[0]!.owner = alice.id; // claim that Alice still owns it
    await page.locator('#bundle-details summary').click();
    await page.fill('#bundle', JSON.stringify(bundle, null, 2));
    await page.getByRole('button', { name: 'Verify the evidence' }).click();
    expect(await page.textContent('#verdict')).toBe('✗ The evidence does NOT verify.');
    const results = await checks();
    expect(results.at(-1)).toMatch(/^✗ bad-attestation: /);
    expect(await page.isDisabled('#certificate')).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-tampered.png'), fullPage: true });
  });

  it('logged no console errors', () => {
    expect(consoleErrors).toEqual([]);
  });
});
