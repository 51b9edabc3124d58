/**
 * Issue 10.4: what an entry writes must not grow with the history of its work or content.
 * Time is the bench's business (`npm run bench`, phase 7); here the bytes of derived state a
 * statement writes are compared, early and late in a work's life, on a real LevelDB ledger.
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { sha256 } from '../src/core/crypto.js';
import type { BatchOp } from '../src/store/kv.js';
import { content, ledgerFixture, party, stmt } from './helpers.js';

/** Log, tree and checkpoint keys grow with the log's size by design (log n nodes); the rest is derived state. */
const LOG_PREFIXES = new Set(['L', 'N', 'I', 'H', 'C']);

async function fixture(opts: { registrar?: string } = {}) {
  const f = await ledgerFixture(opts);
  let derivedBytes = 0;
  const write = f.ledger.store.write.bind(f.ledger.store);
  f.ledger.store.write = (made: Iterable<BatchOp>) => {
    // (a store makes its ops as the backend takes them: read once, here)
    const ops = [...made];
    for (const op of ops) if (!LOG_PREFIXES.has(String.fromCharCode(op.key[0] as number))) derivedBytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
    return write(ops);
  };
  /** The derived bytes one statement writes, submitted alone so its batch holds nothing else. */
  const cost = async (bytes: Uint8Array) => {
    derivedBytes = 0;
    await f.submit(bytes);
    return derivedBytes;
  };
  const many = (make: () => Uint8Array, n: number) => Promise.all(Array.from({ length: n }, () => f.submit(make())));
  return { ...f, cost, many };
}

describe('an entry writes as much on a long history as on a short one', () => {
  it('a licence and a revocation on a work with 3 or 600 licences', async () => {
    const f = await fixture();
    const owner = party();
    const { id: work } = await f.work(owner);
    await f.many(() => stmt.license(owner, work, party().id), 3);
    const early = { licence: await f.cost(stmt.license(owner, work, party().id, { territories: ['FR'] })) };
    const revokeEarly = await f.submit(stmt.license(owner, work, party().id, { territories: ['DE'] }));
    const early2 = { revoke: await f.cost(stmt.revoke(owner, revokeEarly.id)) };
    await f.many(() => stmt.license(owner, work, party().id), 600);
    const late = { licence: await f.cost(stmt.license(owner, work, party().id, { territories: ['FR'] })) };
    const revokeLate = await f.submit(stmt.license(owner, work, party().id, { territories: ['DE'] }));
    const late2 = { revoke: await f.cost(stmt.revoke(owner, revokeLate.id)) };
    // A few more digits in counters and indices, never a list that grows.
    expect(late.licence).toBeLessThanOrEqual(early.licence + 16);
    expect(late2.revoke).toBeLessThanOrEqual(early2.revoke + 16);
    expect(f.ledger.store.sync.work(work)).toMatchObject({ licenceCount: 607, entries: 610 });
    expect(await f.ledger.store.entriesOf(f.ledger.store.sync.work(work)!, { after: 600, limit: 5 })).toHaveLength(5);
    await f.ledger.close();
  });

  it('a registration of content that 2 or 300 other parties registered, touching the first once', async () => {
    const f = await fixture();
    const file = content();
    const first = await f.work(party(), file);
    await f.many(() => stmt.register(party(), file), 2);
    const early = await f.cost(stmt.register(party(), file));
    await f.many(() => stmt.register(party(), file), 300);
    const late = await f.cost(stmt.register(party(), file));
    expect(late).toBeLessThanOrEqual(early + 16);
    const sha = toHex(sha256(file));
    expect(f.ledger.store.sync.content(sha)).toEqual({ sha256: sha, first: first.id, count: 305 });
    // The first registration was contested once, by the second, and not rewritten since.
    const second = (await f.ledger.store.registrationsOf(sha, { limit: 2 }))[1];
    expect(f.ledger.store.sync.work(first.id)).toMatchObject({ status: 'contested', contest: { by: second }, entries: 1 });
    await f.ledger.close();
  });

  it("an award on a content with 3 or 300 rivals, and a sighting of a work seen once or 300 times, rewrite no rival and no list", async () => {
    const registrar = party();
    const f = await fixture({ registrar: registrar.id });
    const mediator = party();
    await f.submit(stmt.accredit(registrar, mediator.id));
    const awardCost = async (rivals: number) => {
      const file = content();
      const first = await f.work(party(), file);
      await f.many(() => stmt.register(party(), file), rivals);
      const cost = await f.cost(stmt.resolve(mediator, first.id, 'award', { award: Buffer.from(first.id, 'hex') }));
      return { cost, first: first.id, sha: toHex(sha256(file)) };
    };
    const early = await awardCost(3);
    const late = await awardCost(300);
    expect(late.cost).toBeLessThanOrEqual(early.cost + 16);
    expect(f.ledger.store.sync.content(late.sha)).toMatchObject({ count: 301, award: { work: late.first } });

    const { id: work } = await f.work(party());
    const platform = party();
    const once = await f.cost(stmt.sighting(platform, work));
    await f.many(() => stmt.sighting(platform, work, { reference: String(Math.random()) }), 300);
    const often = await f.cost(stmt.sighting(platform, work, { reference: 'late' }));
    expect(often).toBeLessThanOrEqual(once + 16);
    expect(f.ledger.store.sync.work(work)).toMatchObject({ entries: 1, head: f.ledger.store.sync.work(work)!.registeredIndex });
    expect(f.ledger.store.sync.sightings(work)).toBe(302);
    await f.ledger.close();
  });
});
