/**
 * Histories an attacker built against evidence.ts (chainOf, standingDecisions, momentsAsked, carryWhole,
 * ownedRivals), each a minimal history through the real sequencer, LevelDB store and verifier.
 */
import { describe, expect, it } from 'vitest';
import { EvidenceBuilder } from '../src/store/evidence.js';
import { verifyBundle } from '../src/verify/index.js';
import { content, hexBytes, ledgerFixture, party, stmt } from './helpers.js';

async function withMediator() {
  const registrar = party();
  const f = await ledgerFixture({ registrar: registrar.id });
  const mediator = party();
  await f.submit(stmt.accredit(registrar, mediator.id));
  return { f, registrar, mediator };
}

describe('evidence of histories decided more than once', () => {
  // Title went W1 → W2 (D1, on W1's chain) → back to W1 (D*, on W3's chain); Alice licensed W1
  // while D* stood; then D' (on W2's chain) and a last award. W1's bundle carries D1 and, found
  // by the search for the decision standing when W5 was registered, D' — the latest before W5 —
  // but not D*: no moment it asks lies between D* and D' (the registration that reopened D*
  // is no carried registration). The replay sees D1 standing at the licence, W1 superseded.
  it("a work's evidence replays a licence its owner granted while an award it does not carry stood", async () => {
    const { f, mediator } = await withMediator();
    const [alice, bob, carol, dave, eve, frank] = [party(), party(), party(), party(), party(), party()];
    const film = content('film');
    const w1 = await f.work(alice, film);
    const w2 = await f.submit(stmt.register(bob, film));
    await f.submit(stmt.resolve(mediator, w1.id, 'award', { award: hexBytes(w2.id) })); // D1, on W1
    const w3 = await f.submit(stmt.register(carol, film)); // reopens D1
    const restored = await f.submit(stmt.resolve(mediator, w3.id, 'award', { award: hexBytes(w1.id) })); // D*, on W3
    const licence = await f.submit(stmt.license(alice, w1.id, frank.id)); // accepted: W1 holds title
    await f.submit(stmt.register(dave, film)); // W4 reopens D*
    await f.submit(stmt.resolve(mediator, w2.id, 'award', { award: hexBytes(w1.id) })); // D', on W2
    const w5 = await f.submit(stmt.register(eve, film)); // reopens D'
    await f.submit(stmt.resolve(mediator, w5.id, 'award', { award: hexBytes(w1.id) })); // the last, on W5

    const builder = new EvidenceBuilder(f.ledger.store, f.ledger.sequencer, f.ledger.signer, f.ledger.origin);
    const bundle = await builder.forWork(w1.id);
    const replayed = verifyBundle(JSON.parse(JSON.stringify(bundle)), f.ledger.sequencer.verifierKey);
    const carried = bundle.entries.map((e) => e.index);
    expect(carried).toContain(licence.index);
    expect(replayed.failure).toBeUndefined(); // fails: rule-refused at the licence, "superseded by a mediator's award to work W2"
    expect(carried).toContain(restored.index);
    await f.ledger.close();
  });
});
