/**
 * The ledger as a witness client (C2SP tlog-policy + tlog-witness): policy files, the quorum
 * rule, and a real ledger process with two real witness processes — cosignatures collected
 * and served, a witness down that never blocks appends and catches up when back, and
 * `verify --witness-policy` passing and failing as the quorum says.
 */
import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { formatVerifierKey } from '../src/core/checkpoint.js';
import { formatWitnessKey } from '../src/core/cosignature.js';
import { randomSeed, signerFromSeed } from '../src/core/crypto.js';
import { checkCosignedCheckpoint, parsePolicy, quorumMet } from '../src/core/policy.js';
import { main } from '../src/cli/main.js';
import { createKeyPair } from '../src/store/key-files.js';
import { DEFAULT_ORIGIN } from '../src/store/ledger.js';
import { startChildCommand, startChildServer, type ChildServer } from '../scripts/lib/child-server.js';
import { party, stmt, tempDir } from './helpers.js';

const wkey = (name: string) => formatWitnessKey(name, signerFromSeed(randomSeed()).publicKey);

describe('tlog-policy', () => {
  it('parses the spec example of two groups of witnesses and evaluates its quorum', () => {
    const log = formatVerifierKey('example.com/log', signerFromSeed(randomSeed()).publicKey);
    const policy = parsePolicy(
      [`log ${log}`, '', ...['X1', 'X2', 'X3'].map((n) => `witness ${n} ${wkey(`x.example/${n}`)}`), 'group X-witnesses 2 X1 X2 X3', '# comment',
        ...['Y1', 'Y2', 'Y3'].map((n) => `  witness\t${n} ${wkey(`y.example/${n}`)} https://y.example/${n}`), 'group Y-witnesses any Y1 Y2 Y3',
        'group X-and-Y all X-witnesses Y-witnesses', 'quorum X-and-Y'].join('\n'),
    );
    expect(policy.witnesses.map((w) => w.name)).toEqual(['X1', 'X2', 'X3', 'Y1', 'Y2', 'Y3']);
    expect(policy.witnesses[3]?.url).toBe('https://y.example/Y1');
    expect(quorumMet(policy, new Set(['X1', 'X2', 'Y3']))).toBe(true);
    expect(quorumMet(policy, new Set(['X1', 'Y1', 'Y2', 'Y3']))).toBe(false);
    expect(quorumMet(policy, new Set(['X1', 'X3']))).toBe(false);
    expect(quorumMet(parsePolicy('quorum none'), new Set())).toBe(true);
  });

  it('judges each group once: 60 groups each naming the two before it (2^60 paths) take no time', () => {
    const lines = [`witness a0 ${wkey('a0')}`, `witness b0 ${wkey('b0')}`];
    for (let i = 1; i < 60; i++) lines.push(`group a${i} all a${i - 1} b${i - 1}`, `group b${i} any a${i - 1} b${i - 1}`);
    const policy = parsePolicy([...lines, 'quorum a59'].join('\n'));
    expect(quorumMet(policy, new Set(['a0', 'b0']))).toBe(true);
    expect(quorumMet(policy, new Set(['a0']))).toBe(false);
  });

  it.each([
    ['group G any A', 'not defined'],
    [`witness A ${wkey('a')}\nwitness A ${wkey('b')}\nquorum A`, 'defined twice'],
    [`witness A ${wkey('a')}\ngroup G 2 A\nquorum G`, 'threshold'],
    [`witness A ${wkey('a')}\ngroup G any A A\nquorum G`, 'listed twice'],
    [`witness none ${wkey('a')}\nquorum none`, 'reserved'],
    [`witness A ${wkey('a')}\nquorum A\nquorum A`, 'exactly one quorum'],
    [`witness A ${wkey('a')}`, 'exactly one quorum'],
    [`witness A ${formatVerifierKey('a', signerFromSeed(randomSeed()).publicKey)}\nquorum A`, 'signature type 1'],
    ['quorum none\x00', 'control character'],
    ['frobnicate x\nquorum none', 'unknown keyword'],
  ])('refuses %j (%s)', (text, why) => {
    expect(() => parsePolicy(text)).toThrow(why);
  });
});

describe('a ledger process with two witness processes', () => {
  const children: ChildServer[] = [];
  const stop = async (c: ChildServer) => {
    c.child.kill('SIGTERM');
    await c.exited;
    children.splice(children.indexOf(c), 1);
  };
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.child.kill('SIGTERM');
      await c.exited;
    }
  });

  it('collects cosignatures, keeps appending while a witness is down, catches it up, and verify enforces the quorum; a quorum checkpoint stored under another policy is not cited', async () => {
    const dir = await tempDir();
    const ledgerKey = formatVerifierKey(DEFAULT_ORIGIN, (await createKeyPair(`${dir}/ledger-keys`, 'ledger')).publicKey);
    const witnessArgs = (n: string) => ['witness', '--port', '0', '--data', `${dir}/${n}/data`, '--keys', `${dir}/${n}/keys`, '--name', `${n}.example/witness`, '--log', ledgerKey];
    const [w1, w2] = await Promise.all([startChildCommand(witnessArgs('court')), startChildCommand(witnessArgs('notary'))]);
    children.push(w1, w2);
    const vkeyOf = async (w: ChildServer) => (await (await fetch(`${w.url}/witness-key`)).text()).trim();
    const vkeys = [await vkeyOf(w1), await vkeyOf(w2)];
    const policyText = (quorum: string) =>
      `log ${ledgerKey}\nwitness court ${vkeys[0]} ${w1.url}\nwitness notary ${vkeys[1]} ${w2.url}\ngroup both all court notary\nquorum ${quorum}\n`;
    await writeFile(`${dir}/policy`, policyText('both'));
    await writeFile(`${dir}/policy-court`, policyText('court'));
    let ledger = await startChildServer(`${dir}/data`, `${dir}/ledger-keys`, { args: ['--witness-policy', `${dir}/policy`] });
    children.push(ledger);

    const policy = parsePolicy(policyText('both'));
    const get = (path: string) => fetch(`${ledger.url}${path}`);
    const health = async () => (await (await get('/healthz')).json()) as { size: number; witnesses: Array<{ name: string; lag: number; cosignedSize: number; lastError: string | null }> };
    const until = async (what: string, ok: () => Promise<boolean>, ms = 20_000) => {
      const end = Date.now() + ms;
      while (!(await ok())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const cosignedBy = async () => {
      const check = checkCosignedCheckpoint(await (await get('/checkpoint')).text(), policy);
      return { size: check.checkpoint.size, names: check.cosignatures.map((c) => c.name).sort(), quorum: check.quorum };
    };
    const alice = party();
    const register = async () => {
      const res = await fetch(`${ledger.url}/v1/statements`, { method: 'POST', headers: { 'content-type': 'application/cose' }, body: Buffer.from(stmt.register(alice)) });
      expect(res.status).toBe(201);
      return (await res.json()) as { id: string; index: number };
    };
    const verifyCli = async (work: string, policyFile: string) => {
      const lines: string[] = [];
      await writeFile(`${dir}/bundle.json`, await (await get(`/v1/works/${work}/evidence`)).text());
      const code = await main(['verify', `${dir}/bundle.json`, '--witness-policy', policyFile], { out: (l) => lines.push(l), err: (l) => lines.push(l), progress: false });
      return { code, output: lines.join('\n') };
    };

    const early = [await register(), await register(), await register()];
    await until('both cosignatures on size 3', async () => JSON.stringify(await cosignedBy()) === JSON.stringify({ size: 3, names: ['court', 'notary'], quorum: true }));
    expect((await health()).witnesses.map((w) => [w.name, w.cosignedSize, w.lag])).toEqual([['court', 3, 0], ['notary', 3, 0]]);
    const ok = await verifyCli(early[0]!.id, `${dir}/policy`);
    expect(ok.code, ok.output).toBe(0);
    expect(ok.output).toMatch(/witness court \(court\.example\/witness\) had seen this tree of size 3 by \d{4}-\d\d-\d\dT/);
    expect(ok.output).toContain('the witness quorum "both" is met');

    // The notary goes down: appends go on at once; the court keeps cosigning; the lag shows.
    await stop(w2);
    const started = Date.now();
    const late = await register();
    await register();
    expect(Date.now() - started).toBeLessThan(2_000);
    await until('the court alone on size 5', async () => JSON.stringify(await cosignedBy()) === JSON.stringify({ size: 5, names: ['court'], quorum: false }));
    await until('the notary lag and error in /healthz', async () => {
      const notary = (await health()).witnesses.find((w) => w.name === 'notary');
      return notary?.lag === 2 && notary.lastError !== null;
    });
    // Old bundles still cite the quorum checkpoint; a new entry's cannot meet the quorum yet.
    expect((await verifyCli(early[1]!.id, `${dir}/policy`)).code).toBe(0);
    const unmet = await verifyCli(late.id, `${dir}/policy`);
    expect(unmet.code).toBe(1);
    expect(unmet.output).toMatch(/do not meet the quorum "both"/);
    expect((await verifyCli(late.id, `${dir}/policy-court`)).code).toBe(0);

    // Back up with its state: the ledger's retries catch it up from size 3 to 5.
    const w2b = await startChildCommand(['witness', '--port', new URL(w2.url).port, '--data', `${dir}/notary/data`, '--keys', `${dir}/notary/keys`, '--name', 'notary.example/witness', '--log', ledgerKey]);
    children.push(w2b);
    await until('both cosignatures on size 5', async () => (await cosignedBy()).quorum);
    expect((await health()).witnesses.map((w) => w.lag)).toEqual([0, 0]);
    expect((await verifyCli(late.id, `${dir}/policy`)).code).toBe(0);

    // The ledger restarts knowing no witness's size: each answers 409 with its size, and the
    // ledger resends from there, so the latest checkpoint is cosigned again.
    await stop(ledger);
    ledger = await startChildServer(`${dir}/data`, `${dir}/ledger-keys`, { args: ['--witness-policy', `${dir}/policy`] });
    children.push(ledger);
    await until('both cosignatures after the ledger restarted', async () => JSON.stringify(await cosignedBy()) === JSON.stringify({ size: 5, names: ['court', 'notary'], quorum: true }));
    expect((await health()).witnesses.map((w) => [w.cosignedSize, w.lastError])).toEqual([[5, null], [5, null]]);

    // Restarted under a policy whose quorum is a witness that never cosigned anything: the
    // quorum checkpoint stored under the old policy is not cited (its bundles failed the new
    // policy); the latest checkpoint is, with the cosignatures it has.
    await stop(ledger);
    const third = formatWitnessKey('third.example/witness', signerFromSeed(randomSeed()).publicKey);
    await writeFile(`${dir}/policy-third`, `log ${ledgerKey}\nwitness court ${vkeys[0]} ${w1.url}\nwitness third ${third} http://127.0.0.1:9\nquorum third\n`);
    ledger = await startChildServer(`${dir}/data`, `${dir}/ledger-keys`, { args: ['--witness-policy', `${dir}/policy-third`] });
    children.push(ledger);
    await register();
    const cited = ((await (await get(`/v1/works/${early[0]!.id}/evidence`)).json()) as { checkpoint: string }).checkpoint;
    expect(cited.split('\n')[1]).toBe('6');
  }, 60_000);
});
