/**
 * 50 clients racing to transfer, license exclusively and revoke on the same few works.
 * Every client knows every key (the worst case: many devices acting for the same parties),
 * reads the served state, and acts on it while the others do the same. Afterwards the
 * served state must equal a replay of each work's chain, and no two standing licences
 * that overlap may include an exclusive one.
 */
import { fromHex, toHex } from '../../src/core/bytes.js';
import { signStatement } from '../../src/core/cose.js';
import { randomSeed, sha256, signerFromSeed, type Signer } from '../../src/core/crypto.js';
import type { LicenceRecord, WorkRecord } from '../../src/core/records.js';
import { scopesOverlap } from '../../src/core/scope.js';
import { verifyBundle } from '../../src/verify/verify-bundle.js';

export interface RaceReport {
  submitted: number;
  accepted: number;
  refused: Record<number, number>;
  works: number;
  mismatches: string[];
  overlaps: string[];
}

/** A work as GET /v1/works/:id serves it: licences in full. */
type ServedWork = Omit<WorkRecord, 'licences'> & { licences: LicenceRecord[] };

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

export async function race(url: string, opts: { clients: number; works: number; durationMs: number }): Promise<RaceReport> {
  const parties: Signer[] = Array.from({ length: 10 }, () => signerFromSeed(randomSeed()));
  const byId = new Map(parties.map((p) => [toHex(p.publicKey), p]));
  const post = async (bytes: Uint8Array) => {
    const res = await fetch(`${url}/v1/statements`, { method: 'POST', body: Buffer.from(bytes), headers: { 'content-type': 'application/cose' } });
    await res.arrayBuffer();
    return res.status;
  };
  const workIds: string[] = [];
  for (let i = 0; i < opts.works; i++) {
    const bytes = signStatement({ type: 'register', issuedAt: Date.now(), sha256: sha256(randomSeed()), size: 1, mediaType: 'video/mp4', title: `contested ${i}` }, parties[0]!);
    const res = await fetch(`${url}/v1/statements`, { method: 'POST', body: Buffer.from(bytes), headers: { 'content-type': 'application/cose' } });
    workIds.push(((await res.json()) as { id: string }).id);
  }
  const report: RaceReport = { submitted: 0, accepted: 0, refused: {}, works: workIds.length, mismatches: [], overlaps: [] };
  const uses = ['clip', 'stream', 'recap', 'compilation'];
  const territories = ['FR', 'DE', 'US', 'JP', '*'];
  const until = Date.now() + opts.durationMs;

  const client = async () => {
    while (Date.now() < until) {
      const id = pick(workIds);
      const work = (await (await fetch(`${url}/v1/works/${id}`)).json()) as ServedWork;
      const owner = byId.get(work.owner)!;
      const roll = Math.random();
      const now = Date.now();
      let bytes: Uint8Array;
      if (roll < 0.3) {
        bytes = signStatement({ type: 'transfer', issuedAt: now, work: fromHex(id, 'w', 32), to: pick(parties.filter((p) => p !== owner)).publicKey }, owner);
      } else if (roll < 0.75) {
        const start = now + Math.floor(Math.random() * 10) * 86_400_000;
        bytes = signStatement(
          {
            type: 'license', issuedAt: now, work: fromHex(id, 'w', 32), licensee: pick(parties.filter((p) => p !== owner)).publicKey,
            uses: [pick(uses)], territories: [pick(territories)], validFrom: start, validUntil: start + 5 * 86_400_000, exclusive: Math.random() < 0.7,
          },
          owner,
        );
      } else if (work.licences.length > 0) {
        const licence = pick(work.licences);
        // The owner revokes what was granted on the title (statement rules 3), or tries to: it may have sold it meanwhile.
        bytes = signStatement({ type: 'revoke', issuedAt: now, license: fromHex(licence.id, 'l', 32) }, owner);
      } else continue;
      report.submitted++;
      const status = await post(bytes);
      if (status === 201) report.accepted++;
      else report.refused[status] = (report.refused[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: opts.clients }, client));

  const verifierKey = ((await (await fetch(`${url}/v1/log`)).json()) as { verifierKey: string }).verifierKey;
  for (const id of workIds) {
    const served = (await (await fetch(`${url}/v1/works/${id}`)).json()) as ServedWork;
    const replay = verifyBundle(await (await fetch(`${url}/v1/works/${id}/evidence`)).json(), verifierKey);
    const replayed = replay.works.find((w) => w.id === id);
    if (!replay.ok || !replayed) {
      report.mismatches.push(`work ${id}: the chain does not replay: ${replay.failure?.detail}`);
      continue;
    }
    if (replayed.owner !== served.owner || replayed.head !== served.head || replayed.entries !== served.entries) report.mismatches.push(`work ${id}: served owner or chain differs from the replay`);
    const replayedLicences = new Map(replay.licences.map((l) => [l.id, l]));
    for (const l of served.licences) {
      const r = replayedLicences.get(l.id);
      if (!r || r.revokedAt !== l.revokedAt || r.licensee !== l.licensee) report.mismatches.push(`licence ${l.id}: served differs from the replay`);
    }
    const live = served.licences.filter((l) => l.revokedAt === null);
    for (const [i, a] of live.entries()) {
      for (const b of live.slice(i + 1)) {
        if ((a.exclusive || b.exclusive) && scopesOverlap(a, b)) report.overlaps.push(`${a.id} and ${b.id} on work ${id}`);
      }
    }
  }
  return report;
}
