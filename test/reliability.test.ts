/** Nothing acknowledged is lost; a tampered store is caught; secrets stay secret. */
import { chmod, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { toBase64, toHex } from '../src/core/bytes.js';
import { parseVerifierKey } from '../src/core/checkpoint.js';
import { createKeyPair } from '../src/store/key-files.js';
import { secretKeyFromPem } from '../src/core/keys.js';
import { auditLedger } from '../src/store/audit.js';
import { prefixRange, PREFIX } from '../src/store/layout.js';
import type { LedgerStore } from '../src/store/ledger-store.js';
import { openStore } from '../src/store/open-store.js';
import { levelDb } from './helpers.js';
import { startServer } from '../src/http/server.js';
import { crashTest } from '../scripts/lib/crash.js';
import { startChildServer } from '../scripts/lib/child-server.js';
import { party, stmt, tempDir } from './helpers.js';
import { pino } from 'pino';

const silent = pino({ level: 'silent' });

async function ledgerWithEntries(n = 8) {
  const dir = await tempDir();
  const s = await startServer({ port: 0, host: '127.0.0.1', dataDir: `${dir}/data`, keysDir: `${dir}/keys`, logger: silent });
  const alice = party();
  for (let i = 0; i < n; i++) await s.ledger.sequencer.submit(stmt.register(alice));
  const key = parseVerifierKey(s.ledger.sequencer.verifierKey);
  await s.close();
  return { dir, dataDir: `${dir}/data`, keysDir: `${dir}/keys`, key };
}

async function withStore<T>(dataDir: string, fn: (s: LedgerStore) => Promise<T>): Promise<T> {
  const store = await openStore(dataDir);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

describe('crash safety', () => {
  it('3 rounds of SIGKILL under load lose no receipt, and audit passes after each', async () => {
    const dir = await tempDir();
    const report = await crashTest({ rounds: 3, clients: 8, minMs: 200, maxMs: 700, dataDir: `${dir}/data`, keysDir: `${dir}/keys` });
    expect(report.failures).toEqual([]);
    expect(report).toMatchObject({ rounds: 3, lost: 0, audits: 3 });
    expect(report.receipts).toBeGreaterThan(20);
  }, 120_000);
});

describe('tampering behind the server\'s back', () => {
  it('audit names a reordered pair of leaves and a deleted id index entry', async () => {
    const { dataDir, key } = await ledgerWithEntries();
    await withStore(dataDir, async (s) => {
      const leaves = await levelDb(s).iterator(prefixRange(PREFIX.leaf)).all();
      const [[k2, v2], [k5, v5]] = [leaves[2]!, leaves[5]!];
      await levelDb(s).batch([{ type: 'put', key: k2, value: v5 }, { type: 'put', key: k5, value: v2 }]);
      expect((await auditLedger(s, key)).fault?.where).toBe('leaf 2');
      await levelDb(s).batch([{ type: 'put', key: k2, value: v2 }, { type: 'put', key: k5, value: v5 }]);
      const [idKey] = (await levelDb(s).iterator(prefixRange(PREFIX.id)).all())[0]!;
      await levelDb(s).del(idKey);
      expect((await auditLedger(s, key)).fault?.where).toMatch(/^leaf \d+$/);
    });
  });

  it('the server refuses to start on a store whose latest checkpoint does not verify', async () => {
    const { dataDir, keysDir } = await ledgerWithEntries();
    await withStore(dataDir, async (s) => {
      const [latest] = await levelDb(s).iterator({ ...prefixRange(PREFIX.checkpoint), reverse: true, limit: 1 }).all();
      const [k, v] = latest!;
      const altered = new Uint8Array(v);
      altered.set([altered[altered.length - 10]! ^ 1], altered.length - 10);
      await levelDb(s).put(k, altered);
    });
    await expect(startServer({ port: 0, host: '127.0.0.1', dataDir, keysDir, logger: silent })).rejects.toMatchObject({
      code: 'corrupt',
      message: expect.stringMatching(/latest checkpoint .* does not verify/),
    });
  });

  it("the server refuses to start with another ledger's key on this store", async () => {
    const { dataDir } = await ledgerWithEntries(2);
    const otherKeys = `${await tempDir()}/keys`;
    await createKeyPair(otherKeys, 'ledger');
    await expect(startServer({ port: 0, host: '127.0.0.1', dataDir, keysDir: otherKeys, logger: silent })).rejects.toMatchObject({ code: 'corrupt' });
  });
});

describe('keys at rest', () => {
  it('the ledger refuses a secret key readable by others, saying how to fix it', async () => {
    const { dataDir, keysDir } = await ledgerWithEntries(1);
    await chmod(`${keysDir}/ledger.key`, 0o644);
    await expect(startServer({ port: 0, host: '127.0.0.1', dataDir, keysDir, logger: silent })).rejects.toThrow(/chmod 600/);
  });

  it('no secret key appears in anything the server writes or answers', async () => {
    const dir = await tempDir();
    const server = await startChildServer(`${dir}/data`, `${dir}/keys`);
    const alice = party();
    const answers: string[] = [];
    const call = async (path: string, init?: RequestInit) => answers.push(await (await fetch(`${server.url}${path}`, init)).text());
    const post = (body: Uint8Array | string, type: string) => call('/v1/statements', { method: 'POST', body: typeof body === 'string' ? body : Buffer.from(body), headers: { 'content-type': type } });
    await post(stmt.register(alice), 'application/cose');
    await post(Uint8Array.of(1, 2, 3), 'application/cose');
    await post('{"statement":"AAAA"}', 'application/json');
    await post('x'.repeat(100_000), 'application/json');
    for (const path of ['/checkpoint', '/v1/log', '/v1/entries/0', '/v1/entries/0/evidence', '/healthz', '/openapi.json', '/v1/nothing', '/v1/works/zz']) await call(path);
    server.child.kill('SIGTERM');
    await server.exited;
    const pem = await readFile(`${dir}/keys/ledger.key`, 'utf8');
    const seed = secretKeyFromPem(pem);
    const everything = [server.output(), ...answers].join('\n');
    expect(everything.length).toBeGreaterThan(1000);
    for (const secret of [toHex(seed), toBase64(seed), pem.split('\n')[1]!, toBase64(seed).replace(/=+$/, ''), Buffer.from(seed).toString('base64url')]) {
      expect(everything).not.toContain(secret);
    }
  });
});
