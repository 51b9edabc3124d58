/**
 * Does appending cost more as history grows? (issue 10.4) The same kind of statement is
 * timed on a real ledger when the work (or the content) has little history and again when
 * it has a lot; the ratio of the two is the measure, independent of this machine's speed.
 *   - a licence on a work with `small` vs `large` licences already;
 *   - an exclusive licence (in a window of its own) at the same two sizes;
 *   - a registration of content that `small` vs `large` other parties registered already;
 *   - a platform's sighting of a work seen `small` vs `large` times already (issue 14).
 */
import { join } from 'node:path';
import { signStatement } from '../../src/core/cose.js';
import { randomSeed, sha256, signerFromSeed, type Signer } from '../../src/core/crypto.js';
import { openLedger, type Ledger } from '../../src/store/ledger.js';

export interface HistoryCost {
  what: string;
  small: number;
  large: number;
  /** ms per statement at each size */
  smallMs: number;
  largeMs: number;
}

const party = (): Signer => signerFromSeed(randomSeed());

/** Submits all at once (the sequencer batches them) and returns the wall time per statement. */
async function timed(ledger: Ledger, statements: Uint8Array[]): Promise<number> {
  const t = performance.now();
  await Promise.all(statements.map((s) => ledger.sequencer.submit(s)));
  return (performance.now() - t) / statements.length;
}

async function grow(ledger: Ledger, make: (i: number) => Uint8Array, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1000) await Promise.all(Array.from({ length: Math.min(1000, count - i) }, (_, j) => ledger.sequencer.submit(make(i + j))));
}

export async function historyCost(dir: string, { small = 10, large = 10_000, probe = 200 } = {}): Promise<HistoryCost[]> {
  const ledger = await openLedger({ dataDir: join(dir, 'data'), keysDir: join(dir, 'keys') }, { maxDelayMs: 0 });
  try {
    const owner = party();
    const registerWork = async () => {
      const content = sha256(randomSeed());
      const registration = signStatement({ type: 'register', issuedAt: Date.now(), sha256: content, size: 1, mediaType: 'video/mp4', title: 'history' }, owner);
      await ledger.sequencer.submit(registration);
      return { work: sha256(registration), content };
    };
    const licence = (work: Uint8Array, territory: string) =>
      signStatement({ type: 'license', issuedAt: Date.now(), work, licensee: party().publicKey, uses: ['stream'], territories: [territory] }, owner);
    // Exclusive probes may not overlap one another: each takes a day of its own, from next year on.
    let day = 0;
    const dayMs = 86_400_000;
    const from = Date.now() + 365 * dayMs;
    const exclusive = (work: Uint8Array) => () => {
      const validFrom = from + day++ * dayMs;
      return signStatement({ type: 'license', issuedAt: Date.now(), work, licensee: party().publicKey, uses: ['stream'], territories: ['DE'], exclusive: true, validFrom, validUntil: validFrom + dayMs }, owner);
    };
    const rival = (content: Uint8Array) => () => signStatement({ type: 'register', issuedAt: Date.now(), sha256: content, size: 1, mediaType: 'video/mp4', title: 'rival' }, party());
    const platform = party();
    let seen = 0;
    const sighting = (work: Uint8Array) => () =>
      signStatement({ type: 'sighting', issuedAt: Date.now(), work, reference: `post-${seen++}`, uploader: 'account', verdict: 'unlicensed' }, platform);
    const probeOf = (make: () => Uint8Array, n = probe) => Array.from({ length: n }, make);
    const measure = async ({ work, content }: { work: Uint8Array; content: Uint8Array }) => ({
      licence: await timed(ledger, probeOf(() => licence(work, 'FR'))),
      exclusive: await timed(ledger, probeOf(exclusive(work))),
      rival: await timed(ledger, probeOf(rival(content), 20)),
      sighting: await timed(ledger, probeOf(sighting(work))),
    });

    // The first probes run on a throwaway work: they pay for the JIT, not for history.
    await measure(await registerWork());
    const target = await registerWork();
    await grow(ledger, () => licence(target.work, 'FR'), small);
    await grow(ledger, rival(target.content), small);
    await grow(ledger, sighting(target.work), small);
    const at = await measure(target);
    await grow(ledger, () => licence(target.work, 'FR'), large - small - probe);
    await grow(ledger, rival(target.content), large / 10 - small - 20);
    await grow(ledger, sighting(target.work), large - small - probe);
    const atLarge = await measure(target);
    return [
      { what: 'a licence on a work with N licences', small, large, smallMs: at.licence, largeMs: atLarge.licence },
      { what: 'an exclusive licence on a work with N licences', small, large, smallMs: at.exclusive, largeMs: atLarge.exclusive },
      { what: 'a registration of content N parties registered', small, large: large / 10, smallMs: at.rival, largeMs: atLarge.rival },
      { what: 'a sighting of a work seen N times', small, large, smallMs: at.sighting, largeMs: atLarge.sighting },
    ];
  } finally {
    await ledger.close();
  }
}
