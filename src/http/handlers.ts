/**
 * The API's behaviour, one function per route, each returning {status, body}. Express is
 * only glue around these (app.ts), so they can be tested and read without a socket.
 */
import type { z } from 'zod';
import { fromBase64, fromHex, toBase64, toHex } from '../core/bytes.js';
import { encodeCbor } from '../core/cbor.js';
import { overallVerdict, worksFound, type CheckResult, type MatchVerdict, type Verdict } from '../core/check.js';
import { protectedAgainst } from '../core/protection.js';
import { CartularyError } from '../core/errors.js';
import { decodeFrames, FRAME_RECORD_BYTES } from '../core/fingerprint.js';
import { CURRENT_MATCHING, type FrameHit, type SimilarityIndex } from '../core/similarity.js';
import { soundValues } from '../core/soundtrack.js';
import { nextTurn, readHitsInSlices, searchInSlices } from '../store/sliced-search.js';
import { consistencyPlan, inclusionPlan, rootHash } from '../core/merkle.js';
import { keyId } from '../core/checkpoint.js';
import { signCoseReceipt } from '../core/cose-receipt.js';
import { formatTlogProof } from '../core/tlog-proof.js';
import { payloadJson, zodRefusal } from '../core/statements.js';
import { EvidenceBuilder } from '../store/evidence.js';
import type { ServedLedger } from '../store/ledger.js';
import type { LedgerStorage } from '../store/storage.js';
import type { SubmitResult } from '../store/sequencer.js';
import { batchBody, checkBody, consistencyQuery, hex64, inclusionQuery, natString, newestFirstQuery, pageQuery, statementJsonBody, worksQuery } from './schemas.js';
import { toProblem } from './problem.js';
import { entryView, licenceView, licenceViews, workSummary, workView } from './views.js';
import { parseTilePath } from '../core/tiles.js';
import { TileCache } from '../store/tiles.js';
import { WitnessPublisher } from '../witness/publisher.js';
import type { RelayedCosignatures } from '../witness/relayed.js';
import type { Metrics } from './metrics.js';

/** Verdicts a platform records as a sighting: the upload may not be published as it is. */
const NEGATIVE = new Set<Verdict>(['unlicensed', 'contested']);

/**
 * The sighting a platform may sign for a negative verdict, as a payload to sign as it is (the
 * server never holds a platform's key): the exact match's work when it is what the uploader
 * may not use, else the first strong fingerprint match the uploader may not use, with its
 * segments. Null for a verdict that allows the upload.
 */
function sightingToSign(
  reference: string,
  q: { uploader: string; sha256?: string | undefined },
  verdict: Verdict,
  decided: CheckResult | null,
  byFrames: { matches: MatchVerdict[] } | null,
  now: number,
): { payload: unknown; cbor: string } | null {
  const match = decided && NEGATIVE.has(decided.verdict) ? undefined : byFrames?.matches.find((m) => m.strength === 'match' && NEGATIVE.has(m.verdict));
  const work = match?.work ?? decided?.works[0];
  if (!NEGATIVE.has(verdict) || !work) return null;
  const payload = {
    type: 'sighting',
    issuedAt: now,
    work: fromHex(work.id, 'work', 32),
    reference,
    uploader: q.uploader,
    verdict,
    ...(q.sha256 ? { sha256: fromHex(q.sha256, 'sha256', 32) } : {}),
    ...(match ? { segments: match.segments.slice(0, 256).map((s) => ({ upload: s.upload.map(Math.round), work: s.work.map(Math.round) })) } : {}),
  };
  return { payload: payloadJson(payload), cbor: toBase64(encodeCbor(payload)) };
}

/** How long /readyz waits for the store to answer a read, ms. */
const READY_STORE_MS = 2000;

/** The longest a check's fingerprint search holds the event loop at a time, ms. */
const SLICE_MS = 8;
/** Candidates one query hash may examine: far above an honest bucket's load, a bound on a stuffed one. */
const SCAN_BUDGET = 20_000;

export interface Reply {
  status: number;
  body: unknown;
  /** default application/json */
  contentType?: string;
  /** extra response headers (cache lifetimes of immutable resources) */
  headers?: Record<string, string>;
}

/** Tiles never change once they exist (a partial tile of width W is as fixed as a full one). */
const IMMUTABLE = 'public, max-age=31536000, immutable';

const ok = (body: unknown, status = 200): Reply => ({ status, body });

function parse<S extends z.ZodType>(schema: S, input: unknown, where: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw zodRefusal(result.error, where);
  return result.data;
}

export class Handlers {
  private readonly evidence: EvidenceBuilder;
  private readonly tiles: TileCache;

  constructor(
    private readonly ledger: ServedLedger,
    private readonly clock: () => number = Date.now,
    /** the witness client, when the ledger runs with a witness policy; a read-only node's relay of the writer's cosignatures */
    private readonly witnesses?: WitnessPublisher | RelayedCosignatures,
    private readonly metrics?: Metrics,
  ) {
    this.evidence = new EvidenceBuilder(ledger.store, ledger.sequencer, ledger.signer, ledger.origin, witnesses);
    this.tiles = new TileCache(ledger.store);
  }

  /** Only what the storage contract offers: the HTTP edge does not know which store it is. */
  private get store(): LedgerStorage {
    return this.ledger.store;
  }
  private get sequencer() {
    return this.ledger.sequencer;
  }

  checkpoint(): Reply {
    // Mutable: tlog-tiles asks that it not be cached beyond a few seconds.
    const body = this.witnesses ? this.witnesses.current() : this.sequencer.checkpoint;
    return { status: 200, body, contentType: 'text/plain; charset=utf-8', headers: { 'cache-control': 'no-cache' } };
  }

  log(): Reply {
    return ok({
      origin: this.ledger.origin,
      verifierKey: this.sequencer.verifierKey,
      size: this.sequencer.size,
      rootHash: toHex(this.sequencer.rootHash),
      checkpoint: this.sequencer.checkpoint,
      registrar: this.ledger.registrar,
    });
  }

  /** Sequences one statement, counting it in the metrics as appended, repeated or refused. */
  private async sequence(bytes: () => Uint8Array) {
    const started = performance.now();
    try {
      const result = await this.sequencer.submit(bytes());
      this.metrics?.appended((performance.now() - started) / 1000, result.repeat);
      return result;
    } catch (e) {
      this.metrics?.refusedWith(e instanceof CartularyError ? e.code : 'internal');
      throw e;
    }
  }

  /** Raw COSE bytes, or the JSON form {statement: base64}. */
  async submit(body: Uint8Array | unknown): Promise<Reply> {
    const { receipt, repeat } = await this.sequence(() =>
      body instanceof Uint8Array ? body : fromBase64(parse(statementJsonBody, body, 'body').statement, 'body.statement'),
    );
    return ok(receipt, repeat ? 200 : 201);
  }

  async submitBatch(body: unknown): Promise<Reply> {
    const { statements } = parse(batchBody, body, 'body');
    // A node that takes no writes says so once, not once per statement.
    await this.sequencer.writable();
    // A statement given twice is sequenced once, at its first place; the later places answer
    // as repeats of it. Submitted separately, the two would race through signature checks on
    // the thread pool, and either could be the one appended.
    const first = new Map<string, Promise<SubmitResult | { problem: ReturnType<typeof toProblem> }>>();
    const results = await Promise.all(
      statements.map(async (text, i) => {
        const earlier = first.get(text);
        if (earlier) {
          const outcome = await earlier;
          return 'receipt' in outcome ? { ...outcome.receipt, status: 200 } : outcome.problem;
        }
        const outcome = this.sequence(() => fromBase64(text, `body.statements[${i}]`)).catch((e: unknown) => ({ problem: toProblem(e) }));
        first.set(text, outcome);
        const done = await outcome;
        return 'receipt' in done ? { ...done.receipt, status: done.repeat ? 200 : 201 } : done.problem;
      }),
    );
    return ok({ results });
  }

  /**
   * A read-only node that refused the store's latest checkpoint trusts nothing the store
   * holds now (follower.ts): it answers 503 to every read of it until its operator has looked.
   */
  assertTrusted(): void {
    const refused = this.store.readOnly ? this.sequencer.failure : null;
    if (refused) throw new CartularyError('unavailable', `${refused.message}. This node answers nothing from the store until its operator has looked`);
  }

  // An entry is served once the tree this node serves holds it: the store shows a commit a
  // moment before the writer's checkpoint moves, and longer before a follower has checked it.
  async entry(index: string): Promise<Reply> {
    return ok(await this.store.read((view) => entryView(view, this.served(parse(natString, index, 'index'), `no entry at index ${index}`))));
  }

  async statement(id: string): Promise<Reply> {
    const statementId = fromHex(parse(hex64, id, 'id'), 'id', 32);
    return ok(await this.store.read((view) => entryView(view, this.served(view.indexOf(statementId), `no statement with id ${id}`))));
  }

  /** `index` when the tree this node serves holds it, else 'not-found' with `missing`. */
  private served(index: number | undefined, missing: string): number {
    if (index === undefined || index >= this.sequencer.size) throw new CartularyError('not-found', index === undefined ? missing : `${missing} in the tree this node serves (${this.sequencer.size} entries) yet`);
    return index;
  }

  private checkSize(size: number, field: string): void {
    if (size > this.sequencer.size) {
      throw new CartularyError('not-found', `${field} ${size} is beyond the tree's size ${this.sequencer.size}`, { field });
    }
  }

  async inclusion(query: unknown): Promise<Reply> {
    const { index, size } = parse(inclusionQuery, query, 'query');
    this.checkSize(size, 'size');
    if (index >= size) throw new CartularyError('invalid', `index ${index} must be less than size ${size}`, { field: 'index' });
    const hashes = await this.store.read((view) => view.hashRanges(inclusionPlan(index, size)));
    return ok({ index, size, hashes: hashes.map(toHex) });
  }

  async consistency(query: unknown): Promise<Reply> {
    const { from, to } = parse(consistencyQuery, query, 'query');
    this.checkSize(to, 'to');
    if (from > to) throw new CartularyError('invalid', `from ${from} must not be greater than to ${to}`, { field: 'from' });
    const hashes = await this.store.read((view) => view.hashRanges(consistencyPlan(from, to)));
    return ok({ from, to, hashes: hashes.map(toHex) });
  }

  async works(query: unknown): Promise<Reply> {
    const { sha256, ...page } = parse(worksQuery, query, 'query');
    const ids = await this.store.registrationsOf(sha256, page);
    return ok(await this.store.read((view) => ids.flatMap((id) => {
      const work = view.work(id);
      return work ? [workSummary(view, work)] : [];
    })));
  }

  private async workRecord(id: string) {
    const workId = parse(hex64, id, 'work');
    const work = await this.store.read((view) => view.work(workId));
    if (!work) throw new CartularyError('not-found', `work ${id} is not in the ledger`);
    return work;
  }

  async work(id: string): Promise<Reply> {
    return ok(await workView(this.store, await this.workRecord(id), this.clock()));
  }

  /** A work's licences in grant order, a page at a time: `after` is the ledger index of the last one seen. */
  async workLicences(id: string, query: unknown): Promise<Reply> {
    const work = await this.workRecord(id);
    const { after, limit } = parse(pageQuery, query, 'query');
    const ids = await this.store.licencesOf(work, { limit, ...(after === undefined ? {} : { after }) });
    const licences = await this.store.read((view) => licenceViews(view, ids, this.clock()));
    const last = licences.at(-1);
    return ok({ work: work.id, licenceCount: work.licenceCount, licences, next: licences.length === limit && last ? last.index : null });
  }

  /** The entries about a work, a page at a time: `after` is the last index seen. */
  async workHistory(id: string, query: unknown): Promise<Reply> {
    const work = await this.workRecord(id);
    const { after, limit } = parse(pageQuery, query, 'query');
    const history = await this.store.entriesOf(work, { limit, ...(after === undefined ? {} : { after }) });
    return ok({ work: work.id, entries: work.entries, history, next: history.length === limit ? (history.at(-1) as number) : null });
  }

  /** Platforms' sightings of a work, newest first, a page at a time: `before` is the last index seen. */
  async workSightings(id: string, query: unknown): Promise<Reply> {
    const work = await this.workRecord(id);
    const { before, limit } = parse(newestFirstQuery, query, 'query');
    const indices = await this.store.sightingsOf(work.id, { limit, ...(before === undefined ? {} : { before }) });
    const { sightings, count } = await this.store.read((view) => ({
      sightings: indices.map((index) => {
        const entry = entryView(view, index);
        return { ...entry, platform: view.party(entry.signer)?.name ?? null };
      }),
      count: view.sightings(work.id),
    }));
    return ok({ work: work.id, count, sightings, next: indices.length === limit ? (indices.at(-1) as number) : null });
  }

  async workEvidence(id: string): Promise<Reply> {
    return ok(await this.evidence.forWork((await this.workRecord(id)).id));
  }

  async entryEvidence(index: string): Promise<Reply> {
    return ok(await this.evidence.forEntry(parse(natString, index, 'index')));
  }

  async party(partyId: string): Promise<Reply> {
    const party = parse(hex64, partyId, 'party');
    const [works, licences] = await Promise.all([this.store.worksOwnedBy(party), this.store.licencesHeldBy(party)]);
    const { profile, mediator } = await this.store.read((view) => ({ profile: view.party(party), mediator: view.mediator(party) }));
    if (!profile && !mediator && works.length === 0 && licences.length === 0) {
      throw new CartularyError('not-found', `party ${party} has no profile, accreditation, works or licences in the ledger`);
    }
    return ok({
      party,
      profile: profile ? { name: profile.name, url: profile.url, index: profile.index, updatedAt: profile.updatedAt } : null,
      accreditation: mediator ? { index: mediator.index, from: mediator.from, until: mediator.until } : null,
      works,
      licences,
    });
  }

  async check(body: unknown): Promise<Reply> {
    const q = parse(checkBody, body, 'body');
    const now = this.clock();
    const base = { uploader: q.uploader, territory: q.territory, at: q.at ?? now };
    // An exact copy of a whole work is a re-upload: `publish` unless another use is asked about.
    const exact = q.sha256 ? await this.evidence.forCheck({ ...base, sha256: q.sha256, use: q.use ?? 'publish' }) : null;
    // A check by sound alone is judged by fingerprints too, with no frames found.
    const hits = q.fingerprints ? await this.frameHits(this.store.similarity, q.fingerprints.frames, q.fingerprints.mirrored, 'body.fingerprints.frames') : q.sound ? [] : null;
    const patchHits = q.fingerprints?.patches ? await this.frameHits(this.store.patches, q.fingerprints.patches, undefined, 'body.fingerprints.patches') : [];
    // Each kind's hits read into segments a few works a turn, apart from the searches' last slices.
    await nextTurn();
    const framesRead = hits ? await readHitsInSlices(hits, SLICE_MS) : null;
    await nextTurn();
    const patches = await readHitsInSlices(patchHits, SLICE_MS);
    const sounds = q.sound ? this.store.sound.search(soundValues(fromBase64(q.sound.values, 'body.sound.values'), 'body.sound.values')) : [];
    const decided = exact && exact.result.verdict !== 'unregistered' ? exact.result : null;
    const text = [q.title, q.description].filter((t) => t !== undefined).join('\n');
    const named = text ? await this.store.findTitles(text) : { matches: [], use: null };
    const matchedWorks = framesRead ? await this.store.read((view) => worksFound(view, { frames: framesRead, patches, sounds }, q.use)) : null;
    // Each work's verdict is judged as its evidence is read: a verdict judged here, on this
    // earlier state, differed from its evidence's replay when a licence landed in between.
    const matches = matchedWorks
      ? await Promise.all(
          matchedWorks.map(async (f) => {
            const { work, result, bundle } = await this.evidence.forMatch(f.work.id, { ...base, use: f.use });
            return { ...result, ...f, work, evidence: bundle };
          }),
        )
      : null;
    const byFrames = matches ? { verdict: overallVerdict(matches), matches } : null;
    const judged = await this.store.read((view) => {
      const titled = named.matches.flatMap((t) => {
        const work = view.work(t.work);
        return work ? [{ match: t, work }] : [];
      });
      // A protected work found by any evidence, even weak, blocks an uploader who may not use it;
      // but a title is no evidence against an upload that is, byte for byte, a work its
      // uploader owns or holds a licence of (else anyone could file junk under another's
      // title, protect it, and block the rightful owner's own uploads).
      const identified = decided?.verdict === 'owner' || decided?.verdict === 'licensed';
      const found = [...(decided?.works ?? []), ...(byFrames?.matches ?? []).map((m) => m.work), ...(identified ? [] : titled.map((t) => t.work))];
      const shielded = [...new Map(found.map((w) => [w.id, w])).values()].filter((w) => protectedAgainst(view, w, base));
      return {
        titled,
        shielded,
        licence: decided?.licence ? licenceView(view, decided.licence, now) : null,
        matchLicences: (byFrames?.matches ?? []).map((m) => (m.licence ? licenceView(view, m.licence, now) : null)),
      };
    });
    const { titled, shielded } = judged;
    const byFingerprint = new Set((byFrames?.matches ?? []).filter((m) => m.strength === 'match').map((m) => m.work.id));
    // A yes for the file itself does not cover another work inside it: a work its fingerprints
    // match that the uploader may not use (a clip within a registered compilation) gives the
    // answer (an owner's exact upload said "owner" over a film it held unlicensed).
    const barred = decided && !NEGATIVE.has(decided.verdict) ? byFrames?.matches.find((m) => m.strength === 'match' && NEGATIVE.has(m.verdict) && !decided.works.some((w) => w.id === m.work.id)) : undefined;
    const verdict = shielded.length > 0 ? 'unlicensed' : (barred?.verdict ?? decided?.verdict ?? byFrames?.verdict ?? 'unregistered');
    this.metrics?.checked(verdict);
    return ok({
      verdict,
      protected: shielded.map((w) => ({ work: w.id, title: w.title, until: (w.protection as { until: number }).until })),
      sighting: q.report === undefined ? null : sightingToSign(q.report, q, verdict, decided, byFrames, now),
      works: await Promise.all((decided?.works ?? []).map((w) => workView(this.store, w, now))),
      licence: judged.licence,
      reasons: decided?.reasons ?? [],
      evidence: decided ? exact?.bundle ?? null : null,
      matches: await Promise.all(
        (byFrames?.matches ?? []).map(async (m, i) => ({
          work: await workView(this.store, m.work, now),
          segments: m.segments,
          sound: m.sound,
          strength: m.strength,
          use: m.use,
          verdict: m.verdict,
          licence: judged.matchLicences[i] ?? null,
          reasons: m.reasons,
          evidence: m.evidence,
        })),
      ),
      titles: await Promise.all(
        titled.map(({ match: t, work }) => workView(this.store, work, now).then((view) => ({ work: view, title: t.title, via: t.via, strength: 'review' as const, fingerprintAgrees: byFingerprint.has(t.work) }))),
      ),
      textUse: named.use,
    });
  }

  /**
   * The search of a check in `index` (the frames' or the patches'), in slices of at most
   * SLICE_MS on the event loop, so no upload, however long or hostile, holds up other
   * requests (issue 10.2). Records are decoded slice by slice too; each query hash examines
   * at most SCAN_BUDGET candidates, and the hits are capped as they accumulate.
   */
  private async frameHits(index: SimilarityIndex, records: string, mirroredRecords: string | undefined, field: string): Promise<FrameHit[]> {
    const bytes = (b64: string, field: string) => {
      const out = fromBase64(b64, field);
      if (out.length % FRAME_RECORD_BYTES !== 0) throw new CartularyError('malformed', `${field}: fingerprint records must be a multiple of ${FRAME_RECORD_BYTES} bytes`, { field });
      return out;
    };
    const frames = bytes(records, field);
    const mirrored = mirroredRecords ? bytes(mirroredRecords, 'body.fingerprints.mirrored') : new Uint8Array(0);
    // time → the mirrored record at that time, read without decoding the hashes
    const mirrorAt = new Map<number, number>();
    const times = new DataView(mirrored.buffer, mirrored.byteOffset, mirrored.byteLength);
    for (let at = 0; at < mirrored.length; at += FRAME_RECORD_BYTES) mirrorAt.set(times.getUint32(at), at);
    // The mirror pairs with the first record of its time, the whole frame's (a time's regions
    // follow it): given to every record of the time, it was searched once for each of them.
    const frameTimes = new DataView(frames.buffer, frames.byteOffset, frames.byteLength);
    const firstOfItsTime = (i: number) => i === 0 || frameTimes.getUint32(i * FRAME_RECORD_BYTES) !== frameTimes.getUint32((i - 1) * FRAME_RECORD_BYTES);
    return searchInSlices(index, {
      count: frames.length / FRAME_RECORD_BYTES,
      frames: (from, n) =>
        decodeFrames(frames.subarray(from * FRAME_RECORD_BYTES, (from + n) * FRAME_RECORD_BYTES)).map((frame, k) => {
          const m = firstOfItsTime(from + k) ? mirrorAt.get(frame.timeMs) : undefined;
          return m === undefined ? frame : { ...frame, mirrored: mirrored.slice(m + 4, m + FRAME_RECORD_BYTES) };
        }),
      rules: CURRENT_MATCHING,
      budget: SCAN_BUDGET,
      sliceMs: SLICE_MS,
    });
  }

  private entryIndex(text: string): number {
    const index = parse(natString, text, 'index');
    if (index >= this.sequencer.size) throw new CartularyError('not-found', `no entry at index ${index}`);
    return index;
  }

  /** A C2SP tlog-proof of one entry, to the checkpoint a proof cites (EvidenceBuilder.citable). */
  async tlogProof(indexText: string): Promise<Reply> {
    const index = this.entryIndex(indexText);
    const { note, size } = this.evidence.citable(index);
    const { leaf, proof } = await this.store.read((view) => {
      const leaf = view.leaf(index);
      if (!leaf) throw new CartularyError('corrupt', `leaf ${index} is missing`);
      return { leaf, proof: view.hashRanges(inclusionPlan(index, size)) };
    });
    return { status: 200, body: formatTlogProof({ extra: leaf, index, proof, checkpoint: note }), contentType: 'text/plain; charset=utf-8' };
  }

  /** A COSE Receipt (RFC9162_SHA256) of one entry, signed by the ledger key over the root of the cited tree. */
  async receipt(indexText: string): Promise<Reply> {
    const index = this.entryIndex(indexText);
    const { size } = this.evidence.citable(index);
    const { path, root } = await this.store.read((view) => ({ path: view.hashRanges(inclusionPlan(index, size)), root: rootHash(size, view.readNodes) }));
    const { signer, origin } = this.ledger;
    const body = signCoseReceipt({ size, index, path }, root, signer, keyId(origin, signer.publicKey));
    return { status: 200, body, contentType: 'application/cose' };
  }

  /** A tlog-tiles resource (`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`), from stored nodes and leaves. */
  async tile(path: string): Promise<Reply> {
    const body = await this.tiles.read(parseTilePath(path), this.sequencer.size);
    return { status: 200, body, contentType: 'application/octet-stream', headers: { 'cache-control': IMMUTABLE } };
  }

  health(): Reply {
    const failure = this.sequencer.failure;
    return {
      status: failure ? 503 : 200,
      body: { ok: !failure, size: this.sequencer.size, ...(failure ? { error: failure.message } : {}), ...(this.witnesses instanceof WitnessPublisher ? { witnesses: this.witnesses.status() } : {}) },
    };
  }

  /** Ready for traffic: open and taking writes (503 while draining for shutdown or after a storage failure). */
  /**
   * Ready while the head serves and the store answers a read within READY_STORE_MS: a
   * PostgreSQL store that hangs (a table locked by hand) cut every read route short with 503
   * while readiness said all was well, and a load balancer kept sending traffic.
   */
  async ready(): Promise<Reply> {
    const answered = this.sequencer.ready
      ? await Promise.race([
          this.store.latestCheckpoint().then(() => true, () => false),
          new Promise<false>((resolve) => setTimeout(() => resolve(false), READY_STORE_MS).unref()),
        ])
      : false;
    const ready = this.sequencer.ready && answered;
    return { status: ready ? 200 : 503, body: { ready, size: this.sequencer.size, ...(this.sequencer.ready && !answered ? { error: `the store did not answer within ${READY_STORE_MS} ms` } : {}) } };
  }

  async metricsText(): Promise<Reply> {
    if (!this.metrics) throw new CartularyError('not-found', 'this server keeps no metrics');
    const { text, contentType } = await this.metrics.exposition();
    return { status: 200, body: text, contentType };
  }
}
