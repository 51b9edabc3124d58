/** Audit re-derives everything from the leaves: any flipped byte in the store is named. */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readUintBE } from '../src/core/bytes.js';
import { parseVerifierKey } from '../src/core/checkpoint.js';
import { auditLedger } from '../src/store/audit.js';
import { prefixRange, PREFIX } from '../src/store/layout.js';
import { openStore } from '../src/store/open-store.js';
import { levelDb } from './helpers.js';
import { openLedger } from '../src/store/ledger.js';
import { party, stmt, tempDir } from './helpers.js';

async function populatedLedger() {
  const dir = await tempDir();
  const paths = { dataDir: `${dir}/data`, keysDir: `${dir}/keys` };
  const ledger = await openLedger(paths);
  const [alice, bob, carol] = [party(), party(), party()];
  const s = ledger.sequencer;
  const works = await Promise.all(Array.from({ length: 6 }, () => s.submit(stmt.register(alice))));
  const work = works[0]!.receipt.id;
  const lic = await s.submit(stmt.license(alice, work, bob.id, { exclusive: true, territories: ['FR'] }));
  await s.submit(stmt.transfer(alice, work, carol.id));
  await s.submit(stmt.revoke(carol, lic.receipt.id));
  await s.submit(stmt.party(bob, 'Bob'));
  const verifierKey = parseVerifierKey(s.verifierKey);
  await ledger.close();
  return { paths, verifierKey, dir };
}

async function flipOne(dataDir: string, prefix: Uint8Array, pick = 0): Promise<{ key: Uint8Array; restore: () => Promise<void> }> {
  const store = await openStore(dataDir);
  const entries = await levelDb(store).iterator(prefixRange(prefix)).all();
  const [k, v] = entries[pick % entries.length]!;
  const altered = new Uint8Array(v); // a copy: Buffer.slice would be a view of v
  const mid = Math.floor(altered.length / 2);
  altered.set([altered[mid]! ^ 0x01], mid);
  await levelDb(store).put(k, altered);
  await store.close();
  return {
    key: k,
    restore: async () => {
      const st = await openStore(dataDir);
      await levelDb(st).put(k, v);
      await st.close();
    },
  };
}

async function audit(dataDir: string, key: ReturnType<typeof parseVerifierKey>) {
  const store = await openStore(dataDir);
  try {
    return await auditLedger(store, key);
  } finally {
    await store.close();
  }
}

describe('audit', () => {
  it('passes on an honest ledger and fails, naming the place, on any flipped byte', async () => {
    const { paths, verifierKey } = await populatedLedger();
    expect(await audit(paths.dataDir, verifierKey)).toMatchObject({ ok: true, size: 10 });

    const cases: Array<[string, Uint8Array, number, RegExp]> = [
      ['leaf', PREFIX.leaf, 3, /^leaf 3$/],
      ['leaf', PREFIX.leaf, 8, /^leaf 8$/],
      ['node', PREFIX.node, 5, /^(node \d+\/\d+|leaf \d+|checkpoint \d+)$/],
      ['checkpoint', PREFIX.checkpoint, 0, /^checkpoint \d+$/],
      ['work', PREFIX.work, 0, /^work [0-9a-f]{64}$/],
      ['licence', PREFIX.licence, 0, /^licence [0-9a-f]{64}$/],
      ['content index', PREFIX.sha, 0, /^content [0-9a-f]{64}$/],
      ['party', PREFIX.party, 0, /^party [0-9a-f]{64}$/],
      ['title index', PREFIX.title, 0, /^title index [0-9a-f]+$/],
      ['id index', PREFIX.id, 2, /^leaf \d+$/],
    ];
    for (const [what, prefix, pick, where] of cases) {
      const { key, restore } = await flipOne(paths.dataDir, prefix, pick);
      const result = await audit(paths.dataDir, verifierKey);
      expect(result.ok, `${what} ${Buffer.from(key).toString('hex')}`).toBe(false);
      expect(result.fault?.where, `${what}: ${result.fault?.detail}`).toMatch(where);
      if (what === 'leaf') expect(result.fault?.where).toBe(`leaf ${readUintBE(key, 1)}`);
      await restore();
    }
    expect(await audit(paths.dataDir, verifierKey)).toMatchObject({ ok: true });
  });

  it('replays into a scratch store under the folder it is given, and leaves nothing there', async () => {
    const { paths, verifierKey } = await populatedLedger();
    const scratchDir = await tempDir();
    const store = await openStore(paths.dataDir);
    let seen: string[] = [];
    try {
      const result = await auditLedger(store, verifierKey, { scratchDir, onProgress: () => (seen = readdirSync(scratchDir)) });
      expect(result).toMatchObject({ ok: true, size: 10 });
    } finally {
      await store.close();
    }
    expect(seen).toEqual([expect.stringMatching(/^cartulary-audit-/)]);
    expect(await readdir(scratchDir)).toEqual([]);
  });

  it('names a deleted leaf', async () => {
    const { paths, verifierKey } = await populatedLedger();
    const store = await openStore(paths.dataDir);
    const [k] = (await levelDb(store).iterator(prefixRange(PREFIX.leaf)).all())[4]!;
    await levelDb(store).del(k);
    await store.close();
    expect((await audit(paths.dataDir, verifierKey)).fault?.where).toBe('leaf 5');
  });

  it('names a derived record that no entry produces', async () => {
    const { paths, verifierKey } = await populatedLedger();
    const store = await openStore(paths.dataDir);
    const [k, v] = (await levelDb(store).iterator({ ...prefixRange(PREFIX.work), limit: 1 }).all())[0]!;
    const stray = k.slice();
    stray[stray.length - 1] = stray.at(-1)! ^ 0xff;
    await levelDb(store).put(stray, v);
    await store.close();
    const result = await audit(paths.dataDir, verifierKey);
    expect(result.fault).toMatchObject({ where: `work ${Buffer.from(stray.subarray(1)).toString('hex')}`, detail: expect.stringMatching(/no entry of the log produces/) });
  });

  it('`cartulary audit` exits non-zero and names the fault', async () => {
    const { paths, dir } = await populatedLedger();
    await flipOne(paths.dataDir, PREFIX.leaf, 2);
    const run = promisify(execFile);
    const cli = ['--import', 'tsx', 'src/cli/run.ts', 'audit', '--data', paths.dataDir, '--keys', paths.keysDir];
    const failure = await run(process.execPath, cli).catch((e: { code: number; stderr: string }) => e);
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toMatch(/audit FAILED at leaf 2/);
    void dir;
  });
});
