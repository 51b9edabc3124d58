/** The verifier stands alone: nothing it imports reaches the server, the store, the CLI or Node-only libraries. */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  };
  visit(resolve(entry));
  return { files, packages };
}

describe('standalone verifier', () => {
  it('imports only the pure core and portable libraries', () => {
    const { files, packages } = importGraph(join('src', 'verify', 'index.ts'));
    const outside = [...files].filter((f) => /src\/(store|http|cli)\//.test(f));
    expect(outside).toEqual([]);
    expect([...packages].sort()).toEqual(['@noble/ed25519', '@noble/hashes/sha2.js', '@noble/hashes/utils.js', 'cborg', 'zod']);
  });
});
