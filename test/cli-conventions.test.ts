/**
 * The command line's conventions, on a real server: --json on every command, --version,
 * suggestions for typos, one --keys folder, pinning the ledger key, dates that mean whole
 * days, the instants echoed, names shown, progress, and a reader that closes the pipe.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { progressLine } from '../src/cli/command.js';
import { COMMANDS } from '../src/cli/main.js';
import { cli } from './cli-runner.js';
import { tempDir } from './helpers.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';

let running: ServerFixture[] = [];
afterEach(async () => {
  await Promise.all(running.map((s) => s.close()));
  running = [];
});


/** A server, a folder with alice and bob, and alice's registered work. */
async function story() {
  const s = await serverFixture();
  running.push(s);
  const dir = await tempDir();
  const keys = `${dir}/keys`;
  const srv = ['--server', s.url, '--keys', keys];
  const alice = (await cli('keygen', 'alice', '--keys', keys)).out;
  const bob = (await cli('keygen', 'bob', '--out', keys)).out; // --out is kept as an alias
  expect([alice, bob]).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/), expect.stringMatching(/^[0-9a-f]{64}$/)]);
  const film = `${dir}/film.bin`;
  await writeFile(film, `a film ${Math.random()}`);
  return { s, dir, keys, srv, alice, bob, film };
}

const json = (r: { code: number; out: string; err: string }) => {
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as Record<string, unknown>;
};

describe('CLI conventions', () => {
  it('answers --json with one JSON document on every command', async () => {
    const { s, dir, keys, srv, alice, bob, film } = await story();
    // serve and witness --json: their start-up lines, in operations.test.ts and witness.test.ts
    const seen = new Set<string>(['serve', 'witness']);
    const run = async (...argv: string[]) => {
      seen.add(argv[0]!);
      return json(await cli(...argv, '--json'));
    };
    expect(await run('keygen', 'carol', '--keys', keys)).toMatchObject({ name: 'carol', party: expect.stringMatching(/^[0-9a-f]{64}$/), secretKey: `${keys}/carol.key` });
    expect(await run('profile', '--name', 'Alice Films', '--key', 'alice', ...srv)).toMatchObject({ name: 'Alice Films', repeat: false, receipt: { index: 0 } });
    const reg = await run('register', film, '--key', 'alice', '--title', 'My film', ...srv);
    const work = reg.work as string;
    expect(reg).toMatchObject({ title: 'My film', saved: `${film}.cartulary.json`, receipt: { id: work } });
    const lic = await run('license', work, '--to', 'bob', '--use', 'clip', '--territory', 'FR', '--until', '2027-12-31', '--key', 'alice', ...srv);
    expect(lic).toMatchObject({ licensee: bob, validUntil: Date.UTC(2028, 0, 1) });
    expect(await run('check', film, '--uploader', 'bob', '--use', 'clip', '--territory', 'FR', '--at', '2027-06-01', ...srv)).toMatchObject({ verdict: 'licensed', at: Date.UTC(2027, 5, 1) });
    expect(await run('ledger-key', '--out', `${dir}/ledger.vkey`, ...srv)).toMatchObject({ verifierKey: s.verifierKey, firstUse: true });
    expect(await run('evidence', work, '--out', `${dir}/evidence.json`, '--ledger-key', `${dir}/ledger.vkey`, ...srv)).toMatchObject({ work, verified: true });
    expect(await run('verify', `${dir}/evidence.json`, '--ledger-key', `${dir}/ledger.vkey`)).toMatchObject({ ok: true });
    expect(await run('certificate', work, '--out', `${dir}/certificate.html`, '--ledger-key', `${dir}/ledger.vkey`, ...srv)).toMatchObject({ work, title: 'My film', out: `${dir}/certificate.html` });
    const history = await run('history', work, '--ledger-key', `${dir}/ledger.vkey`, ...srv);
    expect(history).toMatchObject({ verified: true, names: { [alice]: 'Alice Films' }, work: { owner: alice } });
    const capture = `${dir}/capture.webm`;
    await writeFile(capture, 'a screen recording');
    const claimed = await run('claim', work, '--capture', capture, '--url', 'https://video.example/v/1', '--key', 'alice', ...srv);
    expect(claimed).toMatchObject({ repeat: false, capture: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    await cli('keygen', 'mia', '--keys', keys);
    // a day ends a window at the next midnight, for accreditations as for licences and protection
    expect(await run('accredit', 'mia', '--until', '2027-12-31', '--key', `${s.dir}/keys/registrar.key`, ...srv)).toMatchObject({ until: Date.UTC(2028, 0, 1), repeat: false });
    const claimId = (claimed.receipt as { id: string }).id;
    expect(await run('resolve', work, '--decision', 'uphold', '--claim', claimId, '--key', 'mia', ...srv)).toMatchObject({ repeat: false });
    expect(await run('sightings', work, ...srv)).toMatchObject({ count: 0, sightings: [], next: null });
    expect(await run('protect', work, '--until', '2027-12-31', '--key', 'alice', ...srv)).toMatchObject({ work, until: Date.UTC(2028, 0, 1), repeat: false });
    expect(await run('proof', '0', ...srv)).toMatchObject({ index: 0, tlogProof: expect.stringMatching(/^c2sp\.org\/tlog-proof@v1\n/) });
    expect(await run('export-tiles', '--out', `${dir}/tiles`, ...srv)).toMatchObject({ out: `${dir}/tiles`, newTiles: expect.any(Number), previousSize: null });
    expect(await run('revoke', lic.licence as string, '--key', 'alice', ...srv)).toMatchObject({ licence: lic.licence, repeat: false });
    expect(await run('transfer', work, '--to', 'bob', '--key', 'alice', ...srv)).toMatchObject({ work, to: bob });
    expect(await run('init', '--data', `${dir}/own/data`, '--keys', `${dir}/own/keys`)).toMatchObject({ created: true, entries: 0 });
    expect(await run('audit', '--data', `${dir}/own/data`, '--keys', `${dir}/own/keys`)).toMatchObject({ ok: true, size: 0, fault: null });
    expect([...seen].sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });

  it('prints its version, and suggests the command or option meant by a typo', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect(await cli('--version')).toMatchObject({ code: 0, out: `cartulary ${pkg.version}` });
    expect(JSON.parse((await cli('--version', '--json')).out)).toEqual({ version: pkg.version });
    const cmd = await cli('regster', 'film.mp4');
    expect(cmd.code).toBe(64);
    expect(cmd.err).toMatch(/^cartulary: unknown command "regster"; did you mean "register"\?/);
    const opt = await cli('check', 'x', '--uploder', 'bob');
    expect(opt.code).toBe(64);
    expect(opt.err.split('\n')[0]).toBe('cartulary check: unknown option --uploder; did you mean --uploader?');
    expect((await cli('zzzzzzzz')).err).not.toMatch(/did you mean/);
  });

  it('refuses a command line that cannot mean anything with exit 64, before reading the file or asking the server', async () => {
    const { dir, keys } = await story();
    // No file by that name and no server at that address: a usage error must come before either is needed.
    const none = [`${dir}/not-read.mp4`, '--server', 'http://127.0.0.1:1', '--keys', keys];
    const cases: Array<[string[], RegExp]> = [
      [['check', ...none, '--uploader', 'bob'], /--territory T is required/],
      [['check', ...none, '--uploader', 'bob', '--territory', 'France'], /--territory "France" is not a territory: an ISO 3166-1 alpha-2 code/],
      [['check', ...none, '--uploader', 'bob', '--territory', 'FR', '--use', 'clips'], /--use "clips" is not a use: one of publish, stream/],
      [['check', ...none, '--territory', 'FR'], /--uploader is required/],
      [['license', 'ab'.repeat(32), '--to', 'bob', '--territory', 'FR', '--key', 'alice', '--server', 'http://127.0.0.1:1', '--keys', keys], /--use U\[,U\] is required/],
      [['verify', `${dir}/not-read.json`], /--ledger-key is required/],
      [['register', '--key', 'alice', '--keys', keys], /FILE is required/],
      [['resolve', 'ab'.repeat(32), '--decision', 'uphold', '--claim', '33', '--key', 'alice', '--server', 'http://127.0.0.1:1', '--keys', keys], /the claim id must be 64 hex characters, not "33": cartulary history WORK shows the ids of a work's licences and claims/],
      [['check', ...none, '--uploader', 'bob', '--territory', 'FR', '--server', 'localhost:8080'], /the server "localhost:8080" is not an http\(s\) URL \(try http:\/\/localhost:8080\)/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(64);
      expect(r.err.split('\n')[0]).toMatch(message);
      expect(r.err).toMatch(/\nexample:\n/);
    }
    // a port nothing listens on: taken, then given back
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const refused = await cli('history', 'ab'.repeat(32), '--server', `http://127.0.0.1:${port}`);
    expect([refused.code, refused.err]).toEqual([3, `cartulary history: cannot reach the ledger at http://127.0.0.1:${port}: nothing listens there. Is the server running (npm start)? Another server: --server URL or CARTULARY_SERVER`]);
  });

  it('says what a key, a party, a folder or an unreadable video given in place of a file is, and what to do', async () => {
    const { srv, dir, keys, film } = await story();
    // the key file's own name is taken as it is, in the keys folder
    expect(json(await cli('profile', '--name', 'Alice', '--key', 'alice.key', ...srv, '--json'))).toMatchObject({ repeat: false });
    const typo = await cli('profile', '--name', 'Alice', '--key', 'alcie', ...srv);
    expect([typo.code, typo.err]).toEqual([3, `cartulary profile: no secret key "alcie": neither a file alcie nor ${keys}/alcie.key; did you mean alice?`]);
    const pub = await cli('profile', '--name', 'Alice', '--key', `${keys}/alice.pub`, ...srv);
    expect(pub.err).toBe(`cartulary profile: ${keys}/alice.pub is a public key: sign with the secret key beside it (${keys}/alice.key)`);
    const to = await cli('transfer', 'ab'.repeat(32), '--to', 'bbo', '--key', 'alice', ...srv);
    expect(to.err).toBe(`cartulary transfer: --to "bbo" is neither a party (64 hex characters), a key file nor a name in ${keys}; did you mean bob?`);
    const folder = await cli('register', keys, '--key', 'alice', ...srv);
    expect([folder.code, folder.err]).toEqual([3, `cartulary register: ${keys} is a folder: give the file itself`]);

    // A file named as a video that ffprobe cannot read is neither registered as a video nor checked as if it had been looked at.
    const fake = `${dir}/fake.mp4`;
    await writeFile(fake, 'not a video at all');
    const reg = await cli('register', fake, '--key', 'alice', ...srv, '--json');
    expect(reg.err).toMatch(/^note: .*fake\.mp4 is named as video\/mp4 but ffprobe cannot read it \(.+\); registered as application\/octet-stream, without fingerprints$/m);
    const work = json(reg).work as string;
    expect(json(await cli('history', work, ...srv, '--json'))).toMatchObject({ work: { mediaType: 'application/octet-stream' } });
    const damaged = `${dir}/damaged.mp4`;
    await writeFile(damaged, 'cut short');
    const checked = await cli('check', damaged, '--uploader', 'bob', '--territory', 'fr', ...srv);
    expect(checked.code).toBe(2);
    expect(checked.err).toMatch(/damaged\.mp4 is named as video\/mp4 but ffprobe cannot read it .*checked by its SHA-256 alone/);

    // Bob registers the film first; Alice's registration of it is contested from its first moment, and says so.
    const first = json(await cli('register', film, '--key', 'bob', ...srv, '--json'));
    expect(first).toMatchObject({ status: 'registered', contestedBy: null });
    const second = await cli('register', film, '--key', 'alice', '--title', 'Mine', ...srv);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toContain(`  contested: work ${first.work} was registered earlier by another party, of the same content`);
    expect(second.out).toContain(`  replaced the receipt of work ${first.work} in ${film}.cartulary.json (the ledger still holds it: cartulary evidence ${first.work})`);
  });

  it("shows anyone's text — titles, reasons, names — with its terminal controls and direction overrides as escapes", async () => {
    const { srv, film } = await story();
    const reg = json(await cli('register', film, '--json', ...srv, '--key', 'alice', '--title', 'Film\u001b[2J\u001b[31m'));
    expect(json(await cli('profile', '--name', 'Bob \u202egnp.exe', '--key', 'bob', ...srv, '--json'))).toMatchObject({ repeat: false });
    const lic = json(await cli('license', reg.work as string, '--to', 'bob', '--use', 'clip', '--territory', 'FR', '--key', 'alice', ...srv, '--json'));
    await cli('revoke', (lic.receipt as { id: string }).id, '--reason', 'bye\r ok\u001b[0m', '--key', 'alice', ...srv);
    const history = await cli('history', reg.work as string, ...srv);
    expect(history.code, history.err).toBe(0);
    expect(history.out).not.toMatch(/[\u001b\r\u202e]/);
    expect(history.out).toContain('"Film\\u001b[2J\\u001b[31m"');
    expect(history.out).toContain('revoked by');
    expect(history.out).toContain(': bye\\u000d ok\\u001b[0m');
    expect(history.out).toContain('"Bob gnp.exe"'); // a name's direction controls are dropped where names are shown
  });

  it('reads --until 2027-12-31 as the whole of that day (UTC) and echoes the exact instants stored and judged', async () => {
    const { srv, film } = await story();
    const reg = json(await cli('register', film, '--key', 'alice', ...srv, '--json'));
    const lic = await cli('license', reg.work as string, '--to', 'bob', '--use', 'clip', '--territory', 'FR', '--until', '2027-12-31', '--key', 'alice', ...srv);
    expect(lic.code, lic.err).toBe(0);
    expect(lic.out).toMatch(/valid: from \S+ \(\d+\) until just before 2028-01-01T00:00:00\.000Z \(1830297600000\); not exclusive/);
    // the history names the last day covered, not the exclusive end's date (which read as a day too many)
    const history = await cli('history', reg.work as string, ...srv);
    expect(history.out).toMatch(/licensed by .*: clip in FR, through 2027-12-31\n/);
    const noon = await cli('check', film, '--uploader', 'bob', '--use', 'clip', '--territory', 'FR', '--at', '2027-12-31T12:00', ...srv);
    expect(noon.code, noon.out).toBe(0);
    expect(noon.out).toMatch(/judged at 2027-12-31T12:00:00\.000Z \(1830254400000\)/);
    const lastMs = await cli('check', film, '--uploader', 'bob', '--use', 'clip', '--territory', 'FR', '--at', '2027-12-31T23:59:59.999Z', ...srv);
    expect(lastMs.code).toBe(0);
    const after = await cli('check', film, '--uploader', 'bob', '--use', 'clip', '--territory', 'FR', '--at', '2028-01-01', ...srv);
    expect(after.code).toBe(1);
    expect(after.out).toMatch(/expired[\s\S]*judged at 2028-01-01T00:00:00\.000Z/);
    for (const bad of ['2027-02-30', '31/12/2027', 'tomorrow', '2027-12-31T25:00']) {
      const r = await cli('license', reg.work as string, '--to', 'bob', '--use', 'clip', '--territory', 'FR', '--until', bad, '--key', 'alice', ...srv);
      expect(r.code, bad).toBe(3);
      expect(r.err).toMatch(/is not a date/);
    }
  });

  it('pins the ledger key on first use and refuses a changed one; takes ledger.pub as --ledger-key; a missing key file is an error', async () => {
    const { s, dir, srv, film } = await story();
    const pin = `${dir}/ledger.vkey`;
    const first = await cli('ledger-key', '--out', pin, ...srv);
    expect(first).toMatchObject({ code: 0, out: s.verifierKey });
    expect(first.err).toMatch(/^warning: trust on first use/);
    expect((await readFile(pin, 'utf8')).trim()).toBe(s.verifierKey);
    expect((await cli('ledger-key', '--out', pin, ...srv)).err).toMatch(/matches the one pinned/);
    const other = s.verifierKey.replace(/\+[0-9a-f]{8}\+.*/, '+00000000+AQ' + 'A'.repeat(42) + '=');
    await writeFile(pin, `${other}\n`);
    const changed = await cli('ledger-key', '--out', pin, ...srv);
    expect(changed.code).toBe(1);
    expect(changed.err).toMatch(/now presents the key[\s\S]*Do not trust/);

    const reg = json(await cli('register', film, '--key', 'alice', ...srv, '--json'));
    const pub = `${s.dir}/keys/ledger.pub`;
    expect((await cli('verify', `${film}.cartulary.json`, '--ledger-key', pub)).code).toBe(0);
    expect((await cli('history', reg.work as string, '--ledger-key', pub, ...srv)).code).toBe(0);
    // a public key that is not the ledger's does not verify
    expect((await cli('verify', `${film}.cartulary.json`, '--ledger-key', `${dir}/keys/bob.pub`)).code).toBe(1);
    const missing = await cli('verify', `${film}.cartulary.json`, '--ledger-key', `${dir}/no-such.vkey`);
    expect(missing.code).toBe(3);
    expect(missing.err).toMatch(/no such file, and not a verifier key/);
  });

  it("shows parties' profile names beside their ids", async () => {
    const { srv, film, bob } = await story();
    await cli('profile', '--name', 'Alice Films', '--key', 'alice', ...srv);
    const reg = json(await cli('register', film, '--key', 'alice', '--title', 'My film', ...srv, '--json'));
    const check = await cli('check', film, '--uploader', 'bob', '--use', 'clip', '--territory', 'FR', ...srv);
    expect(check.out).toMatch(/is owned by "Alice Films" \([0-9a-f]{64}\)/);
    await cli('transfer', reg.work as string, '--to', 'bob', '--key', 'alice', ...srv);
    const history = await cli('history', reg.work as string, ...srv);
    expect(history.out).toMatch(/registered "My film" .* by "Alice Films" \([0-9a-f]{12}…\)/);
    expect(history.out).toContain(`to ${bob.slice(0, 12)}…`); // bob published no profile
  });

  it('does not crash when the reader closes the pipe, and the command still takes effect', async () => {
    const { s, dir, keys, film } = await story();
    const work = json(await cli('register', film, '--key', 'alice', '--server', s.url, '--keys', keys, '--json')).work as string;
    const script = `node --import tsx src/cli/run.ts license ${work} --to bob --use clip --territory FR --key alice --server ${s.url} --keys ${keys} | true; echo "cli=\${PIPESTATUS[0]}"`;
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise((r) => child.once('exit', r));
    expect(err).toBe('');
    expect(out.trim()).toBe('cli=0');
    const held = (await (await s.get(`/v1/works/${work}`)).json()) as { licenceCount: number };
    expect(held.licenceCount).toBe(1);
    void dir;
  });

  it('reports progress with rate and time left: a plain line per tenth off a terminal; erased when done on one', () => {
    const lines: string[] = [];
    const plain = progressLine({ out: () => {}, err: (l) => lines.push(l), progress: false }, 'hashing big.mp4', 'bytes');
    for (let done = 0; done <= 100; done++) plain(done * 1024 * 1024, 100 * 1024 * 1024);
    expect(lines).toHaveLength(10);
    expect(lines[0]).toMatch(/^hashing big\.mp4: 10% 10\.0\/100\.0 MiB, [\d.]+ MiB\/s, ETA \S+$/);
    expect(lines[9]).toMatch(/^hashing big\.mp4: 100% 100\.0\/100\.0 MiB/);

    const writes: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      const tty = progressLine({ out: () => {}, err: () => {}, progress: true }, 'audit');
      tty(5, 10);
      tty(10, 10);
    } finally {
      spy.mockRestore();
    }
    expect(writes[0]).toMatch(/^\raudit: 50% 5\/10, [\d.]+\/s, ETA \S+\x1b\[K$/);
    expect(writes.at(-1)).toBe('\r\x1b[K');
  });
});
