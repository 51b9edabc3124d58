/**
 * `npm run screenshots`: the README's pictures of the explorer and of a certificate, made
 * from a throwaway ledger with the walkthrough's story (Alice's film, a licence to Bob, a
 * transfer). Writes docs/explorer.png and docs/certificate.png (first page, via pdftoppm).
 */
import '../src/core/crypto-node.js';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { launchBrowser } from '../src/certificate/chromium.js';
import { main } from '../src/cli/main.js';
import { fromHex, utf8 } from '../src/core/bytes.js';
import { signStatement } from '../src/core/cose.js';
import { randomSeed, sha256, signerFromSeed, type Signer } from '../src/core/crypto.js';
import { startServer } from '../src/http/server.js';
import { buildWeb } from './build-web.js';

const dir = await mkdtemp(join(tmpdir(), 'cartulary-screenshots-'));
try {
  await buildWeb(join(dir, 'web'));
  const server = await startServer({ port: 0, host: '127.0.0.1', dataDir: join(dir, 'data'), keysDir: join(dir, 'keys'), webDir: join(dir, 'web'), logger: pino({ level: 'silent' }) });
  const submit = async (payload: Record<string, unknown>, signer: Signer) => (await server.ledger.sequencer.submit(signStatement({ issuedAt: Date.now(), ...payload }, signer))).receipt.id;
  const [alice, bob] = [signerFromSeed(randomSeed()), signerFromSeed(randomSeed())] as [Signer, Signer];
  const film = utf8('a film, for the pictures');
  await writeFile(join(dir, 'film.mp4'), film);
  await submit({ type: 'party', name: 'Alice Films' }, alice);
  await submit({ type: 'party', name: 'Bob Clips' }, bob);
  const work = await submit({ type: 'register', sha256: sha256(film), size: film.length, mediaType: 'video/mp4', title: 'My film' }, alice);
  await submit({ type: 'license', work: fromHex(work, 'work'), licensee: bob.publicKey, uses: ['clip', 'stream'], territories: ['FR', 'BE'], validUntil: Date.parse('2028-01-01') }, alice);
  await submit({ type: 'transfer', work: fromHex(work, 'work'), to: bob.publicKey }, alice);

  const browser = await launchBrowser({ viewport: { width: 820, height: 1000 } });
  const page = await browser.context.newPage();
  await page.goto(server.url);
  await page.fill('#ledger-key', server.ledger.sequencer.verifierKey);
  await page.getByRole('button', { name: 'Pin this key' }).click();
  await page.setInputFiles('#file', join(dir, 'film.mp4'));
  await page.getByText('✓ Verified in this browser').waitFor();
  await page.locator('#work').screenshot({ path: 'docs/explorer.png' });
  await browser.close();

  await main(['certificate', work, '--out', join(dir, 'certificate.pdf'), '--ledger-key', server.ledger.sequencer.verifierKey, '--server', server.url]);
  execFileSync('pdftoppm', ['-png', '-r', '60', '-f', '1', '-l', '1', '-singlefile', join(dir, 'certificate.pdf'), 'docs/certificate']);
  await server.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
