/** Evidence bundles built from a real store, verified by the standalone verifier. */
import { describe, expect, it } from 'vitest';
import { formatVerifierKey } from '../src/core/checkpoint.js';
import { sha256 } from '../src/core/crypto.js';
import { toHex } from '../src/core/bytes.js';
import { signAttestation } from '../src/core/attestation.js';
import { EvidenceBuilder } from '../src/store/evidence.js';
import { jsonNestsAtMost } from '../src/verify/bundle.js';
import { verifyBundle, type EvidenceBundle } from '../src/verify/index.js';
import { ledgerFixture, party, stmt } from './helpers.js';

async function chainOfTitle() {
  const f = await ledgerFixture();
  const [alice, bob, carol, mallory] = [party(), party(), party(), party()];
  await f.work(party()); // unrelated entries around the chain
  const w = await f.work(alice);
  const lic = await f.submit(stmt.license(alice, w.id, bob.id, { uses: ['clip', 'stream'], territories: ['FR'] }));
  await f.work(party());
  await f.submit(stmt.transfer(alice, w.id, carol.id));
  const lic2 = await f.submit(stmt.license(carol, w.id, bob.id, { uses: ['recap'], territories: ['*'] }));
  await f.submit(stmt.revoke(carol, lic.id));
  const builder = new EvidenceBuilder(f.ledger.store, f.ledger.sequencer, f.ledger.signer, f.ledger.origin);
  return { f, w, lic, lic2, builder, alice, bob, carol, mallory, key: f.ledger.sequencer.verifierKey };
}

const clone = (b: EvidenceBundle): EvidenceBundle => JSON.parse(JSON.stringify(b));

describe('evidence bundles', () => {
  it("verify a work's whole chain of title offline and derive its owner and licences", async () => {
    const { f, w, lic, lic2, builder, carol, key } = await chainOfTitle();
    const bundle = await builder.forWork(w.id);
    expect(bundle.entries.map((e) => e.index)).toEqual([1, 2, 4, 5, 6]);
    const r = verifyBundle(JSON.parse(JSON.stringify(bundle)), key, { fileSha256: sha256(w.file) });
    expect(r.failure).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.works).toHaveLength(1);
    expect(r.works[0]).toMatchObject({ id: w.id, owner: carol.id, status: 'registered' });
    expect(r.licences.map((l) => [l.id, l.revokedAt !== null])).toEqual([[lic.id, true], [lic2.id, false]]);
    await f.ledger.close();
  });

  it('fail, each with the right reason, when tampered with', async () => {
    const { f, w, builder, key } = await chainOfTitle();
    const good = await builder.forWork(w.id);
    const fails = (b: unknown, k = key) => verifyBundle(b, k).failure?.code;

    const middle = clone(good);
    middle.entries.splice(2, 1); // the transfer
    expect(fails(middle)).toBe('broken-chain');

    const swapped = clone(good);
    [swapped.entries[1], swapped.entries[2]] = [swapped.entries[2]!, swapped.entries[1]!];
    expect(fails(swapped)).toBe('out-of-order');

    const swappedLeaves = clone(good);
    [swappedLeaves.entries[1]!.leaf, swappedLeaves.entries[2]!.leaf] = [swappedLeaves.entries[2]!.leaf, swappedLeaves.entries[1]!.leaf];
    expect(fails(swappedLeaves)).toBe('bad-leaf');

    const other = party();
    expect(fails(good, formatVerifierKey('cartulary.local/ledger', other.publicKey))).toBe('wrong-key');
    const relabelled = clone(good);
    relabelled.verifierKey = formatVerifierKey('cartulary.local/ledger', other.publicKey);
    expect(fails(relabelled, relabelled.verifierKey)).toBe('bad-checkpoint');

    // The claims are the ledger's signed word: edited, they no longer match its attestation.
    const owner = clone(good);
    owner.claims.works[0]!.owner = other.id;
    expect(fails(owner)).toBe('bad-attestation');

    const revoked = clone(good);
    revoked.claims.licences[0]!.revoked = false;
    expect(fails(revoked)).toBe('bad-attestation');

    const unattested = clone(good) as Partial<EvidenceBundle>;
    delete unattested.attestation;
    expect(fails(unattested)).toBe('bad-shape');

    expect(fails({ ...clone(good), entries: 'nope' })).toBe('bad-shape');
    expect(verifyBundle(good, key, { fileSha256: sha256(new Uint8Array([1])) }).failure?.code).toBe('file-mismatch');
    await f.ledger.close();
  });

  it('fail at the first fault of a list, or on too many fields, in bounded work and a short message; refuse to parse deep nesting', async () => {
    const { f, w, builder, key } = await chainOfTitle();
    const good = await builder.forWork(w.id);
    const badWorks = (length: number) => verifyBundle({ ...clone(good), claims: { ...good.claims, works: Array.from({ length }, () => ({ id: 'z' })) } }, key);
    // 90,000 faulty items overflowed the stack inside the schema; the first one is the fault to name
    const r = badWorks(90_000);
    expect(r.failure?.code).toBe('bad-shape');
    expect(r.failure?.detail).toMatch(/^claims\.works\.0: /);
    expect(r.failure!.detail.length).toBeLessThan(1000);
    expect(badWorks(300_000).failure?.detail).toBe('claims.works: 300000 items, more than the 100000 a bundle may hold');
    const manyFields = Object.assign(clone(good), Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, 1])));
    expect(verifyBundle(manyFields, key).failure).toEqual({ code: 'bad-shape', detail: 'bundle: 100007 fields, more than a bundle has' });
    expect(jsonNestsAtMost('['.repeat(17) + ']'.repeat(17), 16)).toBe(false);
    expect(jsonNestsAtMost(JSON.stringify({ a: '[[[[{{{{\\"[[[['.repeat(10), b: [[1]] }), 16)).toBe(true);
    expect(jsonNestsAtMost(JSON.stringify(good), 16)).toBe(true);
    await f.ledger.close();
  });

  it('fail on any single changed byte of the serialized bundle', async () => {
    const { f, w, builder, key } = await chainOfTitle();
    const text = JSON.stringify(await builder.forWork(w.id));
    let checked = 0;
    // Every position in the leaves, proofs and checkpoint, stepping to keep the test quick.
    for (let i = 0; i < text.length; i += 7) {
      const c = text[i]!;
      const replacement = /[0-9a-f]/.test(c) ? (c === 'a' ? 'b' : 'a') : /[A-Za-z]/.test(c) ? (c === 'A' ? 'B' : 'A') : null;
      if (!replacement) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text.slice(0, i) + replacement + text.slice(i + 1));
      } catch {
        continue;
      }
      const r = verifyBundle(parsed, key);
      expect(r.ok, `byte ${i} (${text.slice(Math.max(0, i - 20), i + 20)})`).toBe(false);
      checked++;
    }
    expect(checked).toBeGreaterThan(500);
    await f.ledger.close();
  });

  it('prove a check verdict and let the verifier recompute it', async () => {
    const { f, w, builder, bob, key, lic2 } = await chainOfTitle();
    const query = { sha256: toHex(sha256(w.file)), uploader: bob.id, use: 'recap', territory: 'JP', at: Date.now() };
    const { result, bundle } = await builder.forCheck(query);
    expect(result.verdict).toBe('licensed');
    expect(result.licence?.id).toBe(lic2.id);
    const r = verifyBundle(bundle, key);
    expect(r).toMatchObject({ ok: true, verdict: 'licensed' });
    const lie = clone(bundle!);
    lie.claims.verdict = 'owner';
    expect(verifyBundle(lie, key).failure?.code).toBe('bad-attestation');
    await f.ledger.close();
  });

  it('prove prior existence of a single entry, and contested registrations both ways', async () => {
    const { f, w, builder, mallory, key } = await chainOfTitle();
    // An entry's bundle proves the entry was made; not what became of its work since (the ledger attests no work whole).
    const entry = verifyBundle(await builder.forEntry(1), key);
    expect(entry).toMatchObject({ ok: true, works: [], licences: [] });
    expect(entry.holds).toContain('all 1 entries are in the tree of the checkpoint, and their statements are signed by their signers');
    const copy = await f.submit(stmt.register(mallory, w.file));
    for (const id of [w.id, copy.id]) {
      const r = verifyBundle(await builder.forWork(id), key);
      expect(r.ok, r.failure?.detail).toBe(true);
      expect(r.works.find((x) => x.id === id)).toMatchObject({ status: 'contested' });
    }
    await f.ledger.close();
  });

  it('flag a bundle that leaves out the latest entries, however its claims are dressed', async () => {
    const { f, w, builder, key } = await chainOfTitle();
    const good = await builder.forWork(w.id);
    const r = verifyBundle(good, key);
    expect(r).toMatchObject({ ok: true, asOfSize: 7 });
    expect(r.holds.join('\n')).toMatch(/as of tree size 7, the bundle holds every entry of the work/);

    // The revocation (the work's latest entry) dropped, the claims kept: the attested head is missing.
    const dropped = clone(good);
    dropped.entries = dropped.entries.filter((e) => e.index !== 6);
    expect(verifyBundle(dropped, key).failure).toMatchObject({ code: 'incomplete', detail: expect.stringMatching(/latest entry .* is #6; .* ends at #5/) });

    // The same, with the claims re-derived from what is left, as a forger would: not what the ledger signed.
    const dressed = clone(dropped);
    dressed.claims.works[0]!.head = 5;
    dressed.claims.licences[0]!.revoked = false;
    expect(verifyBundle(dressed, key).failure?.code).toBe('bad-attestation');

    // A ledger that signs claims its own entries do not support is caught by the replay.
    const lying = clone(good);
    lying.claims.licences[0]!.revoked = false;
    lying.attestation = signAttestation(f.ledger.origin, 7, { subject: lying.subject, claims: lying.claims }, f.ledger.signer);
    expect(verifyBundle(lying, key).failure?.code).toBe('claim-mismatch');
    await f.ledger.close();
  });

  it('an attestation is bound to its checkpoint size and cannot pass for a checkpoint', async () => {
    const { f, w, builder, key } = await chainOfTitle();
    const good = await builder.forWork(w.id);
    const resized = clone(good);
    resized.attestation = signAttestation(f.ledger.origin, 6, { subject: good.subject, claims: good.claims }, f.ledger.signer);
    expect(verifyBundle(resized, key).failure).toMatchObject({ code: 'bad-attestation', detail: expect.stringMatching(/tree size 6/) });
    const asCheckpoint = clone(good);
    asCheckpoint.checkpoint = good.attestation;
    expect(verifyBundle(asCheckpoint, key).failure?.code).toBe('bad-checkpoint');
    await f.ledger.close();
  });
  it('cite every licence and every entry of a chain longer than one page of the indexes (1,000)', async () => {
    const f = await ledgerFixture();
    const alice = party();
    const w = await f.work(alice);
    // Licences submitted together share batches; each is a licence of the work and an entry of its chain.
    const licences = await Promise.all(Array.from({ length: 1001 }, () => f.submit(stmt.license(alice, w.id, party().id, { uses: ['clip'], territories: ['FR'] }))));
    const builder = new EvidenceBuilder(f.ledger.store, f.ledger.sequencer, f.ledger.signer, f.ledger.origin);
    const bundle = await builder.forWork(w.id);
    expect(bundle.claims.licences.map((l) => l.id).sort()).toEqual(licences.map((l) => l.id).sort());
    expect(bundle.entries.map((e) => e.index)).toEqual(Array.from({ length: 1002 }, (_, i) => i));
    expect(verifyBundle(clone(bundle), f.ledger.sequencer.verifierKey)).toMatchObject({ ok: true });
    await f.ledger.close();
  });
});

