/**
 * npx tsx scripts/audio-match.ts <work>/fp        (the last step of scripts/evaluate-audio.sh)
 * Issue 13.6, whether Chromaprint earns its place beside the video fingerprint: matches every
 * edited upload (<id>__<edit>.json, from `fpcalc -raw -json`) against the registered references
 * (ref_regNN.json) and prints Markdown tables: recall and false positives per edit class for a
 * sliding bit-error-rate matcher, two ways of surviving speed changes, an AcoustID-style
 * exact-value candidate lookup, the fingerprint's size and the matcher's cost.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * BER cut-offs. No unrelated pair in this set comes closer than ~0.27 (two tracks by one
 * composer on one album ~0.29), so the four bracket the point where false positives begin.
 */
const THRESHOLDS = [0.25, 0.3, 0.35, 0.4];
/** Sub-fingerprints a second: Chromaprint's algorithm 2 (fpcalc's default) hops 4096/3 samples at 11025 Hz. */
const FPS = 11025 / (4096 / 3);
/** ~3 s of sub-fingerprints: the least overlap a BER is taken over (see bestBER). */
const MIN_OVERLAP = Math.round(3 * FPS);
/** Factors the query's sequence is stretched by: 0.8-1.25, both ways, so a 1.25x tempo change is on the grid. */
const STRETCH_FACTORS = [1 / 1.25, 0.85, 0.9, 0.95, 1, 1.05, 1.1, 1.15, 1.2, 1.25];
/** Edit classes in the order the tables list them: mild to severe, speed changes last. */
const EDIT_ORDER = ['orig', 'aac64', 'mp3_96_mono22k', 'clip10s_mid', 'vol-12dB', 'whitenoise_10dB', 'pinknoise_10dB',
  'plus_music_at_-6dB', 'plus_voice_at_-6dB', 'under_music_-6dB', 'under_voice_-6dB', 'telephone', 'room_echo', 'camcorder',
  'speed1.25_pitchkept', 'speed1.05_pitchshift', 'speed1.25_pitchshift'];
/** The edits evaluate-audio.sh re-fingerprints at speed corrections; orig shows what the extra tries cost in false positives. */
const SCAN_EDITS = ['orig', 'speed1.05_pitchshift', 'speed1.25_pitchshift'];
/** Key widths of the exact-value index: whole values as AcoustID, and top bits only, to see what coarser keys buy. */
const LOOKUP_BITS = [32, 28, 20] as const;
type LookupBits = (typeof LOOKUP_BITS)[number];

/** Lowest BER of an upload against each registered track, by track id. */
type Scores = Record<string, number>;
/** Query sub-fingerprints found in each registered track's index entries, by track id. */
type Hits = Record<string, number>;
/** Which registered tracks contain a (shifted) sub-fingerprint value. */
type ValueIndex = Map<number, Set<string>>;

interface Reference { id: string; fp: Uint32Array }
interface Upload { id: string; edit: string; fp: Uint32Array }
interface ScoredUpload extends Upload { ber: Scores; sber: Scores; hits: Record<LookupBits, Hits> }
interface Alignment { ber: number; offset: number }
interface Counts { recalled: number; registered: number; negHits: number; negatives: number; wrongHits: number }
interface ScanFingerprint { factor: number; fp: Uint32Array }

/** Set bits of a 32-bit word (SWAR, no table): nearly all of the matcher's time is spent here. */
function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** One fpcalc -raw -json file; `>>> 0` reads a value printed as a signed 32-bit integer as the same bits. */
function loadFingerprint(dir: string, file: string): Uint32Array {
  const json: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const values = typeof json === 'object' && json !== null && 'fingerprint' in json ? json.fingerprint : undefined;
  if (!Array.isArray(values)) throw new Error(`${file}: no "fingerprint" array (did fpcalc fail on it?)`);
  const list: readonly unknown[] = values;
  return Uint32Array.from(list, (v) => Number(v) >>> 0);
}

/**
 * Lowest bit error rate of q against r over every offset. Bits, not equal values: an edit flips
 * a few bits of most sub-fingerprints, so a Hamming distance survives edits that leave hardly a
 * value intact. Every offset: an upload may be any excerpt of the work. A minimum overlap
 * (~3 s, or the whole of a shorter sequence): at the ends of the slide only a few values
 * overlap, and a few values agree by chance, so without it the lowest BER of any pair would
 * come from a sliver. The overlap's ends are comparisons, not Math.max(0, -off) as in the
 * script this was ported from: that makes a -0 at off = 0, which V8 cannot keep as an integer,
 * and once bestBER is inlined into its caller (as here) the slide ran at half speed in Node 20.
 */
function bestBER(q: Uint32Array, r: Uint32Array, minOverlap = MIN_OVERLAP): Alignment {
  const need = Math.min(minOverlap, q.length, r.length);
  let best = 1;
  let bestOffset = 0;
  for (let off = need - q.length; off <= r.length - need; off++) {
    const i0 = off < 0 ? -off : 0;
    const i1 = q.length < r.length - off ? q.length : r.length - off;
    const n = i1 - i0;
    if (n < need) continue;
    let errors = 0;
    for (let i = i0; i < i1; i++) errors += popcount32(q[i]! ^ r[i + off]!);
    const ber = errors / (32 * n);
    if (ber < best) {
      best = ber;
      bestOffset = off;
    }
  }
  return { ber: best, offset: bestOffset };
}

/**
 * The query's sequence resampled by f (nearest neighbour). Chromaprint's frame rate is fixed, so
 * a tempo change with the pitch kept leaves each sub-fingerprint about right but at the wrong
 * time; stretching the sequence realigns it at the cost of one more slide per factor, without
 * decoding the audio again. It cannot undo a pitch shift (that is the re-fingerprint scan).
 */
function stretch(q: Uint32Array, f: number): Uint32Array {
  const n = Math.round(q.length * f);
  const out = new Uint32Array(n);
  for (let j = 0; j < n; j++) out[j] = q[Math.min(q.length - 1, Math.round(j / f))]!;
  return out;
}

/** Lowest BER of q stretched by each of STRETCH_FACTORS against r: an upload's speed change is unknown, so all are tried. */
function bestStretchedBER(q: Uint32Array, r: Uint32Array): number {
  let b = 1;
  for (const f of STRETCH_FACTORS) b = Math.min(b, bestBER(stretch(q, f), r).ber);
  return b;
}

/** Registered references by id, sorted, so tables and per-track columns come out in one order. */
function loadReferences(dir: string, files: readonly string[]): Reference[] {
  const byId = new Map<string, Uint32Array>();
  for (const f of files.filter((f) => f.startsWith('ref_reg'))) byId.set(f.slice(4, 9), loadFingerprint(dir, f));
  return [...byId.keys()].sort().map((id) => ({ id, fp: byId.get(id)! }));
}

/** Uploads of registered (regNN) and unregistered (negNN) tracks, named <id>__<edit>.json. */
function loadUploads(dir: string, files: readonly string[]): Upload[] {
  return files.filter((f) => /^(reg|neg)\d\d__/.test(f)).map((f) => {
    const [id = '', edit = ''] = f.replace('.json', '').split('__');
    return { id, edit, fp: loadFingerprint(dir, f) };
  });
}

/** Edit classes present, in EDIT_ORDER (an unknown class sorts first, so it is not missed). */
function orderedEdits(uploads: readonly Upload[]): string[] {
  return [...new Set(uploads.map((u) => u.edit))].sort((a, b) => EDIT_ORDER.indexOf(a) - EDIT_ORDER.indexOf(b));
}

/** Inverted index of the references' values with `shift` low bits dropped, as AcoustID's candidate step. */
function buildIndex(refs: readonly Reference[], shift: number): ValueIndex {
  const index: ValueIndex = new Map();
  for (const { id, fp } of refs) {
    for (const v of fp) {
      const key = v >>> shift;
      let ids = index.get(key);
      if (!ids) index.set(key, (ids = new Set()));
      ids.add(id);
    }
  }
  return index;
}

/** Per registered track, how many of the query's values (top `bits` bits) occur anywhere in it. */
function lookup(index: ValueIndex, q: Uint32Array, bits: LookupBits): Hits {
  const shift = 32 - bits;
  const hits: Hits = {};
  for (const v of q) {
    const ids = index.get(v >>> shift);
    if (ids) for (const id of ids) hits[id] = (hits[id] ?? 0) + 1;
  }
  return hits;
}

/** A missing score compares false and prints NaN, as an undefined one did in the script this was ported from. */
function scoreOf(scores: Scores, id: string): number {
  return scores[id] ?? NaN;
}

const isRegistered = (u: Upload): boolean => u.id.startsWith('reg');

/**
 * Every upload against every reference, fixed-rate and stretched, plus the index lookups:
 * brute force, so the time it takes is an upper bound on the matcher's cost. Building the
 * index is left out of the timing, as a catalogue builds it once, not per upload.
 */
function scoreUploads(uploads: readonly Upload[], refs: readonly Reference[], indexes: Record<LookupBits, ValueIndex>): { scored: ScoredUpload[]; comparisons: number; ms: number } {
  const t0 = Date.now();
  let comparisons = 0;
  const scored: ScoredUpload[] = [];
  for (const u of uploads) {
    const ber: Scores = {};
    const sber: Scores = {};
    for (const ref of refs) {
      ber[ref.id] = bestBER(u.fp, ref.fp).ber;
      comparisons++;
      sber[ref.id] = bestStretchedBER(u.fp, ref.fp);
    }
    const hits = { 32: lookup(indexes[32], u.fp, 32), 28: lookup(indexes[28], u.fp, 28), 20: lookup(indexes[20], u.fp, 20) };
    scored.push({ ...u, ber, sber, hits });
  }
  return { scored, comparisons, ms: Date.now() - t0 };
}

/**
 * Recall, and both kinds of false positive, at one threshold: a negative matching anything
 * (a takedown of someone else's upload) and a registered upload also matching another track
 * (the claim would name the wrong work).
 */
function evalClass<U extends Upload>(list: readonly U[], scoresOf: (u: U) => Scores, refIds: readonly string[], thr: number): Counts {
  const c: Counts = { recalled: 0, registered: 0, negHits: 0, negatives: 0, wrongHits: 0 };
  for (const u of list) {
    const s = scoresOf(u);
    if (isRegistered(u)) {
      c.registered++;
      if (scoreOf(s, u.id) < thr) c.recalled++;
      if (refIds.some((r) => r !== u.id && scoreOf(s, r) < thr)) c.wrongHits++;
    } else {
      c.negatives++;
      if (refIds.some((r) => scoreOf(s, r) < thr)) c.negHits++;
    }
  }
  return c;
}

/** The **all** row sums the classes' counts, so its fractions are over every upload of the set. */
function addCounts(into: Counts, c: Counts): void {
  into.recalled += c.recalled;
  into.registered += c.registered;
  into.negHits += c.negHits;
  into.negatives += c.negatives;
  into.wrongHits += c.wrongHits;
}

/** "recall / FP-neg / FP-wrong", each as a fraction of its class. */
function countsCell(c: Counts): string {
  return `${c.recalled}/${c.registered} / ${c.negHits}/${c.negatives} / ${c.wrongHits}/${c.registered}`;
}

/** Lower median (the lower middle value of an even count, not a mean), so it is always a measured value. */
function median(values: readonly number[]): number {
  const s = [...values].sort((x, y) => x - y);
  return s.length ? (s[Math.floor((s.length - 1) / 2)] ?? NaN) : NaN;
}

/** The own-track BERs of a class's registered uploads and the lowest BER of any upload to a track not its own. */
function ownAndImpostor<U extends Upload>(list: readonly U[], scoresOf: (u: U) => Scores, refIds: readonly string[]): { own: number[]; impostor: number } {
  const own = list.filter(isRegistered).map((u) => scoreOf(scoresOf(u), u.id));
  const impostor = Math.min(...list.flatMap((u) => refIds.filter((r) => r !== u.id).map((r) => scoreOf(scoresOf(u), r))));
  return { own, impostor };
}

/** Median with the range: one track failing an edit shows, where a median alone would hide it. */
function spreadCell(own: readonly number[]): string {
  return `${median(own).toFixed(3)} (${Math.min(...own).toFixed(3)}-${Math.max(...own).toFixed(3)})`;
}

/** One column per threshold, so the trade between recall and false positives reads across a row. */
function thresholdHeader(): string {
  return THRESHOLDS.map((t) => `t=${t.toFixed(2)} recall / FP-neg / FP-wrong`).join(' | ');
}

/** One table per matcher (fixed-rate, stretched): the same uploads, so the columns compare directly. */
function slidingTable(out: string[], ups: readonly ScoredUpload[], edits: readonly string[], refIds: readonly string[], scoresOf: (u: ScoredUpload) => Scores, title: string): void {
  out.push(`\n### ${title}\n`);
  out.push(`Recall = registered upload's own track at BER < t (n=10). FP-neg = negative uploads with any registered track at BER < t (n=10). FP-wrong = registered uploads that also hit a different registered track at BER < t.\n`);
  out.push(`| edit class | ${thresholdHeader()} | own BER median (min-max) | lowest impostor BER |`);
  out.push('|---|' + THRESHOLDS.map(() => '---').join('|') + '|---|---|');
  const all = THRESHOLDS.map((): Counts => ({ recalled: 0, registered: 0, negHits: 0, negatives: 0, wrongHits: 0 }));
  for (const e of edits) {
    const list = ups.filter((u) => u.edit === e);
    const cells = THRESHOLDS.map((t, i) => {
      const c = evalClass(list, scoresOf, refIds, t);
      addCounts(all[i]!, c);
      return countsCell(c);
    });
    const { own, impostor } = ownAndImpostor(list, scoresOf, refIds);
    out.push(`| ${e} | ${cells.join(' | ')} | ${spreadCell(own)} | ${impostor.toFixed(3)} |`);
  }
  out.push(`| **all** | ${all.map(countsCell).join(' | ')} | | |`);
}

/** The re-fingerprinted speed corrections, by upload (<id>__<edit>), in file order (factor ascending). */
function loadScans(dir: string, files: readonly string[]): Map<string, ScanFingerprint[]> {
  const byUpload = new Map<string, ScanFingerprint[]>();
  for (const f of files.filter((f) => f.startsWith('scan_'))) {
    const m = /^scan_((?:reg|neg)\d\d)__(.+)__c([\d.]+)\.json$/.exec(f);
    if (!m) continue;
    const key = `${m[1]}__${m[2]}`;
    let list = byUpload.get(key);
    if (!list) byUpload.set(key, (list = []));
    list.push({ factor: Number(m[3]), fp: loadFingerprint(dir, f) });
  }
  return byUpload;
}

/**
 * A speed change that shifts the pitch moves every frequency, which no rearrangement of the
 * sub-fingerprints undoes; resampling the audio by a correction factor and fingerprinting again
 * does. The grid misses the true factors on purpose (a real upload's factor is unknown), and
 * orig is scanned too, so the table also shows the false positives the extra tries let in.
 * An upload's score per track is the lowest over the fixed-rate match and every correction;
 * its best factor is 1 when no correction beats the fixed-rate match on its own track.
 */
function speedScanTable(out: string[], dir: string, files: readonly string[], ups: readonly ScoredUpload[], refs: readonly Reference[]): void {
  if (!files.some((f) => f.startsWith('scan_'))) return;
  const scans = loadScans(dir, files);
  const refIds = refs.map((r) => r.id);
  out.push('\n### Variant: re-fingerprint scan over speed-correction factors 1.03..1.30 step 0.03 (10 extra fpcalc runs per upload; true factors 1.25 / 1.05 are off-grid)\n');
  out.push(`| edit class | ${thresholdHeader()} | own BER median (min-max) | lowest impostor BER | best factor (median) |`);
  out.push('|---|' + THRESHOLDS.map(() => '---').join('|') + '|---|---|---|');
  for (const e of SCAN_EDITS) {
    const list = ups.filter((u) => u.edit === e && scans.has(`${u.id}__${e}`));
    const corrected = new Map<ScoredUpload, Scores>();
    const bestFactors: number[] = [];
    for (const u of list) {
      const cber: Scores = { ...u.ber };
      let bestFactor = 1;
      let bestOwn = u.ber[u.id] ?? 1;
      for (const v of scans.get(`${u.id}__${e}`) ?? []) {
        for (const ref of refs) {
          const b = bestBER(v.fp, ref.fp).ber;
          if (b < scoreOf(cber, ref.id)) cber[ref.id] = b;
          if (ref.id === u.id && b < bestOwn) {
            bestOwn = b;
            bestFactor = v.factor;
          }
        }
      }
      corrected.set(u, cber);
      if (isRegistered(u)) bestFactors.push(bestFactor);
    }
    const scoresOf = (u: ScoredUpload): Scores => corrected.get(u) ?? {};
    const cells = THRESHOLDS.map((t) => countsCell(evalClass(list, scoresOf, refIds, t)));
    const { own, impostor } = ownAndImpostor(list, scoresOf, refIds);
    out.push(`| ${e} + scan | ${cells.join(' | ')} | ${spreadCell(own)} | ${impostor.toFixed(3)} | ${median(bestFactors)} |`);
  }
}

/** Own-track BER per track and edit (fixed-rate): shows which material, not just which edit, fails. */
function perTrackTable(out: string[], ups: readonly ScoredUpload[], edits: readonly string[], refIds: readonly string[]): void {
  out.push('\n### Own-track BER per registered track (fixed-rate matcher)\n');
  out.push('| edit | ' + refIds.join(' | ') + ' |');
  out.push('|---|' + refIds.map(() => '---').join('|') + '|');
  for (const e of edits) {
    out.push(`| ${e} | ` + refIds.map((id) => {
      const u = ups.find((x) => x.id === id && x.edit === e);
      return u ? scoreOf(u.ber, id).toFixed(2) : '-';
    }).join(' | ') + ' |');
  }
}

/** Element i of a sorted list that must not be empty (no impostor pairs means no uploads were read). */
function nth(sorted: readonly number[], i: number): number {
  const v = sorted[i];
  if (v === undefined) throw new Error('no impostor pairs: is the fp folder complete?');
  return v;
}

/**
 * How close unrelated pairs come, over all edits: what any threshold has to stay under. Short
 * clips are given separately since fewer values overlap, so chance agreement is larger.
 */
function impostorSummary(out: string[], ups: readonly ScoredUpload[], refIds: readonly string[]): void {
  const impostorsOf = (list: readonly ScoredUpload[]): number[] =>
    list.flatMap((u) => refIds.filter((r) => r !== u.id).map((r) => scoreOf(u.ber, r)));
  const impAll = impostorsOf(ups).sort((a, b) => a - b);
  out.push(`\nImpostor (non-matching pair) best-offset BER over ${impAll.length} pairs: min ${nth(impAll, 0).toFixed(3)}, 1st pct ${nth(impAll, Math.floor(impAll.length * 0.01)).toFixed(3)}, median ${median(impAll).toFixed(3)}.`);
  const impFull = impostorsOf(ups.filter((u) => u.fp.length > 200)).sort((a, b) => a - b);
  const impClips = impostorsOf(ups.filter((u) => u.edit === 'clip10s_mid'));
  out.push(`Same, uploads >= 25 s only: min ${nth(impFull, 0).toFixed(3)}; 10 s clips only: min ${Math.min(...impClips).toFixed(3)}.`);
}

/**
 * A catalogue cannot slide every upload over every registered work, so AcoustID first looks up
 * candidates by exact sub-fingerprint values and only then checks the BER. A good BER is worth
 * nothing if this step never proposes the work, so it is reported per edit: found (own track
 * first, with >= 2 hits) and negatives that would be passed on to the BER check.
 */
function lookupTable(out: string[], ups: readonly ScoredUpload[], edits: readonly string[]): void {
  out.push('\n### AcoustID-style candidate lookup (exact sub-fingerprint values, no BER verification)\n');
  out.push('found = own track ranked first by number of query sub-fingerprints whose value (or top bits) occurs anywhere in it, with >= 2 hits. neg-cand = negatives that get >= 2 hits on some registered track (would be passed to BER verification).\n');
  out.push('| edit class | 32-bit found | 32-bit neg-cand | 28-bit found | 28-bit neg-cand | 20-bit found | 20-bit neg-cand | median own hits 32/20-bit (of query length) |');
  out.push('|---|---|---|---|---|---|---|---|');
  const total: Record<LookupBits, { found: number; neg: number }> = { 32: { found: 0, neg: 0 }, 28: { found: 0, neg: 0 }, 20: { found: 0, neg: 0 } };
  for (const e of edits) {
    const list = ups.filter((u) => u.edit === e);
    const row: string[] = [];
    for (const bits of LOOKUP_BITS) {
      let found = 0;
      let neg = 0;
      for (const u of list) {
        const h = u.hits[bits];
        if (isRegistered(u)) {
          const own = h[u.id] ?? 0;
          const top = Math.max(0, ...Object.values(h));
          if (own >= 2 && own === top) found++;
        } else if (Object.values(h).some((c) => c >= 2)) neg++;
      }
      total[bits].found += found;
      total[bits].neg += neg;
      row.push(`${found}/10`, `${neg}/10`);
    }
    const regs = list.filter(isRegistered);
    out.push(`| ${e} | ${row.join(' | ')} | ${median(regs.map((u) => u.hits[32][u.id] ?? 0))} / ${median(regs.map((u) => u.hits[20][u.id] ?? 0))} (of ${median(regs.map((u) => u.fp.length))}) |`);
  }
  out.push(`| **all** | ${LOOKUP_BITS.map((b) => `${total[b].found}/${edits.length * 10} | ${total[b].neg}/${edits.length * 10}`).join(' | ')} | |`);
}

function main(dir: string): void {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  const refs = loadReferences(dir, files);
  const refIds = refs.map((r) => r.id);
  const uploads = loadUploads(dir, files);
  const edits = orderedEdits(uploads);
  const indexes: Record<LookupBits, ValueIndex> = { 32: buildIndex(refs, 0), 28: buildIndex(refs, 4), 20: buildIndex(refs, 12) };
  const { scored, comparisons, ms } = scoreUploads(uploads, refs, indexes);

  const out: string[] = [];
  slidingTable(out, scored, edits, refIds, (u) => u.ber, 'Fixed-rate sliding match (offset search only)');
  slidingTable(out, scored, edits, refIds, (u) => u.sber, 'Variant: sliding match + time-stretch scan of the query sequence (factors 0.8-1.25, 10 x cost)');
  speedScanTable(out, dir, files, scored, refs);
  perTrackTable(out, scored, edits, refIds);
  impostorSummary(out, scored, refIds);
  lookupTable(out, scored, edits);

  const refLen = median(refs.map((r) => r.fp.length));
  out.push(`\nSub-fingerprints per 60 s reference: ${refLen} (= ${(refLen / 60).toFixed(2)}/s; theoretical ${FPS.toFixed(3)}/s); raw = ${(4 * refLen / 60).toFixed(1)} B/s.`);
  out.push(`Matcher: ${comparisons} upload x reference fixed-rate comparisons + 10x that for the stretch scan took ${(ms / 1000).toFixed(1)} s in node (single thread, brute-force offsets).`);
  console.log(out.join('\n'));
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: npx tsx scripts/audio-match.ts <work>/fp');
  process.exit(2);
}
main(dir);
