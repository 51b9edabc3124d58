/**
 * Soundtrack fingerprints (issue 13.6): Chromaprint's sub-fingerprints (algorithm 2, what
 * `fpcalc -raw` prints), one 32-bit value every 1365 samples at 11,025 Hz (~8 a second),
 * each describing the ~2 s of chroma after it. A re-upload, a clip, a crop or a
 * picture-in-picture usually keeps the film's sound, which the picture's hashes cannot see;
 * where the picture is weakest (crops, overlays) the soundtrack is untouched.
 *
 * Search is AcoustID's: a registered value found exactly in the upload votes for an offset
 * between the two; an offset of two votes or more is a candidate, and the candidate is
 * scored by the bit error rate (BER) of the aligned values, over the longest stretch where
 * it stays low. Unrelated audio sits near 0.45; in the evaluation of `npm run
 * evaluate:audio` (real music and speech) no unrelated pair came under 0.27.
 *
 * Silence and steady tones print one value over and over, and two silent films would agree
 * on every bit: only values that differ from the one before (an "informative" value) are
 * indexed, vote, or count in a BER.
 *
 * Encoding (the `value` of a fingerprint of kind SOUND_KIND): a big-endian u32 `step`, then
 * big-endian u32 values; value j is the sub-fingerprint at position j·step. A registration
 * keeps every step-th value so a long film fits inside its statement. A check's
 * `sound.values` are every value, big-endian u32s without a step.
 */
import { popcount } from './bytes.js';
import { CartularyError } from './errors.js';
import { heapPages, PAGE_SHIFT, U32Pages, type PagedImage, type PageSource } from './u32-pages.js';

export const SOUND_KIND = 'chromaprint/2';
/** Milliseconds between consecutive sub-fingerprints: 1365 samples at 11,025 Hz. */
export const ITEM_MS = (1365 / 11025) * 1000;
/** Registered values a statement carries at most (4 bytes each, beside up to 600 frame records). */
export const MAX_REGISTERED_SOUND = 700;
/** Values a check sends at most: 15 minutes of sound. */
export const MAX_CHECK_SOUND = 7_270;
/** A registered value held by more postings than this is too common to say anything (a hum, a click track) and is not looked up. */
const MAX_POSTINGS = 32;
/** Candidate alignments scored per search, the most voted first: bounds the BER work. */
const MAX_CANDIDATES = 24;
/** Works a search answers with at most. */
export const MAX_SOUND_WORKS = 8;
/** A stretch is `review` under this BER, over at least REVIEW_MS and REVIEW_VALUES informative values. */
export const REVIEW_BER = 0.25;
/** A stretch is a `match` under this BER, over at least MATCH_MS and MATCH_VALUES informative values. */
export const MATCH_BER = 0.2;
const REVIEW_MS = 2_000;
const MATCH_MS = 3_000;
const REVIEW_VALUES = 8;
const MATCH_VALUES = 20;
/** The window (ms of sound) over which each aligned position's local BER is taken to find a stretch. */
const WINDOW_MS = 3_000;

export interface Sound {
  step: number;
  values: Uint32Array;
}

export interface SoundSegment {
  /** the upload's time range, ms */
  upload: [number, number];
  /** the work's time range, ms */
  work: [number, number];
  /** bit error rate over the stretch's informative values (0: identical, ~0.45: unrelated) */
  ber: number;
  /** informative registered values compared */
  values: number;
  strength: 'match' | 'review';
}

export interface SoundMatch {
  work: string;
  /** the registered sound's length, ms */
  workDurationMs: number;
  segments: SoundSegment[];
  strength: 'match' | 'review';
}

/** Positions between registered values at most: 700 of them then span 240 hours. */
const MAX_STEP = 10_000;

export function encodeSound(sound: Sound): Uint8Array {
  const out = new Uint8Array(4 + 4 * sound.values.length);
  new DataView(out.buffer).setUint32(0, sound.step);
  out.set(encodeValues(sound.values), 4);
  return out;
}

/** Values as big-endian u32s (a check's `sound.values`, before base64). */
export function encodeValues(values: Uint32Array): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(4 * i, v));
  return out;
}

/** What a malformed SOUND_KIND value is told. */
export const SOUND_SHAPE = `${SOUND_KIND} is a u32 step (1 to ${MAX_STEP.toLocaleString('en')}) and u32 values`;

/** Whether bytes are a well-formed SOUND_KIND value: a step in range and whole values. */
export function soundShapeOk(bytes: Uint8Array): boolean {
  if (bytes.length < 4 || bytes.length % 4 !== 0) return false;
  const step = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  return step >= 1 && step <= MAX_STEP;
}

/** Reads SOUND_KIND bytes; `field` names them in the error a malformed one gets. */
export function decodeSound(bytes: Uint8Array, field: string): Sound {
  if (!soundShapeOk(bytes)) throw new CartularyError('malformed', `${field}: ${SOUND_SHAPE}`, { field });
  return { step: new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0), values: soundValues(bytes.subarray(4), field) };
}

/** Big-endian u32 values (a check's `sound.values`, decoded from base64). */
export function soundValues(bytes: Uint8Array, field: string): Uint32Array {
  if (bytes.length % 4 !== 0) throw new CartularyError('malformed', `${field}: sub-fingerprints are 4 bytes each`, { field });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Uint32Array(bytes.length / 4);
  for (let i = 0; i < values.length; i++) values[i] = view.getUint32(4 * i);
  return values;
}

/** Every value of a sound, as a registration keeps it: every step-th, at most `max` of them. */
export function decimate(values: Uint32Array, max = MAX_REGISTERED_SOUND): Sound {
  const step = Math.max(1, Math.ceil(values.length / max));
  return { step, values: step === 1 ? values : Uint32Array.from({ length: Math.ceil(values.length / step) }, (_, j) => values[j * step] as number) };
}

/** Whether a sound says anything: silence and steady tones repeat one value (see above). */
export function isInformative(values: Uint32Array): boolean {
  let changes = 0;
  for (let i = 1; i < values.length; i++) if (values[i] !== values[i - 1]) changes++;
  return changes >= REVIEW_VALUES;
}

interface Registered {
  id: string;
  sound: Sound;
}

/** Buckets of the postings table: 4 MB of heads, a few postings a chain up to millions of works. */
const BUCKET_BITS = 20;
/** A posting: value, slot, position, next posting (1-based; 0 ends the chain). */
const POSTING = 4;
/** Votes a search counts at most: an upload of the most common values stops here, not at values × postings. */
const MAX_VOTES = 32_768;
const bucketOf = (value: number) => Math.imul(value, 0x9e3779b1) >>> (32 - BUCKET_BITS);

/**
 * Registered soundtracks, in memory: each informative value's postings (work, position) in
 * a chained hash table of fixed pages (16 bytes a posting; the registered values, 4 bytes
 * each, are kept for scoring). Deterministic: a search's answer depends only on what was
 * added, not on the order (candidates are ordered by votes, then work id, then offset).
 */
/**
 * Everything a SoundIndex holds, as it holds it: what a store keeps to reopen the index
 * without rebuilding it. Works are in the order added, each with where its values are in `kept`.
 */
export interface SoundImage {
  heads: Uint32Array;
  postings: PagedImage;
  kept: PagedImage;
  works: Array<{ id: string; step: number; at: number; length: number }>;
}

export class SoundIndex {
  private readonly works: Registered[] = [];
  private readonly slotOf = new Map<string, number>();
  private readonly heads: Uint32Array;
  private readonly postings: U32Pages;
  // The registered values, kept for scoring, each work's in one run of a page.
  private readonly kept: U32Pages;
  // Where each work's values start in `kept`.
  private readonly keptAt: number[] = [];

  /**
   * `pages`: where the postings and registered values are kept (the heap unless a store maps
   * a file). With `image`, the index it was taken of, going on from there.
   */
  constructor(pages: PageSource = heapPages, image?: SoundImage) {
    this.heads = image?.heads ?? new Uint32Array(1 << BUCKET_BITS);
    this.postings = new U32Pages(pages, image?.postings);
    this.kept = new U32Pages(pages, image?.kept);
    if (!image) return;
    // An image is read back only if every posting and work it names is within it (RangeError).
    const postings = this.postings.image.length;
    if (this.heads.length !== 1 << BUCKET_BITS || postings % POSTING !== 0 || this.heads.some((h) => h > postings / POSTING)) throw new RangeError('a soundtrack index image with buckets outside its postings');
    const kept = this.kept.image.length;
    if (image.works.some(({ at, length }) => !(Number.isSafeInteger(at) && at >= 0 && length >= 0 && at + length <= kept && at >>> PAGE_SHIFT === Math.max(at, at + length - 1) >>> PAGE_SHIFT))) {
      throw new RangeError('a soundtrack index image with a work outside its values');
    }
    for (const { id, step, at, length } of image.works) this.keep(id, step, at, length);
  }

  get image(): SoundImage {
    return { heads: this.heads, postings: this.postings.image, kept: this.kept.image, works: this.works.map(({ id, sound }, slot) => ({ id, step: sound.step, at: this.keptAt[slot] as number, length: sound.values.length })) };
  }

  /** Files a work whose `length` values are at `at` in `kept`. */
  private keep(id: string, step: number, at: number, length: number): Registered {
    const registered = { id, sound: { step, values: this.kept.run(at, length) } };
    this.slotOf.set(id, this.works.push(registered) - 1);
    this.keptAt.push(at);
    return registered;
  }

  get size(): number {
    return this.works.length;
  }

  /** Bytes the index holds: its bucket heads, postings pages and the registered values kept for scoring. */
  get bytes(): number {
    return this.heads.byteLength + this.postings.bytes + this.kept.bytes;
  }

  /** Adds a work's registered sound; a work added twice keeps its first. */
  add(work: string, bytes: Uint8Array): void {
    if (this.slotOf.has(work)) return;
    const decoded = decodeSound(bytes, 'sound');
    const { sound } = this.keep(work, decoded.step, this.kept.extendWithin(decoded.values.length), decoded.values.length);
    sound.values.set(decoded.values);
    const slot = this.works.length - 1;
    const { step, values } = sound;
    for (let j = 0; j < values.length; j++) {
      const v = values[j] as number;
      if (j > 0 && v === values[j - 1]) continue;
      // One posting beyond MAX_POSTINGS marks a value as too common; more add nothing.
      if (this.postingsOf(v).length > MAX_POSTINGS) continue;
      const at = this.postings.extend(POSTING);
      const bucket = bucketOf(v);
      this.postings.set(at, v);
      this.postings.set(at + 1, slot);
      this.postings.set(at + 2, j * step);
      this.postings.set(at + 3, this.heads[bucket] as number);
      this.heads[bucket] = at / POSTING + 1;
    }
  }

  /** Where the postings of `value` start in `postings`, up to one more than MAX_POSTINGS (a value that common is not looked up). */
  private postingsOf(value: number): number[] {
    const found: number[] = [];
    for (let p = this.heads[bucketOf(value)] as number; p !== 0 && found.length <= MAX_POSTINGS; p = this.postings.get((p - 1) * POSTING + 3)) {
      if (this.postings.get((p - 1) * POSTING) === value) found.push((p - 1) * POSTING);
    }
    return found;
  }

  /**
   * The works whose registered sound the upload's (every value, step 1) contains, strongest
   * first, at most MAX_SOUND_WORKS, each with its stretches (a recap or a compilation has
   * several). Work is bounded: at most MAX_VOTES votes (a value of more than MAX_POSTINGS
   * postings casts none), MAX_CANDIDATES alignments each scored over at most the upload's
   * length.
   */
  search(upload: Uint32Array): SoundMatch[] {
    // slot → offset (registered position − upload index) → votes; small integer keys hash fast.
    const votes = new Map<number, Map<number, number>>();
    let cast = 0;
    for (let i = 0; i < upload.length && cast < MAX_VOTES; i++) {
      const v = upload[i] as number;
      if (i > 0 && v === upload[i - 1]) continue;
      const found = this.postingsOf(v);
      if (found.length > MAX_POSTINGS) continue;
      for (const at of found) {
        const slot = this.postings.get(at + 1);
        const offset = this.postings.get(at + 2) - i;
        const of = votes.get(slot) ?? votes.set(slot, new Map()).get(slot)!;
        of.set(offset, (of.get(offset) ?? 0) + 1);
        cast++;
      }
    }
    const candidates = [...votes]
      .flatMap(([slot, of]) => [...of].filter(([, n]) => n >= 2).map(([offset, n]) => ({ slot, offset, votes: n })))
      .sort((a, b) => b.votes - a.votes || this.idOf(a.slot).localeCompare(this.idOf(b.slot)) || a.offset - b.offset)
      .slice(0, MAX_CANDIDATES);
    const byWork = new Map<number, SoundSegment[]>();
    for (const c of candidates) {
      const registered = this.works[c.slot] as Registered;
      const segment = stretchAt(registered.sound, upload, c.offset);
      if (!segment) continue;
      const kept = byWork.get(c.slot) ?? [];
      // Nearby alignments find the same stretch again: keep one per stretch of the upload.
      if (kept.some((s) => s.upload[0] < segment.upload[1] && segment.upload[0] < s.upload[1])) continue;
      byWork.set(c.slot, [...kept, segment]);
    }
    return [...byWork]
      .map(([slot, segments]): SoundMatch => {
        const { id, sound } = this.works[slot] as Registered;
        segments.sort((a, b) => a.upload[0] - b.upload[0]);
        return { work: id, workDurationMs: Math.round(sound.values.length * sound.step * ITEM_MS), segments, strength: segments.some((s) => s.strength === 'match') ? 'match' : 'review' };
      })
      .sort((a, b) => rank(a) - rank(b) || a.work.localeCompare(b.work))
      .slice(0, MAX_SOUND_WORKS);
  }

  private idOf(slot: number): string {
    return (this.works[slot] as Registered).id;
  }
}

/** Strongest first: a match before a review, then the lowest BER. */
function rank(m: SoundMatch): number {
  return (m.strength === 'match' ? 0 : 1) + Math.min(...m.segments.map((s) => s.ber));
}

/**
 * The best stretch of a registered sound against the upload at one alignment (registered
 * position = upload index + offset), trying the offsets one either side too (Chromaprint's
 * frames may fall a hop apart after re-encoding): the longest run of informative aligned
 * positions each inside a window of low BER, null if it is too short or too far for review.
 */
function stretchAt(sound: Sound, upload: Uint32Array, offset: number): SoundSegment | null {
  let best: SoundSegment | null = null;
  for (const shift of [0, -1, 1]) {
    const s = stretchAtExactly(sound, upload, offset + shift);
    if (s && (!best || s.values > best.values || (s.values === best.values && s.ber < best.ber))) best = s;
  }
  return best;
}

function stretchAtExactly({ step, values }: Sound, upload: Uint32Array, offset: number): SoundSegment | null {
  // The aligned informative positions: registered index j, upload index j·step − offset.
  const js: number[] = [];
  const errors: number[] = [];
  for (let j = Math.max(0, Math.ceil(offset / step)); j < values.length; j++) {
    const u = j * step - offset;
    if (u >= upload.length) break;
    if (j > 0 && values[j] === values[j - 1]) continue;
    js.push(j);
    errors.push(popcount(((values[j] as number) ^ (upload[u] as number)) >>> 0));
  }
  if (js.length < REVIEW_VALUES) return null;
  // Each position is good when the window of aligned positions around it is under REVIEW_BER.
  const half = Math.max(2, Math.round(WINDOW_MS / ITEM_MS / step / 2));
  const prefix = [0];
  for (const e of errors) prefix.push((prefix[prefix.length - 1] as number) + e);
  const good = js.map((_, k) => {
    const from = Math.max(0, k - half);
    const to = Math.min(js.length, k + half + 1);
    return ((prefix[to] as number) - (prefix[from] as number)) / (32 * (to - from)) < REVIEW_BER;
  });
  let bestFrom = 0;
  let bestTo = 0;
  for (let k = 0; k < good.length; ) {
    if (!good[k]) {
      k++;
      continue;
    }
    let end = k;
    while (end < good.length && good[end]) end++;
    if (end - k > bestTo - bestFrom) [bestFrom, bestTo] = [k, end];
    k = end;
  }
  const count = bestTo - bestFrom;
  if (count < REVIEW_VALUES) return null;
  const ber = ((prefix[bestTo] as number) - (prefix[bestFrom] as number)) / (32 * count);
  const first = (js[bestFrom] as number) * step;
  const last = (js[bestTo - 1] as number) * step;
  const ms = (last - first + 1) * ITEM_MS;
  const strength = ber < MATCH_BER && ms >= MATCH_MS && count >= MATCH_VALUES ? 'match' : ber < REVIEW_BER && ms >= REVIEW_MS ? 'review' : null;
  if (strength === null) return null;
  const at = (position: number) => Math.round(position * ITEM_MS);
  return { upload: [at(first - offset), at(last - offset + 1)], work: [at(first), at(last + 1)], ber: Math.round(ber * 1000) / 1000, values: count, strength };
}
