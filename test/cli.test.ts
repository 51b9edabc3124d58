/** The command line, end to end over real HTTP: the README's story, disputes, and serve's lifecycle. */
import { execFileSync, spawn } from 'node:child_process';
import { writeFile, readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { serverFixture, type ServerFixture } from './server-fixture.js';
import { cli } from './cli-runner.js';
import { tempDir } from './helpers.js';

let running: ServerFixture[] = [];
afterEach(async () => {
  await Promise.all(running.map((s) => s.close()));
  running = [];
});


describe('cartulary CLI', () => {
  it('tells the whole story: register, license, check, expire, transfer, history, verify', async () => {
    const s = await serverFixture();
    running.push(s);
    const dir = await tempDir();
    const keys = `${dir}/keys`;
    const srv = ['--server', s.url, '--keys', keys];
    const alice = (await cli('keygen', 'alice', '--out', keys)).out.trim();
    const bob = (await cli('keygen', 'bob', '--out', keys)).out.trim();
    expect(alice).toMatch(/^[0-9a-f]{64}$/);
    expect(execFileSync('stat', ['-c', '%a', `${keys}/alice.key`]).toString().trim()).toBe('600');

    const film = `${dir}/film.mp4`;
    await writeFile(film, Buffer.from('pretend this is a film '.repeat(1000)));
    const reg = await cli('register', film, '--key', 'alice', '--title', 'My film', ...srv);
    expect(reg.code, reg.err).toBe(0);
    const saved = JSON.parse(await readFile(`${film}.cartulary.json`, 'utf8')) as { receipt: { id: string } };
    const work = saved.receipt.id;
    expect(reg.out).toContain(work);

    const until = Date.now() + 60_000;
    const lic = await cli('license', work, '--to', 'bob', '--use', 'clip', '--territory', 'FR,BE', '--until', String(until), '--key', 'alice', ...srv);
    expect(lic.code, lic.err).toBe(0);
    const ledgerKey = s.verifierKey;

    const licensed = await cli('check', film, '--uploader', 'bob', '--use', 'clip', '--territory', 'FR', '--ledger-key', ledgerKey, ...srv);
    expect(licensed).toMatchObject({ code: 0 });
    expect(licensed.out).toMatch(/^licensed: .*\[evidence verified offline\]$/m);
    const expired = await cli('check', film, '--uploader', 'bob', '--use', 'clip', '--territory', 'FR', '--at', String(until + 1), ...srv);
    expect(expired.code).toBe(1);
    expect(expired.out).toMatch(/unlicensed: .*expired/);
    expect((await cli('check', film, '--uploader', 'alice', '--use', 'publish', '--territory', 'US', ...srv)).code).toBe(0);
    expect((await cli('check', '0'.repeat(64), '--uploader', bob, '--use', 'clip', '--territory', 'FR', ...srv)).code).toBe(2);
    const json = await cli('check', film, '--uploader', 'bob', '--use', 'recap', '--territory', 'FR', '--json', ...srv);
    expect(JSON.parse(json.out)).toMatchObject({ verdict: 'unlicensed', reasons: [{ reason: 'wrong-use' }] });

    expect((await cli('transfer', work, '--to', 'bob', '--key', 'alice', ...srv)).code).toBe(0);
    const hist = await cli('history', work, '--ledger-key', ledgerKey, ...srv);
    expect(hist.code, hist.err).toBe(0);
    expect(hist.out).toMatch(/registered "My film"/);
    expect(hist.out).toMatch(/licensed by .* clip in FR, BE, until \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\n/);
    expect(hist.out).toMatch(/transferred by/);
    expect(hist.out).toContain(`owner ${bob}`);

    const bundlePath = `${dir}/bundle.json`;
    await writeFile(bundlePath, JSON.stringify(await (await fetch(`${s.url}/v1/works/${work}/evidence`)).json()));
    await writeFile(`${dir}/ledger.vkey`, `${ledgerKey}\n`);
    const verified = await cli('verify', bundlePath, '--file', film, '--ledger-key', `${dir}/ledger.vkey`);
    expect(verified.code, verified.out).toBe(0);
    expect(verified.out).toMatch(/the file is the registered content[\s\S]*verified$/);
    // the file saved at registration verifies too; a different file or ledger key does not
    expect((await cli('verify', `${film}.cartulary.json`, '--ledger-key', ledgerKey)).code).toBe(0);
    expect((await cli('verify', bundlePath, '--file', bundlePath, '--ledger-key', ledgerKey)).out).toMatch(/FAIL file-mismatch/);
    const otherKey = ledgerKey.replace(/\+[0-9a-f]{8}\+.*/, '+00000000+AQ' + 'A'.repeat(42) + '=');
    expect((await cli('verify', bundlePath, '--ledger-key', otherKey)).code).not.toBe(0);
  });

  it('signs with a key made by `openssl genpkey -algorithm ed25519`', async () => {
    const s = await serverFixture();
    running.push(s);
    const dir = await tempDir();
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', `${dir}/o.key`]);
    await writeFile(`${dir}/doc.txt`, 'an original text');
    const r = await cli('register', `${dir}/doc.txt`, '--key', `${dir}/o.key`, '--server', s.url);
    expect(r.code, r.err).toBe(0);
    const owner = execFileSync('sh', ['-c', `openssl pkey -in ${dir}/o.key -pubout -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \\n'`]).toString();
    const work = JSON.parse(await readFile(`${dir}/doc.txt.cartulary.json`, 'utf8')).receipt.id as string;
    expect(await (await fetch(`${s.url}/v1/works/${work}`)).json()).toMatchObject({ owner });
  });

  it('gives every command --help with an example, and usage errors exit 64', async () => {
    for (const name of ['init', 'serve', 'keygen', 'register', 'transfer', 'license', 'revoke', 'profile', 'check', 'verify', 'history', 'audit']) {
      const h = await cli(name, '--help');
      expect(h.code).toBe(0);
      expect(h.out).toMatch(new RegExp(`^cartulary ${name}[\\s\\S]*example:\\n  cartulary`));
    }
    expect((await cli('nope')).code).toBe(64);
    expect((await cli('register', '--bogus')).code).toBe(64);
    const unreachable = await cli('check', '0'.repeat(64), '--uploader', '1'.repeat(64), '--use', 'clip', '--territory', 'FR', '--server', 'http://127.0.0.1:1');
    expect(unreachable).toMatchObject({ code: 3 });
    expect(unreachable.err).toMatch(/cannot reach the ledger/);
  });

  it('`serve` creates its key and data on first start, drains on SIGTERM and exits 0', async () => {
    const dir = await tempDir();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'serve', '--port', '0', '--data', `${dir}/data`, '--keys', `${dir}/keys`], {
      env: { ...process.env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      child.once('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
    });
    expect(stderr).toMatch(/created ledger key/);
    expect(execFileSync('stat', ['-c', '%a', `${dir}/keys/ledger.key`]).toString().trim()).toBe('600');
    const { stmt, party } = await import('./helpers.js');
    const submissions = Array.from({ length: 200 }, () =>
      fetch(`${url}/v1/statements`, { method: 'POST', body: Buffer.from(stmt.register(party())), headers: { 'content-type': 'application/cose' } }).then((r) => r.status, () => 0),
    );
    await new Promise((r) => setTimeout(r, 30));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const statuses = await Promise.all(submissions);
    const accepted = statuses.filter((st) => st === 201).length;
    // Every submission that got a receipt is in the ledger; the rest were refused or never connected.
    const audit = await cli('audit', '--data', `${dir}/data`, '--keys', `${dir}/keys`);
    expect(audit.code, audit.err).toBe(0);
    expect(audit.out).toMatch(new RegExp(`audit ok: ${accepted} entries`));
  });

  it('`serve` stopped the moment it says it is listening still closes cleanly and saves its indexes', async () => {
    // Before the fix, a SIGTERM sent on reading the line killed the process outright 28 times in 40.
    const dir = await tempDir();
    for (let round = 0; round < 5; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'serve', '--port', '0', '--data', `${dir}/data`, '--keys', `${dir}/keys`], {
        env: { ...process.env, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      let sent = false;
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (!sent && /listening on/.test(stderr)) {
          sent = true;
          child.kill('SIGTERM');
        }
      });
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, sig) => resolve([c, sig])));
      expect({ round, code, signal }).toEqual({ round, code: 0, signal: null });
      expect(stderr).toMatch(/SIGTERM: draining and closing/);
      expect(await readFile(`${dir}/data/fingerprint-index.state`)).toBeTruthy();
    }
  });
});

describe('cartulary CLI for disputes', () => {
  it('claim with a capture, accredit, resolve, report a sighting, and show it all in the history', async () => {
    const s = await serverFixture();
    running.push(s);
    const dir = await tempDir();
    const keys = `${dir}/keys`;
    const srv = ['--server', s.url, '--keys', keys];
    for (const name of ['alice', 'mallory', 'carol', 'platform', 'bob']) expect((await cli('keygen', name, '--out', keys)).code).toBe(0);
    expect((await cli('profile', '--name', 'Alice Films', '--key', 'alice', ...srv)).code).toBe(0);
    expect((await cli('profile', '--name', 'Mediation Centre', '--key', 'carol', ...srv)).code).toBe(0);
    expect((await cli('profile', '--name', 'VideoSite', '--key', 'platform', ...srv)).code).toBe(0);

    const film = `${dir}/film.txt`;
    await writeFile(film, 'a disputed film '.repeat(100));
    const registered = async (key: string) => {
      const r = await cli('register', film, '--key', key, ...srv);
      expect(r.code, r.err).toBe(0);
      return /id: +([0-9a-f]{64})/.exec(r.out)![1]!;
    };
    const early = await registered('mallory');
    const mine = await registered('alice');
    expect((await cli('check', film, '--uploader', 'alice', '--territory', 'FR', '--use', 'publish', ...srv)).code).toBe(1);

    const capture = `${dir}/recording.webm`;
    await writeFile(capture, 'pretend screen recording');
    const claimed = await cli('claim', mine, '--capture', capture, '--url', 'https://video.example/v/9', '--platform', 'VideoSite', '--captured-at', '2026-01-02', '--key', 'alice', '--json', ...srv);
    expect(claimed.code, claimed.err).toBe(0);
    const claim = JSON.parse(claimed.out) as { receipt: { id: string }; capture: { sha256: string; capturedAt: number } };
    expect(claim.capture).toMatchObject({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), capturedAt: Date.parse('2026-01-02') });
    const notOwner = await cli('claim', mine, '--capture', capture, '--url', 'https://video.example/v/9', '--key', 'bob', ...srv);
    expect(notOwner).toMatchObject({ code: 3 });
    expect(notOwner.err).toMatch(/403 .*owner .* exclusive licensee/);

    const forged = await cli('resolve', mine, '--award', mine, '--key', 'carol', ...srv);
    expect(forged.code).toBe(3);
    expect(forged.err).toMatch(/403 .*not accredited/);
    const accredited = await cli('accredit', 'carol', '--until', '2099-01-01', '--key', `${s.dir}/keys/registrar.key`, '--json', ...srv);
    expect(accredited.code, accredited.err).toBe(0);
    expect(JSON.parse(accredited.out)).toMatchObject({ repeat: false, receipt: { index: expect.any(Number) } });
    expect((await cli('accredit', 'bob', '--key', 'mallory', ...srv)).err).toMatch(/403 .*registrar/);
    const award = await cli('resolve', mine, '--award', mine, '--reason', 'drafts predate it', '--key', 'carol', ...srv);
    expect(award.code, award.err).toBe(0);
    expect(award.out).toMatch(/title awarded to/);
    expect((await cli('resolve', mine, '--decision', 'uphold', '--claim', claim.receipt.id, '--key', 'carol', ...srv)).code).toBe(0);
    expect((await cli('resolve', mine, '--decision', 'maybe', '--key', 'carol', ...srv)).err).toMatch(/--decision must be one of/);

    expect((await cli('check', film, '--uploader', 'alice', '--territory', 'FR', '--use', 'publish', '--ledger-key', s.verifierKey, ...srv)).out).toMatch(/^owner: .*\[evidence verified offline\]$/m);
    expect((await cli('check', film, '--uploader', 'mallory', '--territory', 'FR', '--use', 'publish', ...srv)).code).toBe(1);
    const reported = await cli('check', film, '--uploader', 'bob', '--territory', 'FR', '--use', 'publish', '--report', 'post-77', '--key', 'platform', ...srv);
    expect(reported.code).toBe(1);
    expect(reported.out).toMatch(/sighting recorded: entry #\d+/);
    expect(await (await s.get(`/v1/works/${mine}/sightings`)).json()).toMatchObject({ count: 1, sightings: [{ platform: 'VideoSite', payload: { reference: 'post-77', verdict: 'unlicensed' } }] });

    const hist = await cli('history', mine, '--ledger-key', s.verifierKey, ...srv);
    expect(hist.code, hist.err).toBe(0);
    expect(hist.out).toMatch(/owner "Alice Films" \([0-9a-f]{64}\), registered/);
    expect(hist.out).toMatch(/infringement claimed by "Alice Films" \([0-9a-f]{12}…\) \(claim [0-9a-f]{64}\): https:\/\/video\.example\/v\/9, VideoSite, as \S+; capture video\/webm/);
    expect(hist.out).toMatch(/"Mediation Centre" \([0-9a-f]{12}…\) accredited as a mediator by the registrar .* through 2099-01-01/);
    expect(hist.out).toMatch(/title awarded to work .* by mediator "Mediation Centre" .*: drafts predate it/);
    expect(hist.out).toMatch(/claim [0-9a-f]{12}… upheld by mediator "Mediation Centre"/);
    expect(hist.out).toMatch(/claims: 1 \(0 open\); sightings by platforms: 1/);
    const loser = await cli('history', early, '--json', ...srv);
    expect(JSON.parse(loser.out)).toMatchObject({ status: 'superseded', resolutions: [{ decision: 'award', award: mine }, { decision: 'uphold' }] });

    // init names another registrar, and it stays fixed
    const registrar = (await cli('keygen', 'registrar2', '--out', keys)).out.trim();
    const init = await cli('init', '--data', `${dir}/data`, '--keys', `${dir}/ledger-keys`, '--registrar', `${keys}/registrar2.pub`);
    expect(init.code, init.err).toBe(0);
    expect(init.out).toContain(`registrar:    ${registrar}`);
    const again = await cli('init', '--data', `${dir}/data`, '--keys', `${dir}/ledger-keys`, '--registrar', `${keys}/alice.pub`);
    expect(again).toMatchObject({ code: 3 });
    expect(again.err).toMatch(/fixed when the ledger is created/);

    for (const name of ['claim', 'accredit', 'resolve']) {
      const h = await cli(name, '--help');
      expect(h.out).toMatch(new RegExp(`^cartulary ${name}[\\s\\S]*--json[\\s\\S]*example:\\n  cartulary ${name} `));
    }
  });
});
