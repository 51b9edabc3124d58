/**
 * `npm run bundle-size`: what a web page downloads to verify evidence — the verifier, and
 * the explorer that wraps it — bundled and minified for the browser, raw and gzipped.
 */
import { bundleForBrowser } from './lib/browser-bundle.js';

const ENTRIES = { verifier: 'src/verify/index.ts', explorer: 'src/web/explorer.ts' };

const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
for (const [name, entry] of Object.entries(ENTRIES)) {
  const b = await bundleForBrowser(entry).catch((e: Error) => e);
  if (b instanceof Error) {
    console.log(`${name.padEnd(9)} ${entry}: ${b.message.split('\n')[0]}`);
    continue;
  }
  const node = b.nodeImports.length > 0 ? `  NODE IMPORTS: ${b.nodeImports.join(', ')}` : '';
  console.log(`${name.padEnd(9)} ${kb(b.code.length).padStart(10)} minified, ${kb(b.gzipBytes).padStart(9)} gzipped  (${entry})${node}`);
}
