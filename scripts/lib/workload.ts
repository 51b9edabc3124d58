/**
 * Pre-signed statements for the benchmark: chains of register → license → transfer, so a
 * mixed load is valid whatever order the chains interleave in.
 */
import { signStatement } from '../../src/core/cose.js';
import { randomSeed, sha256, signerFromSeed, type Signer } from '../../src/core/crypto.js';
import { toHex } from '../../src/core/bytes.js';

export interface Chain {
  statements: Uint8Array[];
  sha256: string;
  owner: string;
  licensee: string;
}

const parties: Signer[] = Array.from({ length: 256 }, () => signerFromSeed(randomSeed()));

/** `count` chains, each a registration followed by a licence and a transfer (3 statements). */
export function chains(count: number, salt = Math.random()): Chain[] {
  const out: Chain[] = [];
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const [owner, licensee, buyer] = [parties[i % 256]!, parties[(i * 7 + 1) % 256]!, parties[(i * 13 + 2) % 256]!];
    const content = sha256(new TextEncoder().encode(`bench ${salt} ${i}`));
    const register = signStatement({ type: 'register', issuedAt: now, sha256: content, size: 1_000_000 + i, mediaType: 'video/mp4', title: `Bench work ${i}` }, owner);
    const work = sha256(register);
    const license = signStatement({ type: 'license', issuedAt: now, work, licensee: licensee.publicKey, uses: ['clip', 'stream'], territories: ['FR', 'DE'] }, owner);
    const statements = [register, license];
    if (buyer !== owner) statements.push(signStatement({ type: 'transfer', issuedAt: now, work, to: buyer.publicKey }, owner));
    out.push({ statements, sha256: toHex(content), owner: toHex(owner.publicKey), licensee: toHex(licensee.publicKey) });
  }
  return out;
}

/** Registrations only, cheap to make in bulk, for loading the ledger to a size. */
export function registrations(count: number, from: number, salt: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const now = Date.now();
  for (let i = from; i < from + count; i++) {
    const owner = parties[i % 256]!;
    const content = sha256(new TextEncoder().encode(`load ${salt} ${i}`));
    out.push(signStatement({ type: 'register', issuedAt: now, sha256: content, size: i, mediaType: 'video/mp4', title: `Loaded work ${i}` }, owner));
  }
  return out;
}

export const partyIds = () => parties.map((p) => toHex(p.publicKey));
