/** The dispute commands end to end over real HTTP: claim, accredit, resolve, check --report, history. */
import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Io } from '../src/cli/command.js';
import { main } from '../src/cli/main.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';
import { tempDir } from './helpers.js';

let running: ServerFixture[] = [];
afterEach(async () => {
  await Promise.all(running.map((s) => s.close()));
  running = [];
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), progress: false };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('dispute commands', () => {
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

    expect((await cli('check', film, '--uploader', 'alice', '--territory', 'FR', '--use', 'publish', '--ledger-key', s.verifierKey, ...srv)).out).toMatch(/^owner: .*\[evidence verified offline\]$/);
    expect((await cli('check', film, '--uploader', 'mallory', '--territory', 'FR', '--use', 'publish', ...srv)).code).toBe(1);
    const reported = await cli('check', film, '--uploader', 'bob', '--territory', 'FR', '--use', 'publish', '--report', 'post-77', '--key', 'platform', ...srv);
    expect(reported.code).toBe(1);
    expect(reported.out).toMatch(/sighting recorded: entry #\d+/);
    expect(await (await s.get(`/v1/works/${mine}/sightings`)).json()).toMatchObject({ count: 1, sightings: [{ platform: 'VideoSite', payload: { reference: 'post-77', verdict: 'unlicensed' } }] });

    const hist = await cli('history', mine, '--ledger-key', s.verifierKey, ...srv);
    expect(hist.code, hist.err).toBe(0);
    expect(hist.out).toMatch(/owner [0-9a-f]{64} \(Alice Films\), registered/);
    expect(hist.out).toMatch(/infringement claimed by Alice Films \([0-9a-f]{12}…\): https:\/\/video\.example\/v\/9, VideoSite; capture video\/webm/);
    expect(hist.out).toMatch(/Mediation Centre \([0-9a-f]{12}…\) accredited as a mediator by the registrar .* until 2099-01-01/);
    expect(hist.out).toMatch(/title awarded to work .* by mediator Mediation Centre .*: drafts predate it/);
    expect(hist.out).toMatch(/claim [0-9a-f]{12}… upheld by mediator Mediation Centre/);
    expect(hist.out).toMatch(/claims: 1 \(0 open\); sightings by platforms: 1/);
    const loser = await cli('history', early, '--json', ...srv);
    expect(JSON.parse(loser.out)).toMatchObject({ status: 'superseded', resolutions: [{ decision: 'award', award: mine }, { decision: 'uphold' }] });

    for (const name of ['claim', 'accredit', 'resolve']) {
      const h = await cli(name, '--help');
      expect(h.out).toMatch(new RegExp(`^cartulary ${name}[\\s\\S]*--json[\\s\\S]*example:\\n  cartulary ${name} `));
    }
  });
});
