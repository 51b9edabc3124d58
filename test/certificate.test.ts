/**
 * `cartulary certificate` against a real server: an HTML certificate whose embedded bundle
 * verifies again, a PDF printed by Debian's Chromium whose text (pdftotext) names the work
 * and its owner, and no certificate at all from evidence that does not verify.
 */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatVerifierKey } from '../src/core/checkpoint.js';
import { verifyBundle } from '../src/verify/verify-bundle.js';
import { content, party, stmt, tempDir } from './helpers.js';
import { cli } from './cli-run.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';

const run = promisify(execFile);

let server: ServerFixture;
let work: string;
const alice = party();
const bob = party();

beforeAll(async () => {
  server = await serverFixture();
  for (const bytes of [stmt.party(alice, 'Alice Films'), stmt.party(bob, 'Bob <Clips> & Co')]) expect((await server.submit(bytes)).status).toBe(201);
  const reg = await server.submit(stmt.register(alice, content(), { title: 'Mandelbrot </script> zoom' }));
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
    expect(html).toContain('<strong>Bob &lt;Clips&gt; &amp; Co</strong>');
    expect(html).toContain('✓ The evidence verifies');
    const embedded = /<script type="application\/json" id="cartulary-evidence">(.*?)<\/script>/s.exec(html)?.[1];
    expect(verifyBundle(JSON.parse(embedded as string), server.verifierKey)).toMatchObject({ ok: true, asOfSize: 5 });
  });

  it('prints a PDF with Chromium whose text holds the title and the owner by name', async () => {
    const out = `${await tempDir()}/certificate.pdf`;
    const r = await cli('certificate', work, '--out', out, '--ledger-key', server.verifierKey, '--server', server.url);
    expect(r, r.err).toMatchObject({ code: 0 });
    expect((await readFile(out)).subarray(0, 5).toString()).toBe('%PDF-');
    const { stdout: text } = await run('pdftotext', ['-layout', out, '-']);
    expect(text).toContain('Mandelbrot </script> zoom');
    expect(text).toMatch(/Current owner\s+Bob <Clips> & Co/);
    expect(text).toMatch(/Registrant\s+Alice Films/);
    expect(text).toContain(bob.id);
  });

  it('makes no certificate from evidence that does not verify against the pinned key', async () => {
    const out = `${await tempDir()}/certificate.html`;
    const otherLedger = formatVerifierKey('cartulary.local/ledger', party().publicKey);
    const r = await cli('certificate', work, '--out', out, '--ledger-key', otherLedger, '--server', server.url);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^no certificate: the evidence does NOT verify: wrong-key: /);
    await expect(stat(out)).rejects.toThrow(/ENOENT/);
  });

  it('refuses an output that is neither .html nor .pdf', async () => {
    const r = await cli('certificate', work, '--out', 'certificate.docx', '--server', server.url);
    expect(r).toMatchObject({ code: 3 });
    expect(r.err).toMatch(/--out is required: a file name ending in \.html or \.pdf/);
  });
});
