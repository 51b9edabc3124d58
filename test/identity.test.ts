/**
 * Statement identity (DESIGN §3, issue 10.1): one signed content is one statement. Every
 * re-encoding of a licence, a transfer and a revoke, and another signature over the same
 * content, is answered over real HTTP as a repeat (or refused) and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { parseStatement, signStatement } from '../src/core/cose.js';
import { randomSeed, sha256, signerFromSeed, verifyEd25519 } from '../src/core/crypto.js';
import { reencodings } from '../scripts/lib/envelopes.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';
import { stmt } from './helpers.js';

const keyed = () => {
  const seed = randomSeed();
  const s = signerFromSeed(seed);
  return Object.assign(s, { seed, id: toHex(s.publicKey) });
};

let server: ServerFixture;
beforeAll(async () => {
  server = await serverFixture();
});
afterAll(() => server.close());

const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any });
const size = async () => (await json(await server.get('/v1/log'))).body.size as number;

/** Submits every re-encoding of `statement`; each must be the first receipt again or a refusal, and the log must not grow. */
async function replayAll(statement: Uint8Array, seed: Uint8Array, first: { id: string; index: number }) {
  const variants = reencodings(statement, seed);
  expect(variants).toHaveLength(13);
  const before = await size();
  const answers: string[] = [];
  for (const v of variants) {
    const r = await json(await server.submit(v.bytes));
    answers.push(`${v.name}: ${r.status}`);
    if (r.status === 200) expect({ name: v.name, id: r.body.id, index: r.body.index }).toEqual({ name: v.name, id: first.id, index: first.index });
    else expect({ name: v.name, status: r.status }).toEqual({ name: v.name, status: 400 });
  }
  expect(await size()).toBe(before);
  return answers;
}

describe('statement identity', () => {
  it('the second signature the attack uses is valid and different, so the test exercises a real re-signing', () => {
    const alice = keyed();
    const statement = stmt.party(alice);
    const resigned = reencodings(statement, alice.seed).at(-1)!.bytes;
    const [a, b] = [parseStatement(statement), parseStatement(resigned)];
    expect(toHex(a.signature)).not.toBe(toHex(b.signature));
    expect(verifyEd25519(alice.publicKey, b.toBeSigned, b.signature)).toBe(true);
    expect(toHex(a.signedHash)).toBe(toHex(b.signedHash));
  });

  it('a non-canonical submission is stored and identified by its canonical envelope', async () => {
    const alice = keyed();
    const canonical = stmt.party(alice, 'Alice');
    const untagged = reencodings(canonical, alice.seed)[0]!.bytes;
    const r = await json(await server.submit(untagged));
    expect(r.status).toBe(201);
    expect(r.body.id).toBe(toHex(sha256(canonical)));
    const entry = await json(await server.get(`/v1/statements/${r.body.id}`));
    expect(entry.status).toBe(200);
    expect(entry.body.index).toBe(r.body.index);
    const again = await json(await server.submit(canonical));
    expect({ status: again.status, index: again.body.index }).toEqual({ status: 200, index: r.body.index });
  });

  it('a revoked licence re-encoded any way stays revoked, and no new licence appears', async () => {
    const [alice, bob] = [keyed(), keyed()];
    const work = (await json(await server.submit(stmt.register(alice)))).body.id as string;
    const licence = stmt.license(alice, work, bob.id, { exclusive: true });
    const granted = (await json(await server.submit(licence))).body;
    await server.submit(stmt.revoke(alice, granted.id));
    await replayAll(licence, alice.seed, granted);
    const w = (await json(await server.get(`/v1/works/${work}`))).body;
    expect(w.licences.map((l: { id: string; standing: string }) => [l.id, l.standing])).toEqual([[granted.id, 'revoked']]);
    // The owner can grant the same scope exclusively again: no replayed licence stands in the way.
    expect((await server.submit(stmt.license(alice, work, keyed().id, { exclusive: true }))).status).toBe(201);
  });

  it('a transfer re-encoded after the work came back does not move title again', async () => {
    const [alice, bob] = [keyed(), keyed()];
    const work = (await json(await server.submit(stmt.register(alice)))).body.id as string;
    const toBob = stmt.transfer(alice, work, bob.id);
    const moved = (await json(await server.submit(toBob))).body;
    expect((await server.submit(stmt.transfer(bob, work, alice.id))).status).toBe(201);
    await replayAll(toBob, alice.seed, moved);
    expect((await json(await server.get(`/v1/works/${work}`))).body.owner).toBe(alice.id);
  });

  it('a revoke re-encoded is the same revoke', async () => {
    const [alice, bob] = [keyed(), keyed()];
    const work = (await json(await server.submit(stmt.register(alice)))).body.id as string;
    const lic = (await json(await server.submit(stmt.license(alice, work, bob.id)))).body.id as string;
    const revoke = stmt.revoke(alice, lic);
    const first = (await json(await server.submit(revoke))).body;
    await replayAll(revoke, alice.seed, first);
    const w = (await json(await server.get(`/v1/works/${work}`))).body;
    expect(w.history).toHaveLength(3);
  });

  it('an old profile re-encoded does not come back over a newer one', async () => {
    const alice = keyed();
    const old = signStatement({ type: 'party', issuedAt: Date.now(), name: 'Old name' }, alice);
    const first = (await json(await server.submit(old))).body;
    await server.submit(signStatement({ type: 'party', issuedAt: Date.now(), name: 'New name' }, alice));
    await replayAll(old, alice.seed, first);
    expect((await json(await server.get(`/v1/parties/${alice.id}`))).body.profile.name).toBe('New name');
  });
});

