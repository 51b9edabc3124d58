/** The sequencer on a real LevelDB: concurrency, durability across reopen, idempotency, bad input. */
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { parseVerifierKey } from '../src/core/checkpoint.js';
import { verifyReceipt } from '../src/core/receipt.js';
import { openLedger } from '../src/store/ledger.js';
import { levelDb, party, stmt, tempDir } from './helpers.js';

async function fresh() {
  const dir = await tempDir();
  const paths = { dataDir: `${dir}/data`, keysDir: `${dir}/keys` };
  return { paths, ledger: await openLedger(paths) };
}

describe('sequencer', () => {
  it('gives 2,000 concurrent statements distinct consecutive indices, each with a valid receipt', async () => {
    const { ledger } = await fresh();
    const parties = Array.from({ length: 20 }, party);
    const statements = Array.from({ length: 2000 }, (_, i) => stmt.register(parties[i % 20]!));
    const results = await Promise.all(statements.map((s) => ledger.sequencer.submit(s)));
    const indices = results.map((r) => r.receipt.index).sort((a, b) => a - b);
    expect(indices).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(results.every((r) => !r.repeat)).toBe(true);
    const key = parseVerifierKey(ledger.sequencer.verifierKey);
    for (const { receipt } of results) verifyReceipt(receipt, ledger.store.sync.leaf(receipt.index)!, key);
    // the statements were grouped: far fewer checkpoints than entries
    let checkpoints = 0;
    for await (const _ of levelDb(ledger.store).keys({ gte: Uint8Array.of(0x43), lt: Uint8Array.of(0x44) })) checkpoints++;
    expect(checkpoints).toBeLessThan(200);
    await ledger.close();
  });

  it('carries on after close and reopen with the same root, and chains the next leaf', async () => {
    const { paths, ledger } = await fresh();
    const alice = party();
    const first = await Promise.all(Array.from({ length: 50 }, () => ledger.sequencer.submit(stmt.register(alice))));
    const before = ledger.sequencer.checkpoint;
    await ledger.close();

    const again = await openLedger(paths);
    expect(again.sequencer.size).toBe(50);
    expect(again.sequencer.checkpoint).toBe(before);
    const next = await again.sequencer.submit(stmt.register(alice));
    expect(next.receipt.index).toBe(50);
    const key = parseVerifierKey(again.sequencer.verifierKey);
    for (const { receipt } of [...first, next]) verifyReceipt(receipt, again.store.sync.leaf(receipt.index)!, key);
    await again.close();
  });

  it('returns the first receipt for a repeat of the same bytes, in the same batch or later', async () => {
    const { ledger } = await fresh();
    const bytes = stmt.register(party());
    const [a, b] = await Promise.all([ledger.sequencer.submit(bytes), ledger.sequencer.submit(bytes)]);
    await ledger.sequencer.submit(stmt.register(party()));
    const c = await ledger.sequencer.submit(bytes);
    expect(ledger.sequencer.size).toBe(2);
    expect([a!.repeat, b!.repeat].sort()).toEqual([false, true]);
    expect(b!.receipt).toEqual(a!.receipt);
    expect(c.repeat).toBe(true);
    expect(c.receipt).toEqual(a!.receipt);
    await ledger.close();
  });

  it('refuses bad input with a clear error and writes nothing', async () => {
    const { ledger } = await fresh();
    const alice = party();
    const good = stmt.register(alice);
    const flipped = good.slice();
    flipped.set([flipped.at(-5)! ^ 1], flipped.length - 5);
    await expect(ledger.sequencer.submit(Uint8Array.of(1, 2, 3))).rejects.toMatchObject({ code: 'malformed' });
    await expect(ledger.sequencer.submit(flipped)).rejects.toMatchObject({ code: 'bad-signature' });
    await expect(ledger.sequencer.submit(stmt.register(alice, undefined, { issuedAt: Date.now() + 3_600_000 }))).rejects.toMatchObject({
      code: 'invalid',
      field: 'payload.issuedAt',
    });
    await expect(ledger.sequencer.submit(stmt.transfer(alice, toHex(new Uint8Array(32)), party().id))).rejects.toMatchObject({ code: 'not-found' });
    expect(ledger.sequencer.size).toBe(0);
    // Only the empty tree's checkpoint, signed when the ledger was created.
    expect((await ledger.store.latestCheckpoint())?.size).toBe(0);
    expect(ledger.store.sync.leaf(0)).toBeUndefined();
    await ledger.close();
  });

  it('answers everything accepted before close, and refuses submissions after', async () => {
    const { ledger } = await fresh();
    const pending = Array.from({ length: 300 }, () => ledger.sequencer.submit(stmt.register(party())));
    await new Promise((r) => setTimeout(r, 50)); // let signatures verify and reach the queue
    await ledger.sequencer.close();
    const settled = await Promise.allSettled(pending);
    const ok = settled.filter((s) => s.status === 'fulfilled').length;
    expect(ok).toBe(ledger.sequencer.size);
    expect(ok).toBeGreaterThan(0);
    await expect(ledger.sequencer.submit(stmt.register(party()))).rejects.toMatchObject({ code: 'unavailable' });
    await ledger.store.close();
  });
});
