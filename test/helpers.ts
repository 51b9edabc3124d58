/** Test helpers: temporary folders, parties, statements and in-memory trees. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { signStatement } from '../src/core/cose.js';
import { randomSeed, sha256, signerFromSeed, type Signer } from '../src/core/crypto.js';
import type { FrameHash } from '../src/core/fingerprint.js';
import { CompactRange, hashLeaf, type NodeReader } from '../src/core/merkle.js';
import type { LedgerStore } from '../src/store/ledger-store.js';
import type { LevelKV } from '../src/store/level-kv.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A fresh temporary folder, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cartulary-test-'));
  dirs.push(dir);
  return dir;
}

export interface Party extends Signer {
  id: string;
}

export function party(): Party {
  const s = signerFromSeed(randomSeed());
  return Object.assign(s, { id: toHex(s.publicKey) });
}

const hexBytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

let counter = 0;
/** Distinct content for each call. */
export const content = (label = 'work'): Uint8Array => new TextEncoder().encode(`${label} #${++counter} ${Math.random()}`);

export const stmt = {
  register: (signer: Signer, file: Uint8Array = content(), extra: Record<string, unknown> = {}) =>
    signStatement({ type: 'register', issuedAt: Date.now(), sha256: sha256(file), size: file.length, mediaType: 'video/mp4', title: 'A film', ...extra }, signer),
  transfer: (signer: Signer, work: string, to: string, extra: Record<string, unknown> = {}) =>
    signStatement({ type: 'transfer', issuedAt: Date.now(), work: hexBytes(work), to: hexBytes(to), ...extra }, signer),
  license: (signer: Signer, work: string, licensee: string, extra: Record<string, unknown> = {}) =>
    signStatement({ type: 'license', issuedAt: Date.now(), work: hexBytes(work), licensee: hexBytes(licensee), uses: ['clip'], territories: ['*'], ...extra }, signer),
  revoke: (signer: Signer, licence: string, extra: Record<string, unknown> = {}) =>
    signStatement({ type: 'revoke', issuedAt: Date.now(), license: hexBytes(licence), ...extra }, signer),
  party: (signer: Signer, name = 'Someone') => signStatement({ type: 'party', issuedAt: Date.now(), name }, signer),
  claim: (signer: Signer, work: string, extra: Record<string, unknown> = {}) =>
    signStatement(
      {
        type: 'claim',
        issuedAt: Date.now(),
        work: hexBytes(work),
        subject: { url: 'https://video.example/watch/123', platform: 'VideoSite' },
        capture: { sha256: sha256(content('capture')), mediaType: 'video/webm', size: 1234, capturedAt: Date.now() - 60_000 },
        uses: ['publish'],
        ...extra,
      },
      signer,
    ),
  sighting: (signer: Signer, work: string, extra: Record<string, unknown> = {}) =>
    signStatement({ type: 'sighting', issuedAt: Date.now(), work: hexBytes(work), reference: 'post-1', uploader: 'account-9', verdict: 'unlicensed', ...extra }, signer),
  accredit: (signer: Signer, mediator: string, extra: Record<string, unknown> = {}) =>
    signStatement({ type: 'accredit', issuedAt: Date.now(), mediator: hexBytes(mediator), ...extra }, signer),
  resolve: (signer: Signer, work: string, decision: string, extra: Record<string, unknown> = {}) =>
    signStatement({ type: 'resolve', issuedAt: Date.now(), work: hexBytes(work), decision, ...extra }, signer),
};

export { hexBytes };

/**
 * A query hash, and 750 distinct frames (their dHashes drawn apart) that share its first
 * pHash word and are each 3 bits from it in the second: a work that crowds its buckets.
 */
export function crowdingFrames(): { query: Uint8Array; frames: FrameHash[] } {
  const query = sha256(new TextEncoder().encode('crowd')).slice(0, 16);
  const frames = Array.from({ length: 750 }, (_, i) => {
    const hash = query.slice();
    const draw = sha256(new TextEncoder().encode(`frame ${i}`));
    for (let b = 0; b < 3; b++) hash[4 + ((draw[b] as number) >> 5)]! ^= 1 << ((draw[b] as number) & 7);
    hash.set(draw.slice(8, 16), 8);
    return { timeMs: i * 250, hash };
  });
  return { query, frames };
}

/** An in-memory tree of `leaves`: its perfect nodes and a reader over them. */
export function memoryTree(leaves: Uint8Array[]): { read: NodeReader; tree: CompactRange } {
  const nodes = new Map<string, Uint8Array>();
  const read: NodeReader = (ids) =>
    ids.map(({ level, index }) => {
      const h = nodes.get(`${level}/${index}`);
      if (!h) throw new Error(`no node ${level}/${index}`);
      return h;
    });
  const tree = CompactRange.fromStore(0, read);
  for (const leaf of leaves) for (const { id, hash } of tree.append(hashLeaf(leaf))) nodes.set(`${id.level}/${id.index}`, hash);
  return { read, tree };
}

/** A real ledger in a temporary folder, with shortcuts for submitting and for refusals. */
export async function ledgerFixture(opts: { registrar?: string } = {}) {
  const { openLedger } = await import('../src/store/ledger.js');
  const dir = await tempDir();
  const ledger = await openLedger({ dataDir: `${dir}/data`, keysDir: `${dir}/keys`, ...opts });
  const submit = async (bytes: Uint8Array) => (await ledger.sequencer.submit(bytes)).receipt;
  return {
    ledger,
    dir,
    submit,
    /** the id of a new work registered by `owner` (with its content) */
    async work(owner: Signer, file: Uint8Array = content()) {
      return { id: (await submit(stmt.register(owner, file))).id, file };
    },
    async refused(bytes: Uint8Array, code: string, message?: RegExp) {
      const size = ledger.sequencer.size;
      const error = await ledger.sequencer.submit(bytes).then(
        () => null,
        (e: { code: string; message: string }) => e,
      );
      if (!error) throw new Error(`expected a ${code} refusal, but the statement was accepted`);
      if (error.code !== code || (message && !message.test(error.message))) {
        throw new Error(`expected ${code} ${message ?? ''}, got ${error.code}: ${error.message}`);
      }
      if (ledger.sequencer.size !== size) throw new Error('a refused statement changed the ledger');
      return error;
    },
  };
}

/** The LevelDB database under an embedded store, for tests that damage or inspect it directly. */
export const levelDb = (store: LedgerStore) => (store.kv as LevelKV).db;

/**
 * A 16:9 picture of shapes of many sizes, each its own grey and texture (a wave of its own
 * frequency and direction), over a gradient: like a frame of footage, where a part of the
 * picture looks like no other part. Seeded, so every run sees the same picture.
 */
export function scene(seed: number, width = 640, height = 360): { width: number; height: number; data: Uint8Array } {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = 60 + Math.round((80 * x) / width + (40 * y) / height);
  for (let n = 0; n < 90; n++) {
    const r = 4 + rnd() ** 2 * 60;
    const cx = rnd() * width;
    const cy = rnd() * height;
    const grey = 40 + rnd() * 175;
    const round = rnd() < 0.5;
    const [fx, fy, amp] = [(rnd() - 0.5) * 0.6, (rnd() - 0.5) * 0.6, rnd() * 40];
    for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(height, cy + r); y++) {
      for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(width, cx + r); x++) {
        if (!round || (x - cx) ** 2 + (y - cy) ** 2 <= r * r) data[y * width + x] = Math.round(grey + amp * Math.sin(fx * x + fy * y));
      }
    }
  }
  return { width, height, data };
}
