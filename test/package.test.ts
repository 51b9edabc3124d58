/**
 * The package as a user gets it: `npm pack`, installed into an empty project elsewhere,
 * then its CLI, its two exports in Node, and its verifier bundled for a browser through
 * the exports map's `browser` condition.
 */
import { execFile } from 'node:child_process';
import { copyFile, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../scripts/build-web.js';
import { bundleForBrowser } from '../scripts/lib/browser-bundle.js';

const run = promisify(execFile);

let dir: string;
let app: string;
let packed: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cartulary-pack-'));
  // Built into a staging copy as `npm run build` builds it, so the worktree's dist/ (which
  // other tests run from) is never rewritten under them; packed with this package.json.
  const stage = join(dir, 'stage');
  await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', join(stage, 'dist')]);
  await buildWeb(join(stage, 'dist', 'web'));
  await cp('bin', join(stage, 'bin'), { recursive: true });
  await Promise.all(['package.json', 'README.md'].map((f) => copyFile(f, join(stage, f))));
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: stage, maxBuffer: 16 * 1024 * 1024 });
  const [info] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packed = info!.files.map((f) => f.path);
  app = join(dir, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'elsewhere', private: true, type: 'module' }));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, info!.filename)], { cwd: app });
}, 240_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const node = (code: string) => run(process.execPath, ['--input-type=module', '-e', code], { cwd: app });

describe('the npm package', () => {
  it('ships the compiled CLI, core, verifier and explorer, and nothing else', () => {
    expect(packed).toEqual(expect.arrayContaining(['bin/cartulary.js', 'dist/cli/main.js', 'dist/core/index.js', 'dist/core/index.d.ts', 'dist/verify/index.js', 'dist/verify/node.js', 'dist/web/index.html', 'dist/web/explorer.js', 'dist/web/style.css', 'package.json']));
    expect(packed.filter((p) => !/^(bin|dist)\/|^(package\.json|README\.md|LICENSE)$/.test(p))).toEqual([]);
    expect(packed.filter((p) => p.endsWith('.map'))).toEqual([]);
  });

  it('runs `npx cartulary --help` from the installed package', async () => {
    const { stdout } = await run('npx', ['--no-install', 'cartulary', '--help'], { cwd: app });
    expect(stdout).toMatch(/^usage: cartulary <command>/);
    expect(stdout).toMatch(/\bverify\b/);
  });

  it("imports 'cartulary' in Node: signs and verifies a statement over node:crypto", async () => {
    const { stdout } = await node(`
      import * as c from 'cartulary';
      const signer = c.signerFromSeed(c.randomSeed());
      const s = c.parseStatement(c.signStatement({ type: 'party', issuedAt: Date.now(), name: 'Someone' }, signer));
      c.verifyStatement(s);
      console.log(JSON.stringify({ backend: c.cryptoBackend().name, signer: c.toHex(s.signer) === c.toHex(signer.publicKey), type: s.payload.type }));`);
    expect(JSON.parse(stdout)).toEqual({ backend: 'node', signer: true, type: 'party' });
  });

  it("imports 'cartulary/verify' in Node: a bundle that is not one fails with its reason", async () => {
    const { stdout } = await node(`
      import { verifyBundle, BUNDLE_FORMAT } from 'cartulary/verify';
      const r = verifyBundle({ format: BUNDLE_FORMAT }, 'x');
      console.log(JSON.stringify({ ok: r.ok, code: r.failure?.code }));`);
    expect(JSON.parse(stdout)).toEqual({ ok: false, code: 'bad-shape' });
  });

  it("bundles 'cartulary/verify' for a browser through its exports map, with no Node built-in", async () => {
    const entry = join(app, 'page.js');
    await writeFile(entry, "export { verifyBundle } from 'cartulary/verify';\n");
    const bundle = await bundleForBrowser(entry);
    expect(bundle.nodeImports).toEqual([]);
    expect(bundle.inputs.some((f) => f.endsWith('node_modules/cartulary/dist/verify/index.js'))).toBe(true);
    expect(bundle.inputs.filter((f) => /cartulary\/dist\/(core|verify)\/node\.js|crypto-node/.test(f))).toEqual([]);
  });
});
