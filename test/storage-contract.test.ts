/**
 * The storage contract (src/store/storage.ts), checked the same way against every store
 * implementation: the embedded LevelDB store and PostgreSQL. Each implementation is opened on
 * a real folder or database; the ledger on top of it is the real sequencer.
 */
import { describe, expect, it } from 'vitest';
import { randomSeed, signerFromSeed } from '../src/core/crypto.js';
import { openCheckpoint, parseVerifierKey } from '../src/core/checkpoint.js';
import { auditLedger } from '../src/store/audit.js';
import type { LedgerStore } from '../src/store/ledger-store.js';
import { key } from '../src/store/layout.js';
import { openStore } from '../src/store/open-store.js';
import { Sequencer } from '../src/store/sequencer.js';
import { content, party, stmt, tempDir } from './helpers.js';
import { sha256 } from '../src/core/crypto.js';
import { toHex } from '../src/core/bytes.js';
import { freshDatabase, postgresMissing } from './postgres.js';

interface Implementation {
  name: string;
  /** why it cannot run here (the suite is skipped, saying so) */
  missing: string | null;
  /** a new, empty store, and how to open the same one again */
  create(): Promise<{ store: LedgerStore; reopen(): Promise<LedgerStore> }>;
}

const implementations: Implementation[] = [
  {
    name: 'LevelDB',
    missing: null,
    async create() {
      const dir = `${await tempDir()}/data`;
      return { store: await openStore(dir, { create: true }), reopen: () => openStore(dir) };
    },
  },
  {
    name: 'PostgreSQL',
    missing: postgresMissing,
    async create() {
      const url = await freshDatabase();
      return { store: await openStore(url, { create: true }), reopen: () => openStore(url) };
    },
  },
];

const origin = 'contract.test/ledger';

describe.each(implementations)('the storage contract on $name', (impl) => {
  if (impl.missing) {
    it.skip(`skipped: ${impl.missing}`, () => undefined);
    return;
  }
  it('an append is visible whole as soon as it resolves, and after the store is reopened', async () => {
    const { store, reopen } = await impl.create();
    const signer = signerFromSeed(randomSeed());
    const sequencer = await Sequencer.open(store, { origin, signer, maxDelayMs: 0 });
    const alice = party();
    const receipts = await Promise.all([stmt.register(alice), stmt.register(alice), stmt.party(alice, 'Alice')].map(async (s) => (await sequencer.submit(s)).receipt));
    // Read-after-append: everything the batch wrote answers now.
    for (const r of receipts) {
      expect(await store.read((v) => v.leaf(r.index))).toBeDefined();
      expect(await store.read((v) => v.indexOf(Buffer.from(r.id, 'hex')))).toBe(r.index);
    }
    expect(await store.read((v) => v.work(receipts[0]!.id))).toMatchObject({ owner: alice.id, head: receipts[0]!.index });
    expect(await store.read((v) => v.party(alice.id))).toMatchObject({ name: 'Alice' });
    expect(await store.worksOwnedBy(alice.id)).toHaveLength(2);
    const latest = await store.latestCheckpoint();
    expect(latest?.size).toBe(3);
    await sequencer.close();
    await store.close();

    // Durable: the same state after reopening, and the checkpoints in order of size.
    const again = await reopen();
    const key = parseVerifierKey(sequencer.verifierKey);
    const sizes: number[] = [];
    for await (const cp of again.checkpoints()) sizes.push(openCheckpoint(cp.note, key).size);
    expect(sizes[0]).toBe(0);
    expect(sizes.at(-1)).toBe(3);
    expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
    const leaves: number[] = [];
    for await (const chunk of again.leafChunks(2)) leaves.push(...chunk.map((l) => l.index));
    expect(leaves).toEqual([0, 1, 2]);
    expect((await again.read((v) => v.work(receipts[1]!.id)))?.owner).toBe(alice.id);
    expect((await auditLedger(again, key)).ok).toBe(true);
    await again.close();
  });

  it('admits one writer: a second open of the same store is refused while the first holds it', async () => {
    const { store, reopen } = await impl.create();
    await expect(reopen()).rejects.toMatchObject({ code: 'unavailable' });
    await store.close();
    const after = await reopen();
    await after.close();
  });

  it('after a failed append the sequencer stops taking writes, and the reopened store holds exactly what was acknowledged', async () => {
    const { store, reopen } = await impl.create();
    const signer = signerFromSeed(randomSeed());
    const sequencer = await Sequencer.open(store, { origin, signer, maxDelayMs: 0 });
    const alice = party();
    const kept = (await sequencer.submit(stmt.register(alice))).receipt;
    const append = store.append.bind(store);
    store.append = () => Promise.reject(new Error('the disk is full'));
    await expect(sequencer.submit(stmt.register(alice))).rejects.toMatchObject({ code: 'unavailable' });
    store.append = append;
    await expect(sequencer.submit(stmt.register(alice))).rejects.toMatchObject({ code: 'unavailable' });
    await sequencer.close();
    await store.close();
    const again = await reopen();
    const reopened = await Sequencer.open(again, { origin, signer });
    expect(reopened.size).toBe(1);
    expect(await again.read((v) => v.indexOf(Buffer.from(kept.id, 'hex')))).toBe(0);
    expect(await again.read((v) => v.leaf(1))).toBeUndefined();
    await reopened.close();
    await again.close();
  });

  it('a record or a leaf changed behind the ledger\'s back is named by audit', async () => {
    const { store, reopen } = await impl.create();
    const signer = signerFromSeed(randomSeed());
    const sequencer = await Sequencer.open(store, { origin, signer, maxDelayMs: 0 });
    const alice = party();
    const [first] = await Promise.all([stmt.register(alice), stmt.register(alice)].map(async (s) => (await sequencer.submit(s)).receipt));
    await sequencer.close();
    const key0 = key.work(first!.id);
    const stored = (await store.kv.range({ gte: key0, lte: key0 }))[0]?.[1];
    const record = JSON.parse(Buffer.from(stored!).toString()) as { owner: string };
    // A raw write of the backend: what someone with the database, not the ledger, can do.
    await store.write([{ type: 'put', key: key0, value: Buffer.from(JSON.stringify({ ...record, owner: party().id })) }]);
    const ledgerKey = parseVerifierKey(sequencer.verifierKey);
    expect(await auditLedger(store, ledgerKey)).toMatchObject({ ok: false, fault: { where: `work ${first!.id}`, detail: expect.stringMatching(/differs/) } });
    await store.write([{ type: 'put', key: key0, value: stored! }]);
    expect((await auditLedger(store, ledgerKey)).ok).toBe(true);
    const leaf = (await store.read((v) => v.leaf(1)))!;
    const flipped = Uint8Array.from(leaf);
    flipped[flipped.length - 5]! ^= 1;
    await store.write([{ type: 'put', key: key.leaf(1), value: flipped }]);
    await store.close();
    const again = await reopen();
    expect(await auditLedger(again, ledgerKey)).toMatchObject({ ok: false, fault: { where: 'leaf 1' } });
    await again.close();
  });

  it("a work's lists answered from its record (none, or one or two entries) are what its indexes hold", async () => {
    const { store } = await impl.create();
    const sequencer = await Sequencer.open(store, { origin, signer: signerFromSeed(randomSeed()), maxDelayMs: 0 });
    const [alice, bob, carol, mallory] = [party(), party(), party(), party()];
    const [fileA, fileB, fileC] = [content(), content(), content()];
    const submit = async (bytes: Uint8Array) => (await sequencer.submit(bytes)).receipt;
    const w1 = await submit(stmt.register(alice, fileA)); // one entry, uncontested
    const w2 = await submit(stmt.register(alice, fileB));
    const lic2 = await submit(stmt.license(alice, w2.id, bob.id)); // two entries, one licence
    const w3 = await submit(stmt.register(alice, fileC));
    await submit(stmt.transfer(alice, w3.id, bob.id));
    await submit(stmt.license(bob, w3.id, carol.id)); // three entries
    const w4 = await submit(stmt.register(mallory, fileA)); // the same content: w1 contested
    const records = await store.read((v) => [w1, w2, w3, w4].map((r) => v.work(r.id)!));
    expect(records.map((w) => [w.entries, w.licenceCount, w.contest === null])).toEqual([[1, 0, false], [2, 1, true], [3, 1, true], [1, 0, false]]);
    expect(await store.entriesOf(records[1]!)).toEqual([w2.index, lic2.index]);
    // The same record made to say nothing of its lists reads them from the indexes.
    const unknown = (w: (typeof records)[number]) => ({ ...w, entries: 1e9, licenceCount: 1e9, contest: { by: w.id, since: 0 } });
    for (const w of records) {
      for (const page of [{}, { after: w.registeredIndex }, { limit: 1 }, { after: -1, limit: 0 }]) {
        expect(await store.entriesOf(w, page)).toEqual(await store.entriesOf(unknown(w), page));
        expect(await store.licencesOf(w, page)).toEqual(await store.licencesOf(unknown(w), page));
      }
      expect(await store.rivalsOf(w)).toEqual(await store.rivalsOf(unknown(w)));
    }
    const sha = (file: Uint8Array) => toHex(sha256(file));
    expect(await store.registrationsOf(sha(fileB))).toEqual([w2.id]);
    expect(await store.registrationsOf(sha(fileB), { after: w2.index })).toEqual([]);
    expect(await store.registrationsOf(sha(fileA))).toEqual([w1.id, w4.id]);
    expect(await store.registrationsOf(sha(fileA), { after: w1.index })).toEqual([w4.id]);
    expect(await store.registrationsOf(sha(content()))).toEqual([]);
    await sequencer.close();
    await store.close();
  });

  it('a range read gives every pair in key order, however many steps its backend takes, and stops at its limit', async () => {
    const { store } = await impl.create();
    // More pairs (6,000) and more bytes (~2 MB) than one step of a LevelDB range holds, under
    // a prefix the ledger does not use.
    const keyOf = (i: number) => Uint8Array.of(0xfe, i >> 8, i & 0xff);
    const pairs = Array.from({ length: 6000 }, (_, i) => ({ type: 'put' as const, key: keyOf(i), value: new Uint8Array(300).fill(i & 0xff) }));
    await store.write(pairs);
    const all = await store.kv.range({ gte: Uint8Array.of(0xfe), lt: Uint8Array.of(0xff) });
    expect(all.length).toBe(6000);
    expect(all.every(([k, v], i) => k.join() === keyOf(i).join() && v.length === 300 && v[0] === (i & 0xff))).toBe(true);
    const limited = await store.kv.range({ gte: keyOf(100), lt: Uint8Array.of(0xff), limit: 5000 });
    expect([limited.length, limited.at(-1)?.[0].join()]).toEqual([5000, keyOf(5099).join()]);
    expect((await store.kv.range({ gte: Uint8Array.of(0xfe), lt: Uint8Array.of(0xff), reverse: true, limit: 2 })).map(([k]) => k.join())).toEqual([keyOf(5999).join(), keyOf(5998).join()]);
    let chunked = 0;
    for await (const chunk of store.kv.chunks({ gte: Uint8Array.of(0xfe), lt: Uint8Array.of(0xff) }, 1000)) chunked += chunk.length;
    expect(chunked).toBe(6000);
    await store.close();
  });

  it('refuses to append over a store that changed behind the writer, writing nothing', async () => {
    const { store, reopen } = await impl.create();
    const signer = signerFromSeed(randomSeed());
    const sequencer = await Sequencer.open(store, { origin, signer, maxDelayMs: 0 });
    const alice = party();
    await sequencer.submit(stmt.register(alice));
    // Someone removes the latest checkpoint, as a restore from an older backup would.
    await store.write([{ type: 'del', key: key.checkpoint(1) }]);
    await expect(sequencer.submit(stmt.register(alice))).rejects.toMatchObject({ code: 'unavailable' });
    expect(sequencer.failure?.message).toMatch(/changed behind the writer/);
    expect(await store.read((v) => v.leaf(1))).toBeUndefined();
    await sequencer.close();
    await store.close();
    const again = await reopen();
    expect((await again.latestCheckpoint())?.size).toBe(0);
    await again.close();
  });
});
