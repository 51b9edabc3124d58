/**
 * `cartulary certificate` against a real server: an HTML certificate whose embedded bundle
 * verifies again, a PDF printed by Debian's Chromium whose text (pdftotext) names the work
 * and its owner, and no certificate at all from evidence that does not verify.
 */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateHtml } from '../src/certificate/html.js';
import { toHex } from '../src/core/bytes.js';
import { formatVerifierKey } from '../src/core/checkpoint.js';
import { sha256 } from '../src/core/crypto.js';
import type { EvidenceBundle } from '../src/verify/bundle.js';
import { verifyBundle } from '../src/verify/verify-bundle.js';
import { content, party, stmt, tempDir } from './helpers.js';
import { cli } from './cli-runner.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';

const run = promisify(execFile);

let server: ServerFixture;
let work: string;
let sha: string;
const alice = party();
const bob = party();

beforeAll(async () => {
  server = await serverFixture();
  for (const bytes of [stmt.party(alice, 'Alice Films'), stmt.party(bob, 'Bob <Clips> \u202e& Co')]) expect((await server.submit(bytes)).status).toBe(201);
  const file = content();
  sha = toHex(sha256(file));
  const reg = await server.submit(stmt.register(alice, file, { title: 'Mandelbrot </script> zoom' }));
  work = ((await reg.json()) as { id: string }).id;
  expect((await server.submit(stmt.license(alice, work, bob.id, { uses: ['clip'], territories: ['FR'] }))).status).toBe(201);
  expect((await server.submit(stmt.transfer(alice, work, bob.id))).status).toBe(201);
});
afterAll(() => server?.close());

describe('cartulary certificate', () => {
  it('writes an HTML certificate whose embedded bundle verifies again', async () => {
    const out = `${await tempDir()}/certificate.html`;
    const r = await cli('certificate', work, '--out', out, '--ledger-key', server.verifierKey, '--server', server.url);
    expect(r, r.err).toMatchObject({ code: 0 });
    expect(r.out).toBe(`certificate of "Mandelbrot </script> zoom" written to ${out} (evidence verified as of tree size 5)`);
    const html = await readFile(out, 'utf8');
    expect(html).toContain('<title>Evidence certificate — Mandelbrot &lt;/script&gt; zoom</title>');
    // a direction override in a name cannot reverse what follows it (the party's id, the terms)
    expect(html).toContain('<strong>Bob &lt;Clips&gt; &amp; Co</strong>');
    expect(html).not.toContain('\u202e');
    expect(html).toContain('✓ The evidence verifies');
    const embedded = /<script type="application\/json" id="cartulary-evidence">(.*?)<\/script>/s.exec(html)?.[1];
    expect(verifyBundle(JSON.parse(embedded as string), server.verifierKey)).toMatchObject({ ok: true, asOfSize: 5 });
  });

  it('prints a PDF with Chromium whose text holds the title and the owner by name, on numbered pages, with the evidence attached to it, which verifies again', async () => {
    const folder = await tempDir();
    const out = `${folder}/certificate.pdf`;
    const r = await cli('certificate', work, '--out', out, '--ledger-key', server.verifierKey, '--server', server.url);
    expect(r, r.err).toMatchObject({ code: 0 });
    expect((await readFile(out)).subarray(0, 5).toString()).toBe('%PDF-');
    const { stdout: text } = await run('pdftotext', ['-layout', out, '-']);
    expect(text).toContain('Mandelbrot </script> zoom');
    expect(text).toMatch(/Current owner\s+Bob <Clips> & Co/);
    expect(text).toMatch(/Registrant\s+Alice Films/);
    expect(text).toContain(bob.id);
    expect(text).toMatch(/page 1 of \d+/);
    expect(text).toMatch(/attached to this PDF as the\s+file\s+evidence\.json/);
    // Printing drops the HTML's script element: the PDF said the bundle was embedded and held none.
    const { stdout: listed } = await run('pdfdetach', ['-list', out]);
    expect(listed).toMatch(/1 embedded files\s+1: evidence\.json/);
    await run('pdfdetach', ['-save', '1', '-o', `${folder}/evidence.json`, out]);
    const again = await cli('verify', `${folder}/evidence.json`, '--ledger-key', server.verifierKey);
    expect(again, again.err).toMatchObject({ code: 0 });
  });

  it('makes no certificate from evidence that does not verify against the pinned key', async () => {
    const out = `${await tempDir()}/certificate.html`;
    const otherLedger = formatVerifierKey('cartulary.local/ledger', party().publicKey);
    const r = await cli('certificate', work, '--out', out, '--ledger-key', otherLedger, '--server', server.url);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/^cartulary certificate: no certificate: the evidence does NOT verify: wrong-key: /);
    await expect(stat(out)).rejects.toThrow(/ENOENT/);
  });

  it('refuses an output that is neither .html nor .pdf', async () => {
    const r = await cli('certificate', work, '--out', 'certificate.docx', '--server', server.url);
    expect(r).toMatchObject({ code: 3 });
    expect(r.err).toBe('cartulary certificate: --out needs a file name ending in .html or .pdf');
  });

  it("certifies a check: the question, the verdict the verifier replayed, and the uploader by name", async () => {
    const out = `${await tempDir()}/check.html`;
    const r = await cli('check', sha, '--uploader', bob.id, '--use', 'clip', '--territory', 'FR', '--certificate', out, '--ledger-key', server.verifierKey, '--server', server.url);
    expect(r, r.err).toMatchObject({ code: 0 });
    expect(r.out).toContain(`certificate of "Mandelbrot </script> zoom" written to ${out}`);
    const html = await readFile(out, 'utf8');
    expect(html).toMatch(/<h2>The pre-publish check<\/h2>\s*<table class="kv">\s*<tr><th>Uploader<\/th><td><strong>Bob &lt;Clips&gt; &amp; Co<\/strong>/);
    expect(html).toContain('<tr><th>Use, territory</th><td>clip in FR</td></tr>');
    expect(html).toContain('<tr><th>Verdict</th><td><strong>owner</strong></td></tr>');
    expect(html).toContain('its SHA-256 matched exactly');
  });

  it('shows the segments a match by fingerprints found, of the picture and of the soundtrack', async () => {
    const bundle = (await (await server.get(`/v1/works/${work}/evidence`)).json()) as EvidenceBundle;
    const segments = [{ upload: [0, 8000] as [number, number], work: [12_000, 20_000] as [number, number], frames: 33, distance: 3, strength: 'match' }];
    const sound = [{ upload: [1000, 9000] as [number, number], work: [13_000, 21_000] as [number, number], ber: 0.08, values: 61, strength: 'match' }];
    const certificate = (check: { segments: typeof segments; sound: typeof sound }) =>
      certificateHtml({
        work, bundle, result: verifyBundle(bundle, server.verifierKey, { standingAt: Date.now() }), ledgerKey: server.verifierKey, names: new Map(), source: server.url, generatedAt: Date.now(),
        check: { uploader: bob.id, use: 'clip', territory: 'FR', at: Date.now(), verdict: 'owner', ...check },
      });
    const html = certificate({ segments, sound });
    expect(html).toContain('<tr><td>picture</td><td>upload 00:00–00:08 ↔ work 00:12–00:20</td><td>33 frames, mean distance 3 bits</td><td>match</td></tr>');
    expect(html).toContain('<tr><td>soundtrack</td><td>upload 00:01–00:09 ↔ work 00:13–00:21</td><td>61 sub-fingerprints, bit error rate 0.08</td><td>match</td></tr>');
    // Found by its soundtrack alone, the upload is not said to be the content itself.
    const byEar = certificate({ segments: [], sound });
    expect(byEar).toContain('<td>soundtrack</td>');
    expect(byEar).not.toContain('its SHA-256 matched exactly');
  });
});
