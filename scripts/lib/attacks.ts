/**
 * Signature-level attacks on a running ledger, each of which must be refused and change
 * nothing (or, for a replay, be answered with the first receipt and applied only once).
 */
import { Tagged } from 'cborg';
import { concatBytes, fromHex, toHex } from '../../src/core/bytes.js';
import { decodeCbor, encodeCbor } from '../../src/core/cbor.js';
import { CONTENT_TYPE, signStatement } from '../../src/core/cose.js';
import { randomSeed, sha256, signerFromSeed, type Signer } from '../../src/core/crypto.js';
import { reencodings } from './envelopes.js';

export interface AttackResult {
  name: string;
  /** true when the ledger did what it must */
  held: boolean;
  detail: string;
}

const party = (): Signer => signerFromSeed(randomSeed());
const b = (hex: string) => fromHex(hex, 'id', 32);

export async function runAttacks(url: string): Promise<AttackResult[]> {
  const submit = async (bytes: Uint8Array) => {
    const res = await fetch(`${url}/v1/statements`, { method: 'POST', body: Buffer.from(bytes), headers: { 'content-type': 'application/cose' } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const size = async () => ((await (await fetch(`${url}/v1/log`)).json()) as { size: number }).size;
  const owner = async (work: string) => ((await (await fetch(`${url}/v1/works/${work}`)).json()) as { owner: string }).owner;
  const [alice, bob, carol, mallory] = [party(), party(), party(), party()];
  const now = () => Date.now();
  const register = (s: Signer) => signStatement({ type: 'register', issuedAt: now(), sha256: sha256(randomSeed()), size: 1, mediaType: 'video/mp4', title: 'target' }, s);
  const work = (await submit(register(alice))).body.id as string;

  const parts = (bytes: Uint8Array) => decodeCbor(bytes, { maxBytes: 1 << 20, useMaps: true, tags: [18] }) as [Uint8Array, Map<number, unknown>, Uint8Array, Uint8Array];
  const header = (kid: Uint8Array, extra: Array<[number, unknown]> = []) =>
    encodeCbor(new Map<number, unknown>([[1, -8], [3, CONTENT_TYPE], [4, kid], ...extra]));
  const assemble = (p: Uint8Array, payload: Uint8Array, sig: Uint8Array) => encodeCbor(new Tagged(18, [p, new Map(), payload, sig]));

  const results: AttackResult[] = [];
  const refused = async (name: string, bytes: Uint8Array, statuses: number[]) => {
    const before = await size();
    const r = await submit(bytes);
    const after = await size();
    results.push({ name, held: statuses.includes(r.status) && after === before, detail: `${r.status} ${String(r.body.detail ?? '')}` });
  };

  // 1. Signed by Mallory, with Alice's key in kid, to move Alice's work.
  {
    const [, , payload] = parts(signStatement({ type: 'transfer', issuedAt: now(), work: b(work), to: mallory.publicKey }, mallory));
    const p = header(alice.publicKey);
    const sig = mallory.sign(encodeCbor(['Signature1', p, new Uint8Array(0), payload]));
    await refused("kid names the owner's key, signed by another key", assemble(p, payload, sig), [401]);
  }
  // 1b. "Signed" by a key of small order: under the identity point, R the identity and S = 0
  // verify over any message for OpenSSL, so anyone could register and transfer as that key.
  {
    const identity = Uint8Array.of(1, ...new Array(31).fill(0));
    const p = header(identity);
    const [, , payload] = parts(signStatement({ type: 'register', issuedAt: now(), sha256: sha256(randomSeed()), size: 1, mediaType: 'video/mp4', title: 'nobody' }, mallory));
    await refused('a statement under a small-order key, whose signatures anyone can make', assemble(p, payload, concatBytes(identity, new Uint8Array(32))), [401]);
  }
  // 2. Alice's valid signature over one payload, attached to a different payload.
  {
    const [p, , , sig] = parts(signStatement({ type: 'party', issuedAt: now(), name: 'Alice' }, alice));
    const [, , payload] = parts(signStatement({ type: 'transfer', issuedAt: now(), work: b(work), to: mallory.publicKey }, alice));
    await refused("a valid signature moved onto a different payload", assemble(p, payload, sig), [401]);
  }
  // 3. Alice's signed payload reused with a changed protected header.
  {
    const [, , payload, sig] = parts(signStatement({ type: 'transfer', issuedAt: now(), work: b(work), to: bob.publicKey }, alice));
    await refused('the payload reused with a changed protected header', assemble(header(alice.publicKey, [[2, [4]]]), payload, sig), [400, 401]);
    const reordered = encodeCbor(new Map<number, unknown>([[4, alice.publicKey], [1, -8], [3, 'application/cbor']]));
    await refused('the payload reused with another content type', assemble(reordered, payload, sig), [400, 401]);
  }
  // 4. A transfer replayed after the work moved on: idempotent, never applied twice.
  {
    const toBob = signStatement({ type: 'transfer', issuedAt: now(), work: b(work), to: bob.publicKey }, alice);
    const first = await submit(toBob);
    await submit(signStatement({ type: 'transfer', issuedAt: now(), work: b(work), to: carol.publicKey }, bob));
    const before = await size();
    const again = await submit(toBob);
    const held = first.status === 201 && again.status === 200 && again.body.index === first.body.index && (await size()) === before && (await owner(work)) === toHex(carol.publicKey);
    results.push({ name: 'a transfer replayed after the work moved on', held, detail: `${again.status}, owner stays carol` });
  }
  // 4b. A revoked licence and an old transfer re-encoded (13 envelopes each, DESIGN §3):
  // every one is the first receipt again or a refusal; the log does not grow.
  {
    const seed = randomSeed();
    const dave = signerFromSeed(seed);
    const own = (await submit(register(dave))).body.id as string;
    const licence = signStatement({ type: 'license', issuedAt: now(), work: b(own), licensee: mallory.publicKey, uses: ['clip'], territories: ['*'], exclusive: true }, dave);
    const granted = (await submit(licence)).body;
    await submit(signStatement({ type: 'revoke', issuedAt: now(), license: b(granted.id as string) }, dave));
    const toBob = signStatement({ type: 'transfer', issuedAt: now(), work: b(own), to: bob.publicKey }, dave);
    const moved = (await submit(toBob)).body;
    await submit(signStatement({ type: 'transfer', issuedAt: now(), work: b(own), to: dave.publicKey }, bob));
    for (const [what, statement, first] of [['revoked licence', licence, granted], ['old transfer', toBob, moved]] as const) {
      for (const v of reencodings(statement, seed)) {
        const before = await size();
        const r = await submit(v.bytes);
        const held = (await size()) === before && (r.status === 400 || (r.status === 200 && r.body.index === first.index));
        results.push({ name: `a ${what} replayed with ${v.name}`, held, detail: `${r.status}` });
      }
    }
    results.push({ name: 'title after the replays', held: (await owner(own)) === toHex(dave.publicKey), detail: 'owner stays the rightful one' });
  }
  // 5. A licence granted by a former owner.
  await refused('a licence whose grantor no longer owns the work', signStatement({ type: 'license', issuedAt: now(), work: b(work), licensee: mallory.publicKey, uses: ['clip'], territories: ['*'] }, alice), [403]);
  // 6. A revoke by a third party.
  {
    const lic = (await submit(signStatement({ type: 'license', issuedAt: now(), work: b(work), licensee: bob.publicKey, uses: ['clip'], territories: ['*'] }, carol))).body.id as string;
    await refused('a revoke by a third party', signStatement({ type: 'revoke', issuedAt: now(), license: b(lic) }, mallory), [403]);
    await refused('a revoke by the licensee', signStatement({ type: 'revoke', issuedAt: now(), license: b(lic) }, bob), [403]);
  }
  // 7. A statement dated far in the future (to pre-date a later claim).
  await refused('issuedAt far in the future', signStatement({ type: 'register', issuedAt: now() + 365 * 86_400_000, sha256: sha256(randomSeed()), size: 1, mediaType: 'video/mp4', title: 'x' }, mallory), [400]);
  // 8. A transfer by someone who never owned the work.
  await refused('a transfer by a non-owner', signStatement({ type: 'transfer', issuedAt: now(), work: b(work), to: mallory.publicKey }, mallory), [403]);
  // 9. The same content registered again by its owner under a new title (to reset its date).
  {
    const content = sha256(randomSeed());
    await submit(signStatement({ type: 'register', issuedAt: now(), sha256: content, size: 1, mediaType: 'video/mp4', title: 'first' }, alice));
    await refused('the owner re-registering the same content', signStatement({ type: 'register', issuedAt: now(), sha256: content, size: 1, mediaType: 'video/mp4', title: 'second' }, alice), [409]);
  }
  // 10. History grown to make every later entry and read dearer (issue 10.4): 300 rivals of
  // one content from fresh keys, 300 licences on one work. Reads stay one page; the first
  // registration is rewritten once, by the first rival, never again.
  {
    const content = sha256(randomSeed());
    const regOf = (s: Signer) => signStatement({ type: 'register', issuedAt: now(), sha256: content, size: 1, mediaType: 'video/mp4', title: 'rival' }, s);
    const first = (await submit(regOf(alice))).body.id as string;
    const second = (await submit(regOf(party()))).body.id as string;
    await Promise.all(Array.from({ length: 300 }, () => submit(regOf(party()))));
    const rivals = await (await fetch(`${url}/v1/works?sha256=${toHex(content)}`)).text();
    const firstWork = (await (await fetch(`${url}/v1/works/${first}`)).json()) as { contest: { by: string } | null };
    results.push({
      name: '300 rival registrations of one content',
      held: (JSON.parse(rivals) as unknown[]).length === 100 && firstWork.contest?.by === second,
      detail: `one page of 100 works (${Math.round(rivals.length / 1024)} KB); the first stays contested by the second`,
    });
    const grant = () => signStatement({ type: 'license', issuedAt: now(), work: b(work), licensee: party().publicKey, uses: ['clip'], territories: ['FR'] }, carol);
    await Promise.all(Array.from({ length: 300 }, () => submit(grant())));
    const view = await (await fetch(`${url}/v1/works/${work}`)).text();
    const parsed = JSON.parse(view) as { licences: unknown[]; history: unknown[]; licenceCount: number };
    results.push({
      name: '300 licences on one work',
      held: parsed.licences.length === 100 && parsed.history.length === 100 && parsed.licenceCount >= 300,
      detail: `the work's view holds 100 licences and 100 entries (${Math.round(view.length / 1024)} KB); the rest are paged`,
    });
  }
  // 11. A licence dated before its grantor held title (issue 10.6).
  {
    const since = now();
    const own = (await submit(register(bob))).body.id as string;
    await refused('a licence that starts before its grantor held title', signStatement({ type: 'license', issuedAt: now(), work: b(own), licensee: mallory.publicKey, uses: ['clip'], territories: ['*'], validFrom: since - 86_400_000 }, bob), [400]);
  }
  // 12. A check asked about the past is judged by the past (issue 10.6): before a work
  // existed it was unregistered; its former owner owned it then.
  {
    const content = sha256(randomSeed());
    const before = now() - 1;
    const reg = (await submit(signStatement({ type: 'register', issuedAt: now(), sha256: content, size: 1, mediaType: 'video/mp4', title: 'past' }, alice))).body;
    await submit(signStatement({ type: 'transfer', issuedAt: now(), work: b(reg.id as string), to: bob.publicKey }, alice));
    const check = async (uploader: Signer, at: number) =>
      ((await (await fetch(`${url}/v1/check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sha256: toHex(content), uploader: toHex(uploader.publicKey), use: 'publish', territory: 'FR', at }) })).json()) as { verdict: string }).verdict;
    const [then, owned] = [await check(bob, before), await check(alice, reg.time as number)];
    results.push({ name: 'a check about the past judged by today', held: then === 'unregistered' && owned === 'owner', detail: `before registration: ${then}; the former owner then: ${owned}` });
  }
  return results;
}
