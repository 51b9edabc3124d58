/**
 * The API's behaviour, one function per route, each returning {status, body}. Express is
 * only glue around these (app.ts), so they can be tested and read without a socket.
 */
import type { z } from 'zod';
import { fromBase64, fromHex, toHex } from '../core/bytes.js';
import { checkFrames } from '../core/check.js';
import { CartularyError } from '../core/errors.js';
import { decodeFrames, type FrameHash } from '../core/fingerprint.js';
import { consistencyPlan, hashRanges, inclusionPlan, rootHash } from '../core/merkle.js';
import { keyId } from '../core/checkpoint.js';
import { signCoseReceipt } from '../core/cose-receipt.js';
import { formatTlogProof } from '../core/tlog-proof.js';
import { zodRefusal } from '../core/statements.js';
import { EvidenceBuilder } from '../store/evidence.js';
import type { Ledger } from '../store/ledger.js';
import type { LedgerStorage } from '../store/storage.js';
import { batchBody, checkBody, consistencyQuery, hex64, inclusionQuery, natString, pageQuery, statementJsonBody, worksQuery } from './schemas.js';
import { toProblem } from './problem.js';
import { entryView, licenceView, licenceViews, workView } from './views.js';
import { parseTilePath } from '../core/tiles.js';
import { readTile } from '../store/tiles.js';
import type { WitnessPublisher } from '../witness/publisher.js';

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

  constructor(
    private readonly ledger: Ledger,
    private readonly clock: () => number = Date.now,
    /** the witness client, when the ledger runs with a witness policy */
    private readonly witnesses?: WitnessPublisher,
  ) {
    this.evidence = new EvidenceBuilder(ledger.store, ledger.sequencer, ledger.signer, ledger.origin, witnesses);
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
    });
  }

  /** Raw COSE bytes, or the JSON form {statement: base64}. */
  async submit(body: Uint8Array | unknown): Promise<Reply> {
    const bytes = body instanceof Uint8Array ? body : fromBase64(parse(statementJsonBody, body, 'body').statement, 'body.statement');
    const { receipt, repeat } = await this.sequencer.submit(bytes);
    return ok(receipt, repeat ? 200 : 201);
  }

  /**
   * Each statement is submitted alone, all at once: the sequencer groups them into as few
   * synced batches as it can, and a refusal (or an undecodable statement) takes only its
   * own place in the answer.
   */
  async submitBatch(body: unknown): Promise<Reply> {
    const { statements } = parse(batchBody, body, 'body');
    const results = await Promise.all(
      statements.map(async (text, i) => {
        try {
          const { receipt, repeat } = await this.sequencer.submit(fromBase64(text, `body.statements[${i}]`));
          return { ...receipt, status: repeat ? 200 : 201 };
        } catch (e) {
          return toProblem(e);
        }
      }),
    );
    return ok({ results });
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
    const { sha256, ...page } = parse(worksQuery, query, 'query');
    return ok((await this.store.registrationsOf(sha256, page)).flatMap((id) => this.store.work(id) ?? []));
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

  /** The entries about a work, a page at a time: `after` is the last index seen. */
  async workHistory(id: string, query: unknown): Promise<Reply> {
    const work = this.workRecord(id);
    const { after, limit } = parse(pageQuery, query, 'query');
    const history = await this.store.entriesOf(work.id, { limit, ...(after === undefined ? {} : { after }) });
    return ok({ work: work.id, entries: work.entries, history, next: history.length === limit ? (history.at(-1) as number) : null });
  }

  async workEvidence(id: string): Promise<Reply> {
    return ok(await this.evidence.forWork(this.workRecord(id).id));
  }

  entryEvidence(index: string): Reply {
    return ok(this.evidence.forEntry(parse(natString, index, 'index')));
  }

  async party(partyId: string): Promise<Reply> {
    const party = parse(hex64, partyId, 'party');
    const [works, licences] = await Promise.all([this.store.worksOwnedBy(party), this.store.licencesHeldBy(party)]);
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
    const byFrames = q.fingerprints ? checkFrames(this.store, this.queryFrames(q.fingerprints), { ...base, ...(q.use ? { use: q.use } : {}) }) : null;
    const decided = exact && exact.result.verdict !== 'unregistered' ? exact.result : null;
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
    });
  }

  private queryFrames(f: { frames: string; mirrored?: string | undefined }): Array<FrameHash & { mirrored?: Uint8Array }> {
    const decode = (b64: string, field: string) => {
      try {
        return decodeFrames(fromBase64(b64, field));
      } catch (e) {
        throw new CartularyError('malformed', `${field}: ${(e as Error).message}`, { field });
      }
    };
    const mirrored = new Map((f.mirrored ? decode(f.mirrored, 'body.fingerprints.mirrored') : []).map((m) => [m.timeMs, m.hash]));
    return decode(f.frames, 'body.fingerprints.frames').map((frame) => {
      const m = mirrored.get(frame.timeMs);
      return m ? { ...frame, mirrored: m } : frame;
    });
  }

  private entryIndex(text: string): number {
    const index = parse(natString, text, 'index');
    if (index >= this.sequencer.size) throw new CartularyError('not-found', `no entry at index ${index}`);
    return index;
  }

  /** A C2SP tlog-proof of one entry, to the checkpoint a proof cites (EvidenceBuilder.citable). */
  tlogProof(indexText: string): Reply {
    const index = this.entryIndex(indexText);
    const { note, size } = this.evidence.citable(index);
    const leaf = this.store.leaf(index);
    if (!leaf) throw new CartularyError('corrupt', `leaf ${index} is missing`);
    const proof = hashRanges(inclusionPlan(index, size), this.store.readNodes);
    return { status: 200, body: formatTlogProof({ extra: leaf, index, proof, checkpoint: note }), contentType: 'text/plain; charset=utf-8' };
  }

  /** A COSE Receipt (RFC9162_SHA256) of one entry, signed by the ledger key over the root of the cited tree. */
  receipt(indexText: string): Reply {
    const index = this.entryIndex(indexText);
    const { size } = this.evidence.citable(index);
    const path = hashRanges(inclusionPlan(index, size), this.store.readNodes);
    const { signer, origin } = this.ledger;
    const body = signCoseReceipt({ size, index, path }, rootHash(size, this.store.readNodes), signer, keyId(origin, signer.publicKey));
    return { status: 200, body, contentType: 'application/cose' };
  }

  /** A tlog-tiles resource (`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`), from stored nodes and leaves. */
  tile(path: string): Reply {
    const body = readTile(this.store, parseTilePath(path), this.sequencer.size);
    return { status: 200, body, contentType: 'application/octet-stream', headers: { 'cache-control': IMMUTABLE } };
  }

  health(): Reply {
    const failure = this.sequencer.failure;
    return {
      status: failure ? 503 : 200,
      body: { ok: !failure, size: this.sequencer.size, ...(this.witnesses ? { witnesses: this.witnesses.status() } : {}) },
    };
  }
}
