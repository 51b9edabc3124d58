/**
 * Kill -9 under load, then prove nothing acknowledged was lost.
 *
 * Each round: start the real server on the same data folder, drive it with concurrent clients
 * submitting registrations, licences and transfers, SIGKILL it at a random moment, restart it,
 * and check every receipt ever received (this round and all before): its entry sits at the
 * index it named with the same leaf hash, its inclusion proof verifies against its checkpoint,
 * and that checkpoint is consistent with the one now served. Then `audit` must pass and a new
 * submission must be accepted.
 */
import { fromHex } from '../../src/core/bytes.js';
import { openCheckpoint, parseVerifierKey } from '../../src/core/checkpoint.js';
import { signStatement } from '../../src/core/cose.js';
import { randomSeed, sha256, signerFromSeed, type Signer } from '../../src/core/crypto.js';
import { verifyConsistency } from '../../src/core/merkle.js';
import { proofHashes, verifyReceipt, type Receipt } from '../../src/core/receipt.js';
import { runCli, startChildServer } from './child-server.js';

export interface CrashOptions {
  rounds: number;
  dataDir: string;
  keysDir: string;
  /** a PostgreSQL URL: the ledger lives there instead of in `dataDir` */
  store?: string;
  clients?: number;
  /** load lasts a random time in [minMs, maxMs] before the kill */
  minMs?: number;
  maxMs?: number;
  log?: (line: string) => void;
}

export interface CrashReport {
  rounds: number;
  receipts: number;
  lost: number;
  audits: number;
  failures: string[];
}

const newParty = (): Signer => signerFromSeed(randomSeed());

/** One client: registers works, licenses and transfers them, until told to stop. */
async function client(url: string, stop: { now: boolean }, receipts: Receipt[]): Promise<void> {
  const me = newParty();
  const works: string[] = [];
  let n = 0;
  while (!stop.now) {
    const other = newParty().publicKey;
    const now = Date.now();
    let payload: Record<string, unknown>;
    const roll = Math.random();
    if (works.length === 0 || roll < 0.5) {
      payload = { type: 'register', issuedAt: now, sha256: sha256(randomSeed()), size: 1000 + n, mediaType: 'video/mp4', title: `clip ${n++}` };
    } else if (roll < 0.85) {
      payload = { type: 'license', issuedAt: now, work: fromHex(works[Math.floor(Math.random() * works.length)]!, 'work', 32), licensee: other, uses: ['clip'], territories: ['*'] };
    } else {
      payload = { type: 'transfer', issuedAt: now, work: fromHex(works.pop()!, 'work', 32), to: other };
    }
    try {
      const res = await fetch(`${url}/v1/statements`, { method: 'POST', body: Buffer.from(signStatement(payload, me)), headers: { 'content-type': 'application/cose' } });
      if (res.status === 201 || res.status === 200) {
        const receipt = (await res.json()) as Receipt;
        receipts.push(receipt);
        if (payload.type === 'register') works.push(receipt.id);
      }
    } catch {
      return; // the server died mid-request: this submission was never acknowledged
    }
  }
}

export async function crashTest(opts: CrashOptions): Promise<CrashReport> {
  const log = opts.log ?? (() => {});
  const storeArgs = opts.store ? ['--store', opts.store] : [];
  const receipts: Receipt[] = [];
  const report: CrashReport = { rounds: 0, receipts: 0, lost: 0, audits: 0, failures: [] };
  for (let round = 1; round <= opts.rounds; round++) {
    const server = await startChildServer(opts.dataDir, opts.keysDir, { args: storeArgs });
    const key = parseVerifierKey(/verifier key: (\S+)/.exec(server.output())![1]!);

    // Everything acknowledged before, checked against what the restarted server serves.
    const failures = await checkReceipts(server.url, key, receipts);
    report.lost += failures.length;
    report.failures.push(...failures);
    report.receipts = receipts.length;

    const stop = { now: false };
    const before = receipts.length;
    const load = Array.from({ length: opts.clients ?? 16 }, () => client(server.url, stop, receipts));
    const duration = (opts.minMs ?? 300) + Math.random() * ((opts.maxMs ?? 1500) - (opts.minMs ?? 300));
    await new Promise((r) => setTimeout(r, duration));
    server.child.kill('SIGKILL');
    stop.now = true;
    await server.exited;
    await Promise.all(load);
    log(`round ${round}: killed after ${Math.round(duration)} ms with ${receipts.length - before} new receipts`);
    report.rounds = round;

    const audit = await runCli(['audit', '--data', opts.dataDir, '--keys', opts.keysDir, ...storeArgs]);
    if (audit.code !== 0) report.failures.push(`round ${round}: audit failed: ${audit.output.trim()}`);
    else report.audits++;
  }
  // A last restart: every receipt checked once more, and the ledger still takes submissions.
  const server = await startChildServer(opts.dataDir, opts.keysDir, { args: storeArgs });
  try {
    const key = parseVerifierKey(/verifier key: (\S+)/.exec(server.output())![1]!);
    const failures = await checkReceipts(server.url, key, receipts);
    report.lost += failures.length;
    report.failures.push(...failures);
    report.receipts = receipts.length;
    const res = await fetch(`${server.url}/v1/statements`, {
      method: 'POST',
      body: Buffer.from(signStatement({ type: 'party', issuedAt: Date.now(), name: 'after the crash' }, newParty())),
      headers: { 'content-type': 'application/cose' },
    });
    if (res.status !== 201) report.failures.push(`submission after restart answered ${res.status}`);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  return report;
}

/** Returns a description of every receipt that does not hold against the server now. */
async function checkReceipts(url: string, key: ReturnType<typeof parseVerifierKey>, receipts: Receipt[]): Promise<string[]> {
  if (receipts.length === 0) return [];
  const latest = openCheckpoint(await (await fetch(`${url}/checkpoint`)).text(), key);
  const failures: string[] = [];
  const proofs = new Map<number, Promise<Uint8Array[]>>();
  const consistency = (size: number) => {
    let p = proofs.get(size);
    if (!p) {
      p = fetch(`${url}/v1/proofs/consistency?from=${size}&to=${latest.size}`).then(async (r) => proofHashes(((await r.json()) as { hashes: string[] }).hashes));
      proofs.set(size, p);
    }
    return p;
  };
  const queue = [...receipts];
  const worker = async () => {
    for (let r = queue.pop(); r; r = queue.pop()) {
      try {
        const entry = (await (await fetch(`${url}/v1/entries/${r.index}`)).json()) as { leaf: string };
        const { checkpoint } = verifyReceipt(r, Uint8Array.from(Buffer.from(entry.leaf, 'base64')), key);
        verifyConsistency(checkpoint.size, latest.size, checkpoint.rootHash, latest.rootHash, await consistency(checkpoint.size));
      } catch (e) {
        failures.push(`receipt for index ${r.index}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return failures;
}
