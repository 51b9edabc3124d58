/**
 * Soundtrack fingerprints (issue 13.6): the encoding a registration signs, the search over
 * registered soundtracks, how a check weighs sound beside the picture, and the store's index
 * of them (filled only once durable, rebuilt at open). Values here are random 32-bit words
 * with bits flipped at a chosen rate, standing in for Chromaprint's; real sound through
 * fpcalc is in media.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { checkFrames } from '../src/core/check.js';
import { CartularyError } from '../src/core/errors.js';
import { decimate, decodeSound, encodeSound, isInformative, ITEM_MS, MATCH_BER, REVIEW_BER, SOUND_KIND, SoundIndex } from '../src/core/soundtrack.js';
import type { FrameHit } from '../src/core/similarity.js';
import { openLedger } from '../src/store/ledger.js';
import { content, ledgerFixture, party, stmt } from './helpers.js';

/** A deterministic generator, so a failure can be replayed. */
function words(n: number, seed: number): Uint32Array {
  let x = seed >>> 0 || 1;
  return Uint32Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  });
}

/**
 * The values as an edit leaves them, with a bit error rate of about `ber` (deterministically):
 * as measured on real edits, some values come through whole (here every fourth) and the
 * rest lose bits, so exact lookups still find candidates.
 */
function noisy(values: Uint32Array, ber: number, seed = 99): Uint32Array {
  const dice = words(values.length * 32, seed);
  const rate = (ber * 4) / 3;
  return values.map((v, i) => {
    if (i % 4 === 0) return v;
    let flip = 0;
    for (let b = 0; b < 32; b++) if ((dice[i * 32 + b] as number) / 2 ** 32 < rate) flip |= 1 << b;
    return (v ^ flip) >>> 0;
  });
}

const seconds = (s: number) => Math.round((s * 1000) / ITEM_MS);
const registered = (values: Uint32Array) => encodeSound(decimate(values));

describe('soundtrack fingerprints', () => {
  it('round-trip through their encoding, and a malformed one is refused with its reason', () => {
    const sound = { step: 3, values: words(10, 1) };
    expect(decodeSound(encodeSound(sound), 'v')).toEqual(sound);
    expect(() => decodeSound(new Uint8Array(6), 'payload.value')).toThrow(/payload.value: chromaprint\/2 is a u32 step/);
    expect(() => decodeSound(encodeSound({ step: 0, values: words(2, 1) }), 'v')).toThrow(CartularyError);
    expect(() => decodeSound(encodeSound({ step: 10_001, values: words(2, 1) }), 'v')).toThrow(/1 to 10,000/);
  });

  it('a registration keeps every step-th value of a long soundtrack, at most 700', () => {
    const long = words(seconds(600), 2);
    const kept = decimate(long);
    expect(kept.values.length).toBeLessThanOrEqual(700);
    expect(kept.step).toBe(Math.ceil(long.length / 700));
    expect(kept.values[5]).toBe(long[5 * kept.step]);
    expect(decimate(words(100, 3)).step).toBe(1);
  });

  it('finds a clip of a registered soundtrack where it is, with its bit error rate, and nothing in unrelated sound', () => {
    const index = new SoundIndex();
    const film = words(seconds(60), 4);
    index.add('film', registered(film));
    index.add('other', registered(words(seconds(60), 5)));
    // A 10 s clip from 20 s in, re-encoded (10 % of bits changed).
    const from = seconds(20);
    const clip = noisy(film.slice(from, from + seconds(10)), 0.1);
    const [found, ...rest] = index.search(clip);
    expect(rest).toEqual([]);
    expect(found).toMatchObject({ work: 'film', strength: 'match' });
    expect(found!.segments).toHaveLength(1);
    const [segment] = found!.segments;
    expect(segment!.ber).toBeGreaterThan(0.05);
    expect(segment!.ber).toBeLessThan(0.15);
    expect(segment!.work[0]).toBeCloseTo(20_000, -3);
    expect(segment!.upload[0]).toBeLessThan(1000);
    expect(segment!.upload[1] - segment!.upload[0]).toBeGreaterThan(9_000);
    expect(index.search(words(seconds(10), 6))).toEqual([]);
  });

  it('grades by bit error rate: a match under MATCH_BER, a review under REVIEW_BER, nothing beyond', () => {
    const index = new SoundIndex();
    const film = words(seconds(30), 7);
    index.add('film', registered(film));
    const clip = film.slice(seconds(5), seconds(15));
    const strength = (rate: number) => index.search(noisy(clip, rate))[0]?.strength ?? null;
    expect(MATCH_BER).toBeLessThan(REVIEW_BER);
    expect(strength(0.15)).toBe('match');
    expect(strength(0.225)).toBe('review');
    expect(strength(0.3)).toBe(null);
  });

  it('finds a long film through the values its registration kept, and two works in a compilation', () => {
    const index = new SoundIndex();
    const long = words(seconds(1200), 8);
    const short = words(seconds(40), 9);
    index.add('long', registered(long));
    index.add('short', registered(short));
    expect(decimate(long).step).toBeGreaterThan(10);
    // Two minutes of the long film, then 15 s of the short one.
    const compilation = Uint32Array.from([...noisy(long.slice(seconds(600), seconds(720)), 0.08), ...noisy(short.slice(seconds(10), seconds(25)), 0.08)]);
    const found = index.search(compilation);
    expect(found.map((m) => m.work).sort()).toEqual(['long', 'short']);
    const long0 = found.find((m) => m.work === 'long')!.segments[0]!;
    expect(long0.work[0]).toBeGreaterThan(595_000);
    expect(long0.work[0]).toBeLessThan(610_000);
    const short0 = found.find((m) => m.work === 'short')!.segments[0]!;
    expect(short0.upload[0]).toBeGreaterThan(115_000);
  });

  it('silence and steady tones say nothing: not informative, never indexed, never a match', () => {
    const silence = new Uint32Array(seconds(30)).fill(627964279);
    expect(isInformative(silence)).toBe(false);
    expect(isInformative(words(seconds(5), 10))).toBe(true);
    const index = new SoundIndex();
    index.add('silent', registered(silence));
    index.add('film', registered(words(seconds(30), 11)));
    expect(index.search(silence)).toEqual([]);
    // A mostly silent upload with the same silence does not align on it.
    expect(index.search(Uint32Array.from([...silence.slice(0, 100), ...words(50, 12), ...silence.slice(0, 100)]))).toEqual([]);
  });

  it('bounds a hostile search: an upload made of the most common values costs votes, not alignments', () => {
    const index = new SoundIndex();
    const common = words(seconds(30), 13);
    // 200 works share one soundtrack: its values carry more postings than are looked up.
    for (let w = 0; w < 200; w++) index.add(`w${w}`, registered(common));
    expect(index.search(common)).toEqual([]);
    // Yet one more distinct work is found among them.
    const own = words(seconds(30), 14);
    index.add('own', registered(own));
    expect(index.search(own.slice(0, seconds(10))).map((m) => m.work)).toEqual(['own']);
  });
});

describe('a check weighs sound beside the picture', () => {
  it("a work the picture finds only at review is a match when its soundtrack agrees in time; sound alone is as strong as its own match", async () => {
    const f = await ledgerFixture();
    try {
      const alice = party();
      const film = words(seconds(30), 15);
      const music = words(seconds(30), 16);
      const a = await f.submit(stmt.register(alice, content(), { fingerprints: [{ kind: SOUND_KIND, value: registered(film) }] }));
      const b = await f.submit(stmt.register(alice, content(), { fingerprints: [{ kind: SOUND_KIND, value: registered(music) }] }));
      const store = f.ledger.store;
      const q = { uploader: party().id, territory: 'FR', at: Date.now() };
      // Four upload frames 9 bits from the work: a review by picture alone.
      const weak: FrameHit[] = [0, 1, 2, 3].map((i) => ({ work: a.id, workIndex: a.index, workDurationMs: 30_000, workMs: 5000 + i * 1000, queryMs: i * 1000, distance: 9 }));
      const alone = await store.read((view) => checkFrames(view, { frames: weak }, q));
      expect(alone.matches.map((m) => [m.work.id, m.strength])).toEqual([[a.id, 'review']]);
      expect(alone.verdict).toBe('unregistered');
      // Its soundtrack over the same stretch of the upload: a match, unlicensed.
      const sounds = store.sound.search(noisy(film.slice(seconds(5), seconds(9)), 0.22));
      expect(sounds.map((m) => [m.work, m.strength])).toEqual([[a.id, 'review']]);
      const both = await store.read((view) => checkFrames(view, { frames: weak, sounds }, q));
      expect(both.matches.map((m) => [m.work.id, m.strength])).toEqual([[a.id, 'match']]);
      expect(both.matches[0]!.sound).toEqual(sounds[0]!.segments);
      expect(both.verdict).toBe('unlicensed');
      // The same sound at another moment of the upload does not agree with the picture.
      const later = store.sound.search(Uint32Array.from([...words(seconds(20), 17), ...noisy(film.slice(seconds(5), seconds(9)), 0.22)]));
      const apart = await store.read((view) => checkFrames(view, { frames: weak, sounds: later }, q));
      expect(apart.matches.map((m) => [m.work.id, m.strength])).toEqual([[a.id, 'review']]);
      // The other work's soundtrack alone, clearly: a match, and a clip of it.
      const byEar = await store.read((view) => checkFrames(view, { frames: [], sounds: store.sound.search(noisy(music.slice(seconds(2), seconds(12)), 0.1)) }, q));
      expect(byEar.matches.map((m) => [m.work.id, m.strength, m.use, m.segments.length])).toEqual([[b.id, 'match', 'clip', 0]]);
      expect(byEar.verdict).toBe('unlicensed');
    } finally {
      await f.ledger.close();
    }
  });

  it('reads the implied use from match-strength excerpts: review echoes elsewhere in the work do not make a clip a recap', async () => {
    const f = await ledgerFixture();
    try {
      const w = await f.submit(stmt.register(party()));
      const hit = (queryMs: number, workMs: number, distance: number): FrameHit => ({ work: w.id, workIndex: w.index, workDurationMs: 19_000, workMs, queryMs, distance });
      // Measured on the generated set: a 10 s clip of a smooth film from 8 s in, and echoes
      // of its first and last second at the film's start, too far to be a match.
      const clip = [0, 1, 2, 3, 4, 5, 6].map((k) => hit(2000 + k * 1000, 10_000 + k * 1000, 4));
      const echoes = [hit(250, 0, 9), hit(750, 0, 9), hit(1250, 1000, 9), hit(8750, 0, 9), hit(9250, 500, 9), hit(9750, 1000, 9)];
      const q = { uploader: party().id, territory: 'FR', at: Date.now() };
      const [m] = (await f.ledger.store.read((view) => checkFrames(view, { frames: [...clip, ...echoes] }, q))).matches;
      expect(m!.segments.map((s) => s.strength)).toEqual(['review', 'match', 'review']);
      expect(m!.use).toBe('clip');
      // Three excerpts that each match, jumping about the work, are still a recap.
      const recap = [10_000, 0, 15_000].flatMap((from, k) => [0, 1, 2].map((i) => hit(k * 4000 + i * 1000, from + i * 1000, 4)));
      const [r] = (await f.ledger.store.read((view) => checkFrames(view, { frames: recap }, q))).matches;
      expect(r!.segments.filter((s) => s.strength === 'match')).toHaveLength(3);
      expect(r!.use).toBe('recap');
    } finally {
      await f.ledger.close();
    }
  });

  it('the store indexes a soundtrack once its registration is durable, and again from its record when reopened', async () => {
    const f = await ledgerFixture();
    const alice = party();
    const film = words(seconds(20), 18);
    const w = await f.submit(stmt.register(alice, content(), { fingerprints: [{ kind: SOUND_KIND, value: registered(film) }] }));
    const clip = film.slice(seconds(4), seconds(14));
    expect(f.ledger.store.sound.search(clip).map((m) => m.work)).toEqual([w.id]);
    await f.ledger.close();
    const reopened = await openLedger({ dataDir: `${f.dir}/data`, keysDir: `${f.dir}/keys` });
    try {
      expect(reopened.store.sound.search(clip).map((m) => m.work)).toEqual([w.id]);
    } finally {
      await reopened.close();
    }
  });

  it('a registration whose soundtrack fingerprint is malformed is refused and changes nothing', async () => {
    const f = await ledgerFixture();
    try {
      await f.refused(stmt.register(party(), content(), { fingerprints: [{ kind: SOUND_KIND, value: new Uint8Array(7) }] }), 'invalid', /chromaprint\/2 is a u32 step/);
      await f.refused(stmt.register(party(), content(), { fingerprints: [{ kind: SOUND_KIND, value: encodeSound({ step: 0, values: words(3, 1) }) }] }), 'invalid', /1 to 10,000/);
      expect(f.ledger.store.sound.size).toBe(0);
    } finally {
      await f.ledger.close();
    }
  });
});
