/** Keypoint patches (src/core/keypoints.ts) on synthetic pictures, and how a check and the store treat them: no media tools needed. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkFrames } from '../src/core/check.js';
import { areaResize, CENTRE, cropRegion, encodeFrames, FINGERPRINT_KIND, hamming64, hashFrame, PATCH_KIND, type Raster, type Region } from '../src/core/fingerprint.js';
import { keypointPatches, PATCHES_REGISTERED, PATCHES_SENT } from '../src/core/keypoints.js';
import type { FrameHit } from '../src/core/similarity.js';
import { openLedger } from '../src/store/ledger.js';
import { content, ledgerFixture, party, scene, stmt } from './helpers.js';

/** What a video frame becomes before it is hashed: 128 × 128 grey, whatever the shape (media.ts). */
const sampled = (r: Raster): Raster => ({ width: 128, height: 128, data: Uint8Array.from(areaResize(r, 128, 128), (v) => Math.round(v)) });
const dist = (a: Uint8Array, b: Uint8Array) => Math.min(hamming64(a, 0, b, 0), hamming64(a, 8, b, 8));
/** Patches of `upload` within 8 bits of one of `registered`'s. */
const close = (upload: readonly Uint8Array[], registered: readonly Uint8Array[]) => upload.filter((u) => registered.some((r) => dist(u, r) <= 8)).length;

describe('keypoint patches', () => {
  const films = [7, 8, 9, 10, 11, 12].map((seed) => scene(seed));
  const registered = films.map((f) => keypointPatches(sampled(f), 16 / 9, PATCHES_REGISTERED));
  const crop = (r: Raster, region: Region) => sampled(cropRegion(r, region));
  /** For each film, how many patches of its edit meet its own registered patches, and of the others' how many. */
  const meetings = (edit: (r: Raster) => Raster, aspect: number) =>
    films.map((f, i) => {
      const sent = keypointPatches(edit(f), aspect, PATCHES_SENT);
      return { own: close(sent, registered[i]!), others: registered.filter((_, j) => j !== i).reduce((n, r) => n + close(sent, r), 0) };
    });

  it('a frame gives up to the patches asked for, strongest first and the same on every run; a flat frame none', () => {
    expect(registered[0]).toHaveLength(PATCHES_REGISTERED);
    expect(keypointPatches(sampled(scene(7)), 16 / 9, PATCHES_SENT)).toEqual(registered[0]!.slice(0, PATCHES_SENT));
    expect(keypointPatches({ width: 128, height: 128, data: new Uint8Array(128 * 128).fill(90) }, 16 / 9, PATCHES_SENT)).toEqual([]);
  });

  // One frame each: a check finds a work from such meetings at several seconds of a clip.
  it.each([
    ['the evaluation’s off-centre 60 % crop', { x: 0.25, y: 0.15, w: 0.6, h: 0.6 }],
    ['a 60 % crop at the left edge', { x: 0, y: 0.31, w: 0.6, h: 0.6 }],
  ])('meet the picture again in %s in most films, and never another film', (_, region) => {
    const found = meetings((f) => crop(f, region), 16 / 9);
    expect(found.filter((m) => m.own > 0).length, JSON.stringify(found)).toBeGreaterThanOrEqual(4);
    expect(found.every((m) => m.others === 0), JSON.stringify(found)).toBe(true);
  });

  it('meet the picture in a 9:16 column in half the films when each side knows its own aspect, and in none when the column is taken as wide', () => {
    const width = 9 / 16 / (16 / 9);
    const column = (f: Raster) => crop(f, { x: (1 - width) / 2, y: 0, w: width, h: 1 });
    const found = meetings(column, 9 / 16);
    const squashed = meetings(column, 16 / 9);
    expect(found.filter((m) => m.own > 0).length, JSON.stringify(found)).toBeGreaterThanOrEqual(3);
    expect(found.every((m) => m.others === 0)).toBe(true);
    // Blobs of a picture stretched three times one way are other blobs.
    expect(squashed.every((m) => m.own === 0)).toBe(true);
  });

  it('a whole frame or a fixed region does not meet an off-centre crop: what the patches are for', () => {
    const region = { x: 0.25, y: 0.15, w: 0.6, h: 0.6 };
    for (const film of films) {
      const upload = hashFrame(crop(film, region))!;
      expect(dist(upload, hashFrame(sampled(film))!)).toBeGreaterThan(10);
      expect(dist(upload, hashFrame(crop(film, CENTRE))!)).toBeGreaterThan(8);
    }
  });
});

describe('patches in a check and in the store', () => {
  it('a work is read from its patches only where they are a match and the frames are not; patches found only at review are not reported', async () => {
    const f = await ledgerFixture();
    try {
      const [a, b, c] = [await f.submit(stmt.register(party())), await f.submit(stmt.register(party())), await f.submit(stmt.register(party()))];
      const hits = (w: { id: string; index: number }, distance: number, workFrom = 5000): FrameHit[] =>
        [0, 1, 2, 3].map((i) => ({ work: w.id, workIndex: w.index, workDurationMs: 30_000, workMs: workFrom + i * 1000, queryMs: i * 1000, distance }));
      const q = { uploader: party().id, territory: 'FR', at: Date.now() };
      // a: the frames match at 5 s, the patches elsewhere (a zoom's echo): the frames stand.
      // b: the frames found a review, the patches a match: the patches stand.
      // c: only the patches, only at review: nothing.
      const { matches } = await f.ledger.store.read((view) => checkFrames(view, { frames: [...hits(a, 3), ...hits(b, 9)], patches: [...hits(a, 2, 8000), ...hits(b, 4), ...hits(c, 9.5)] }, q));
      expect(matches.map((m) => [m.work.id, m.strength, m.segments.map((s) => [s.by, s.work[0]])])).toEqual([
        [a.id, 'match', [['frames', 5000]]],
        [b.id, 'match', [['patches', 5000]]],
      ]);
    } finally {
      await f.ledger.close();
    }
  });

  it('registered patches join their own index once durable, never the frames\', and come back from their records when the ledger reopens', async () => {
    const f = await ledgerFixture();
    const patches = Array.from({ length: 12 }, (_, i) => ({ timeMs: Math.floor(i / 4) * 1000, hash: new Uint8Array(randomBytes(16)) }));
    const frames = [{ timeMs: 0, hash: new Uint8Array(randomBytes(16)) }];
    const w = await f.submit(stmt.register(party(), content(), { fingerprints: [{ kind: FINGERPRINT_KIND, value: encodeFrames(frames) }, { kind: PATCH_KIND, value: encodeFrames(patches) }] }));
    const found = (hits: readonly FrameHit[]) => [...new Set(hits.map((h) => h.work))];
    expect(found(f.ledger.store.patches.search(patches))).toEqual([w.id]);
    expect(f.ledger.store.patches.frames).toBe(12);
    expect(f.ledger.store.similarity.search(patches)).toEqual([]);
    await f.ledger.close();
    const reopened = await openLedger({ dataDir: `${f.dir}/data`, keysDir: `${f.dir}/keys` });
    try {
      expect(found(reopened.store.patches.search(patches))).toEqual([w.id]);
      expect(reopened.store.similarity.frames).toBe(1);
    } finally {
      await reopened.close();
    }
  });

  it('a registration whose patches are not whole records is refused and changes nothing', async () => {
    const f = await ledgerFixture();
    try {
      await f.refused(stmt.register(party(), content(), { fingerprints: [{ kind: PATCH_KIND, value: new Uint8Array(30) }] }), 'invalid', /records are 20 bytes/);
      expect(f.ledger.store.patches.frames).toBe(0);
    } finally {
      await f.ledger.close();
    }
  });
});
