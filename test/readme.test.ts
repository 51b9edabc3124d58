/**
 * The README's walkthrough, extracted from README.md and run as written with bash against
 * a real server on 127.0.0.1:8080, from the compiled package (as `npm install && npm start`
 * would serve it). It must end with a verified evidence bundle.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAYLOAD_TYPES } from '../src/core/statements.js';
import { tempDir } from './helpers.js';

const repo = resolve('.');
let server: ChildProcess | undefined;

beforeAll(() => {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: repo, stdio: 'pipe' });
});
afterAll(() => {
  server?.kill('SIGTERM');
});

describe('README walkthrough', () => {
  it('cites documents that are in the repository: the format specification, licence, changelog, contributing guide', async () => {
    const readme = await readFile(join(repo, 'README.md'), 'utf8');
    const linked = [...readme.matchAll(/\]\(((?!https?:)[^)#\s]+)\)/g)].map((m) => m[1]!);
    expect(linked).toEqual(expect.arrayContaining(['docs/format.md', 'LICENSE', 'CHANGELOG.md', 'CONTRIBUTING.md']));
    for (const path of linked) await expect(readFile(join(repo, path), 'utf8'), path).resolves.toBeTruthy();
    expect(readme).not.toMatch(/DESIGN\.md/);
    expect(await readFile(join(repo, 'LICENSE'), 'utf8')).toMatch(/^\s+Apache License\n\s+Version 2\.0, January 2004\n[\s\S]*END OF TERMS AND CONDITIONS/);
  });

  it('names every statement type in its Formats summary and in the format specification', async () => {
    const readme = await readFile(join(repo, 'README.md'), 'utf8');
    const summary = /\*\*Payloads\.\*\*([\s\S]*?)\n\n/.exec(readme)?.[1] ?? '';
    const spec = await readFile(join(repo, 'docs', 'format.md'), 'utf8');
    for (const type of PAYLOAD_TYPES) {
      expect(summary, type).toContain(`\`${type}\``);
      expect(spec, type).toMatch(new RegExp(`^\\| \`${type}\` \\|`, 'm'));
    }
  });

  it('runs line by line without edits and ends with a verified evidence bundle', async () => {
    const readme = await readFile(join(repo, 'README.md'), 'utf8');
    const block = /<!-- walkthrough:start -->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeTruthy();
    const dir = await tempDir();
    // `npx cartulary` finds the project's bin here as it does inside a clone.
    await mkdir(join(dir, 'node_modules', '.bin'), { recursive: true });
    await symlink(join(repo, 'bin', 'cartulary.js'), join(dir, 'node_modules', '.bin', 'cartulary'));
    // A clone's data/ and keys/ are not empty: git keeps them through placeholder files.
    for (const folder of ['data', 'keys']) {
      const placeholders = (await readdir(join(repo, folder))).filter((name) => name.startsWith('.'));
      expect(placeholders, `${folder}/ in the repository`).not.toHaveLength(0);
      await mkdir(join(dir, folder));
      for (const name of placeholders) await copyFile(join(repo, folder, name), join(dir, folder, name));
    }

    server = spawn(process.execPath, [join(repo, 'bin', 'cartulary.js'), 'serve'], { cwd: dir, env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    await new Promise<void>((ok, fail) => {
      server!.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('listening on http://127.0.0.1:8080')) ok();
      });
      server!.once('exit', () => fail(new Error(`the server did not start (is port 8080 busy?): ${stderr}`)));
    });

    const run = (script: string) => execFileSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, env: { ...process.env, npm_config_yes: 'true' }, encoding: 'utf8', timeout: 240_000 });
    const out = run(block!);
    expect(out).toMatch(/registered film\.mp4 as work/);
    expect(out).toMatch(/^licensed: .*\[evidence verified offline\]$/m);
    expect(out).toMatch(/exit 1: not allowed/);
    expect(out).toMatch(/unlicensed: .*expired[\s\S]*exit 1: the licence has expired by then/);
    // The clip is work 00:12–00:20; the film zooms, and a zoomed frame also meets the registered
    // centre of the frame a second before, so the range may read a second early.
    expect(out).toMatch(/licensed: .*\n  contains "My film" .*upload 00:00–00:0\d ↔ work 00:1[1-3]–00:(19|2\d) .*as clip: licensed/);
    expect(out).toMatch(/unlicensed: .*\n.*as clip: unlicensed\n  judged at the ledger's present .*\nexit 1: carol holds no licence for this clip/);
    expect(out).toMatch(/unlicensed: .*expired[\s\S]*judged at 2028-01-01T00:00:00\.000Z/);
    expect(out).toMatch(/valid: from .* until just before 2028-01-01T00:00:00\.000Z \(1830297600000\); not exclusive/);
    expect(out).toMatch(/evidence for work [0-9a-f]{64}: \d+ entries, verified, saved to evidence\.json/);
    expect(out).toMatch(/licence .* revoked by .*superseded by the transfer/);
    expect(out).toMatch(/the file is the registered content/);
    expect(out.trimEnd()).toMatch(/\nverified$/);

    // The mediators' section continues in the same folder, against the same ledger.
    const disputes = /<!-- disputes:start -->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(disputes).toBeTruthy();
    const ended = run(disputes!);
    expect(ended).toMatch(/^contested: work [0-9a-f]{64} \(".*"\), owned by .*, is contested: since .*, by the registration \S+; do not publish without review until a mediator decides\n  judged at .*\nexit 1: contested$/m);
    expect(ended).toMatch(/^owner: .*\[evidence verified offline\]$/m);
    expect(ended).toMatch(/title awarded to work .* by mediator "Mia Mediation" .*: drafts predate the other registration/);
    expect(ended).toMatch(/claims: 1 \(0 open\); sightings by platforms: 0/);
  }, 420_000); // some thirty-five CLI processes, each a fresh Node start (minutes on a shared, loaded machine)
});
