/**
 * The API's behaviour, one function per route, each returning {status, body}. Express is
 * only glue around these (app.ts), so they can be tested and read without a socket.
 */
import type { z } from 'zod';
import { fromBase64, fromHex, toHex } from '../core/bytes.js';
import { checkFrames } from '../core/check.js';
import { CartularyError } from '../core/errors.js';
import { decodeFrames, FRAME_RECORD_BYTES } from '../core/fingerprint.js';
import { CURRENT_MATCHING, type FrameHit } from '../core/similarity.js';
import { searchInSlices } from '../store/sliced-search.js';
import { consistencyPlan, hashRanges, inclusionPlan } from '../core/merkle.js';
import { zodRefusal } from '../core/statements.js';
import { EvidenceBuilder } from '../store/evidence.js';
import type { Ledger } from '../store/ledger.js';
import { checkBody, consistencyQuery, hex64, inclusionQuery, natString, pageQuery, statementJsonBody, worksQuery } from './schemas.js';
import { entryView, licenceView, licenceViews, workView } from './views.js';
import { PREFIX } from '../store/layout.js';

/** The longest a check's fingerprint search holds the event loop at a time, ms. */
const SLICE_MS = 8;
/** Candidates one query hash may examine: far above an honest bucket's load, a bound on a stuffed one. */
const SCAN_BUDGET = 20_000;

export interface Reply {
  status: number;
  body: unknown;
  /** default application/json */
  contentType?: string;
}

const ok = (body: unknown, status = 200): Reply => ({ status, body });

function parse<S extends z.ZodType>(schema: S, input: unknown, where: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw zodRefusal(result.error, where);
  return result.data;
}

export class Handlers {
  private readonly evidence: EvidenceBuilder;

  constructor(
    private readonly ledger: Ledger,
    private readonly clock: () => number = Date.now,
  ) {
    this.evidence = new EvidenceBuilder(ledger.store, ledger.sequencer, ledger.signer, ledger.origin);
  }

  private get store() {
    return this.ledger.store;
  }
  private get sequencer() {
    return this.ledger.sequencer;
  }

  checkpoint(): Reply {
    return { status: 200, body: this.sequencer.checkpoint, contentType: 'text/plain; charset=utf-8' };
  }

  log(): Reply {
    return ok({
      origin: this.ledger.origin,
      verifierKey: this.sequencer.verifierKey,
      size: this.sequencer.size,
      rootHash: toHex(this.sequencer.rootHash),
      checkpoint: this.sequencer.checkpoint,
    });
  }

  /** Raw COSE bytes, or the JSON form {statement: base64}. */
  async submit(body: Uint8Array | unknown): Promise<Reply> {
    const bytes = body instanceof Uint8Array ? body : fromBase64(parse(statementJsonBody, body, 'body').statement, 'body.statement');
    const { receipt, repeat } = await this.sequencer.submit(bytes);
    return ok(receipt, repeat ? 200 : 201);
  }

  entry(index: string): Reply {
    return ok(entryView(this.store, parse(natString, index, 'index')));
  }

  statement(id: string): Reply {
    const index = this.store.indexOf(fromHex(parse(hex64, id, 'id'), 'id', 32));
    if (index === undefined) throw new CartularyError('not-found', `no statement with id ${id}`);
    return ok(entryView(this.store, index));
  }

  private checkSize(size: number, field: string): void {
    if (size > this.sequencer.size) {
      throw new CartularyError('not-found', `${field} ${size} is beyond the tree's size ${this.sequencer.size}`, { field });
    }
  }

  inclusion(query: unknown): Reply {
    const { index, size } = parse(inclusionQuery, query, 'query');
    this.checkSize(size, 'size');
    if (index >= size) throw new CartularyError('invalid', `index ${index} must be less than size ${size}`, { field: 'index' });
    return ok({ index, size, hashes: hashRanges(inclusionPlan(index, size), this.store.readNodes).map(toHex) });
  }

  consistency(query: unknown): Reply {
    const { from, to } = parse(consistencyQuery, query, 'query');
    this.checkSize(to, 'to');
    if (from > to) throw new CartularyError('invalid', `from ${from} must not be greater than to ${to}`, { field: 'from' });
    return ok({ from, to, hashes: hashRanges(consistencyPlan(from, to), this.store.readNodes).map(toHex) });
  }

  async works(query: unknown): Promise<Reply> {
    const { sha256 } = parse(worksQuery, query, 'query');
    const now = this.clock();
    const works = this.store.worksBySha(sha256).flatMap((id) => this.store.work(id) ?? []);
    return ok(await Promise.all(works.map((w) => workView(this.store, w, now))));
  }

  private workRecord(id: string) {
    const work = this.store.work(parse(hex64, id, 'work'));
    if (!work) throw new CartularyError('not-found', `work ${id} is not in the ledger`);
    return work;
  }

  async work(id: string): Promise<Reply> {
    return ok(await workView(this.store, this.workRecord(id), this.clock()));
  }

  /** A work's licences in grant order, a page at a time: `after` is the ledger index of the last one seen. */
  async workLicences(id: string, query: unknown): Promise<Reply> {
    const work = this.workRecord(id);
    const { after, limit } = parse(pageQuery, query, 'query');
    const licences = licenceViews(this.store, await this.store.licencesOf(work.id, { limit, ...(after === undefined ? {} : { after }) }), this.clock());
    const last = licences.at(-1);
    return ok({ work: work.id, licenceCount: work.licenceCount, licences, next: licences.length === limit && last ? last.index : null });
  }

  async workEvidence(id: string): Promise<Reply> {
    return ok(await this.evidence.forWork(this.workRecord(id).id));
  }

  entryEvidence(index: string): Reply {
    return ok(this.evidence.forEntry(parse(natString, index, 'index')));
  }

  async party(partyId: string): Promise<Reply> {
    const party = parse(hex64, partyId, 'party');
    const [works, licences] = await Promise.all([this.store.members(PREFIX.owned, party), this.store.members(PREFIX.held, party)]);
    const profile = this.store.party(party);
    if (!profile && works.length === 0 && licences.length === 0) {
      throw new CartularyError('not-found', `party ${party} has no profile, works or licences in the ledger`);
    }
    return ok({ party, profile: profile ? { name: profile.name, url: profile.url, index: profile.index, updatedAt: profile.updatedAt } : null, works, licences });
  }

  async check(body: unknown): Promise<Reply> {
    const q = parse(checkBody, body, 'body');
    const now = this.clock();
    const base = { uploader: q.uploader, territory: q.territory, at: q.at ?? now };
    // An exact copy of a whole work is a re-upload: `publish` unless another use is asked about.
    const exact = q.sha256 ? await this.evidence.forCheck({ ...base, sha256: q.sha256, use: q.use ?? 'publish' }) : null;
    const byFrames = q.fingerprints ? checkFrames(this.store, await this.frameHits(q.fingerprints), { ...base, ...(q.use ? { use: q.use } : {}) }) : null;
    const decided = exact && exact.result.verdict !== 'unregistered' ? exact.result : null;
    const text = [q.title, q.description].filter((t) => t !== undefined).join('\n');
    const named = text ? this.store.titles.find(text) : { matches: [], use: null };
    const byFingerprint = new Set((byFrames?.matches ?? []).filter((m) => m.strength === 'match').map((m) => m.work.id));
    return ok({
      verdict: decided?.verdict ?? byFrames?.verdict ?? 'unregistered',
      works: await Promise.all((decided?.works ?? []).map((w) => workView(this.store, w, now))),
      licence: decided?.licence ? licenceView(this.store, decided.licence, now) : null,
      reasons: decided?.reasons ?? [],
      evidence: decided ? exact?.bundle ?? null : null,
      matches: await Promise.all(
        (byFrames?.matches ?? []).map(async (m) => ({
          work: await workView(this.store, m.work, now),
          segments: m.segments,
          strength: m.strength,
          use: m.use,
          verdict: m.verdict,
          licence: m.licence ? licenceView(this.store, m.licence, now) : null,
          reasons: m.reasons,
          evidence: await this.evidence.forWork(m.work.id),
        })),
      ),
      titles: await Promise.all(
        named.matches.flatMap((t) => {
          const work = this.store.work(t.work);
          return work ? [workView(this.store, work, now).then((view) => ({ work: view, title: t.title, via: t.via, strength: 'review' as const, fingerprintAgrees: byFingerprint.has(t.work) }))] : [];
        }),
      ),
      textUse: named.use,
    });
  }

  /**
   * The search of a check, in slices of at most SLICE_MS on the event loop, so no upload,
   * however long or hostile, holds up other requests (issue 10.2). Frames are decoded slice
   * by slice too; each query hash examines at most SCAN_BUDGET candidates, and the hits are
   * capped as they accumulate.
   */
  private async frameHits(f: { frames: string; mirrored?: string | undefined }): Promise<FrameHit[]> {
    const bytes = (b64: string, field: string) => {
      const out = fromBase64(b64, field);
      if (out.length % FRAME_RECORD_BYTES !== 0) throw new CartularyError('malformed', `${field}: fingerprint frames must be a multiple of ${FRAME_RECORD_BYTES} bytes`, { field });
      return out;
    };
    const frames = bytes(f.frames, 'body.fingerprints.frames');
    const mirrored = f.mirrored ? bytes(f.mirrored, 'body.fingerprints.mirrored') : new Uint8Array(0);
    // time → the mirrored record at that time, read without decoding the hashes
    const mirrorAt = new Map<number, number>();
    const times = new DataView(mirrored.buffer, mirrored.byteOffset, mirrored.byteLength);
    for (let at = 0; at < mirrored.length; at += FRAME_RECORD_BYTES) mirrorAt.set(times.getUint32(at), at);
    return searchInSlices(this.store.similarity, {
      count: frames.length / FRAME_RECORD_BYTES,
      frames: (from, n) =>
        decodeFrames(frames.subarray(from * FRAME_RECORD_BYTES, (from + n) * FRAME_RECORD_BYTES)).map((frame) => {
          const m = mirrorAt.get(frame.timeMs);
          return m === undefined ? frame : { ...frame, mirrored: mirrored.slice(m + 4, m + FRAME_RECORD_BYTES) };
        }),
      rules: CURRENT_MATCHING,
      budget: SCAN_BUDGET,
      sliceMs: SLICE_MS,
    });
  }

  health(): Reply {
    const failure = this.sequencer.failure;
    return { status: failure ? 503 : 200, body: { ok: !failure, size: this.sequencer.size } };
  }
}
