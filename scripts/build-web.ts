/**
 * Builds the explorer (src/web) into a folder the server serves: the page, its style, and
 * one script bundled for the browser with esbuild. Refuses a bundle that would need a Node
 * built-in. `npm run build` runs it into dist/web; tests build into a folder of their own.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleForBrowser } from './lib/browser-bundle.js';

export async function buildWeb(outDir: string): Promise<{ gzipBytes: number }> {
  const bundle = await bundleForBrowser('src/web/explorer.ts');
  if (bundle.nodeImports.length > 0) throw new Error(`the explorer must not import Node built-ins: ${bundle.nodeImports.join(', ')}`);
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'explorer.js'), bundle.code);
  await Promise.all(['index.html', 'style.css'].map((f) => copyFile(join('src/web', f), join(outDir, f))));
  return { gzipBytes: bundle.gzipBytes };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await buildWeb(process.argv[2] ?? 'dist/web');
}
