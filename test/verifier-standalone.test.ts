/**
 * The verifier stands alone: bundled for a browser exactly as a page would load it, it
 * reaches no Node built-in (not even behind a run-time check), nothing of the server, the
 * store or the CLI, and no package beyond the portable ones.
 */
import { describe, expect, it } from 'vitest';
import { bundleForBrowser } from '../scripts/lib/browser-bundle.js';

/** The packages the verifier may bundle: pure JavaScript, no I/O. */
const PORTABLE = ['@noble/ed25519', '@noble/hashes', 'cborg', 'zod'];

const packageOf = (input: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];

describe('standalone verifier', () => {
  it('bundles for the browser with no Node built-in, static or dynamic, and only the pure core', async () => {
    const bundle = await bundleForBrowser('src/verify/index.ts');
    expect(bundle.nodeImports).toEqual([]);
    // Anything esbuild could not follow (a computed import or require) would stay in the code.
    expect(new TextDecoder().decode(bundle.code)).not.toMatch(/\b(?:import|require)\s*\(/);
    expect(bundle.inputs.filter((f) => /^src\/(store|http|cli)\//.test(f))).toEqual([]);
    const packages = new Set(bundle.inputs.flatMap((f) => packageOf(f) ?? []));
    expect([...packages].filter((p) => !PORTABLE.includes(p))).toEqual([]);
    // 38.9 KiB when measured (npm run bundle-size); classic zod alone would add ~90 KiB.
    expect(bundle.gzipBytes).toBeLessThan(48 * 1024);
  });

  it('would see a dynamic import of node:crypto behind a run-time check', async () => {
    const bundle = await bundleForBrowser('test/fixtures/dynamic-node-import.ts');
    expect(bundle.nodeImports).toEqual(['test/fixtures/dynamic-node-import.ts → node:crypto (dynamic-import)']);
  });
});
