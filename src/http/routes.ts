/**
 * The route table (DESIGN §7): the Express app registers these, and the OpenAPI document
 * is generated from the same entries, so the two cannot drift apart.
 */
import type { z } from 'zod';
import type { Handlers, Reply } from './handlers.js';
import * as s from './schemas.js';

export interface RouteInput {
  params: Record<string, string>;
  query: unknown;
  body: unknown;
}

export interface Route {
  method: 'get' | 'post';
  path: string;
  /** stable name of the operation in the OpenAPI document */
  operationId: string;
  summary: string;
  /** what the body may be; GET routes take none */
  body?: { json?: z.ZodType; cose?: boolean; jsonLimit?: number };
  query?: z.ZodObject;
  params?: Record<string, string>;
  /** the success response: a schema, text, or bytes */
  response: z.core.$ZodType | 'text' | 'binary';
  /** for bytes: their media type (default application/octet-stream) */
  mediaType?: string;
  /** the statuses answered with `response`, and what each means (default: 200 success) */
  statuses?: Record<number, string>;
  /** the statuses answered with problem+json */
  errors: number[];
  /** rate-limited per client: as a submission, a batch of up to MAX_BATCH_STATEMENTS, a pre-publish check, or a work's evidence (its whole chain) */
  limit?: 'write' | 'batch' | 'check' | 'evidence';
  /**
   * answered from the head of the log alone (its checkpoint, size, health): still served by
   * a read-only node that refused its store, which answers 503 to every other route
   */
  fromHead?: true;
  run(h: Handlers, input: RouteInput): Reply | Promise<Reply>;
}

export const ROUTES: Route[] = [
  {
    method: 'get', operationId: 'getCheckpoint', fromHead: true, path: '/checkpoint', summary: 'The latest signed checkpoint (C2SP signed note).',
    response: 'text', errors: [], run: (h) => h.checkpoint(),
  },
  {
    method: 'get', operationId: 'getLog', fromHead: true, path: '/v1/log', summary: 'Origin, verifier key, size, root hash and latest checkpoint.',
    response: s.logSchema, errors: [], run: (h) => h.log(),
  },
  {
    method: 'post', operationId: 'submitStatement', path: '/v1/statements', summary: 'Submit a signed statement; 201 with its receipt once durable, 200 with the first receipt for a repeat.',
    body: { cose: true, json: s.statementJsonBody }, response: s.receiptSchema, statuses: { 201: 'appended: the receipt, once the entry is durable', 200: 'a repeat of a statement already in the ledger: its first receipt; nothing changed' },
    errors: [400, 401, 403, 404, 409, 413, 415, 429, 503], limit: 'write',
    run: (h, i) => h.submit(i.body),
  },
  {
    method: 'post', operationId: 'submitStatements', path: '/v1/statements/batch', summary: 'Submit up to 1,000 signed statements, each judged alone; answers once every accepted one is durable.',
    body: { json: s.batchBody, jsonLimit: s.MAX_BATCH_BODY }, response: s.batchResultSchema, errors: [400, 413, 415, 429, 503], limit: 'batch',
    run: (h, i) => h.submitBatch(i.body),
  },
  {
    method: 'get', operationId: 'getEntry', path: '/v1/entries/:index', summary: 'One entry of the log by index.', params: { index: 'entry index' },
    response: s.entrySchema, errors: [400, 404, 503], run: (h, i) => h.entry(i.params.index as string),
  },
  {
    method: 'get', operationId: 'getEntryEvidence', path: '/v1/entries/:index/evidence', summary: 'Evidence bundle for one entry (prior existence).', params: { index: 'entry index' },
    response: s.bundleSchema, errors: [400, 404, 503], run: (h, i) => h.entryEvidence(i.params.index as string),
  },
  {
    method: 'get', operationId: 'getTlogProof', path: '/v1/entries/:index/tlog-proof', summary: 'C2SP tlog-proof of one entry (the leaf in `extra`), to the latest quorum-cosigned checkpoint that covers it.',
    params: { index: 'entry index' }, response: 'text', errors: [400, 404, 503], run: (h, i) => h.tlogProof(i.params.index as string),
  },
  {
    method: 'get', operationId: 'getReceipt', path: '/v1/entries/:index/receipt', summary: 'COSE Receipt (RFC 9942, RFC9162_SHA256) of one entry, signed by the ledger key; detached payload: the tree root.',
    params: { index: 'entry index' }, response: 'binary', mediaType: 'application/cose', errors: [400, 404, 503], run: (h, i) => h.receipt(i.params.index as string),
  },
  {
    method: 'get', operationId: 'getStatement', path: '/v1/statements/:id', summary: 'One entry by statement id (SHA-256 of the statement bytes).', params: { id: 'statement id, hex' },
    response: s.entrySchema, errors: [400, 404, 503], run: (h, i) => h.statement(i.params.id as string),
  },
  {
    method: 'get', operationId: 'getInclusionProof', path: '/v1/proofs/inclusion', summary: 'RFC 6962 inclusion proof of entry `index` in the tree of `size`.',
    query: s.inclusionQuery, response: s.proofSchema, errors: [400, 404, 503], run: (h, i) => h.inclusion(i.query),
  },
  {
    method: 'get', operationId: 'getConsistencyProof', path: '/v1/proofs/consistency', summary: 'RFC 6962 consistency proof from tree size `from` to `to`.',
    query: s.consistencyQuery, response: s.consistencySchema, errors: [400, 404, 503], run: (h, i) => h.consistency(i.query),
  },
  {
    method: 'get', operationId: 'findWorks', path: '/v1/works', summary: 'Registrations of the content with this SHA-256, earliest first, paged (`after`: a registration index).',
    query: s.worksQuery, response: s.workSummarySchema.array(), errors: [400, 503], run: (h, i) => h.works(i.query),
  },
  {
    method: 'get', operationId: 'getWork', path: '/v1/works/:id', summary: "A work: owner, status, licences and history.", params: { id: 'work id, hex' },
    response: s.workSchema, errors: [400, 404, 503], run: (h, i) => h.work(i.params.id as string),
  },
  {
    method: 'get', operationId: 'getWorkLicences', path: '/v1/works/:id/licences', summary: "A work's licences in grant order, paged.", params: { id: 'work id, hex' },
    query: s.pageQuery, response: s.licencePageSchema, errors: [400, 404, 503], run: (h, i) => h.workLicences(i.params.id as string, i.query),
  },
  {
    method: 'get', operationId: 'getWorkHistory', path: '/v1/works/:id/history', summary: 'The indices of the entries about a work, in order, paged.', params: { id: 'work id, hex' },
    query: s.pageQuery, response: s.historyPageSchema, errors: [400, 404, 503], run: (h, i) => h.workHistory(i.params.id as string, i.query),
  },
  {
    method: 'get', operationId: 'listWorkSightings', path: '/v1/works/:id/sightings', summary: "Platforms' sightings of a work, newest first, paged (`before`: the index of the last one seen).", params: { id: 'work id, hex' },
    query: s.newestFirstQuery, response: s.sightingPageSchema, errors: [400, 404, 503], run: (h, i) => h.workSightings(i.params.id as string, i.query),
  },
  {
    method: 'get', operationId: 'getWorkEvidence', path: '/v1/works/:id/evidence', summary: "Evidence bundle for the work's whole chain of title.", params: { id: 'work id, hex' },
    response: s.bundleSchema, errors: [400, 404, 429, 503], limit: 'evidence', run: (h, i) => h.workEvidence(i.params.id as string),
  },
  {
    method: 'get', operationId: 'getParty', path: '/v1/parties/:party', summary: 'A party: its profile, works owned and licences held.', params: { party: 'public key, hex' },
    response: s.partySchema, errors: [400, 404, 503], run: (h, i) => h.party(i.params.party as string),
  },
  {
    method: 'post', operationId: 'check', path: '/v1/check', summary: 'Pre-publish check: may this uploader use this content this way, here, now?',
    body: { json: s.checkBody, jsonLimit: 1280 * 1024 }, response: s.checkResultSchema, errors: [400, 413, 415, 429, 503], limit: 'check',
    run: (h, i) => h.check(i.body),
  },
  {
    method: 'get', operationId: 'getTile', path: '/tile/*path', summary: 'C2SP tlog-tiles: a hash tile `<L>/<N>[.p/<W>]` or an entry bundle `entries/<N>[.p/<W>]`, immutable.',
    params: { path: 'tile path after /tile/' }, response: 'binary', errors: [400, 404, 503],
    run: (h, i) => h.tile(i.params.path as string),
  },
  {
    method: 'get', operationId: 'getHealth', fromHead: true, path: '/healthz', summary: 'Liveness and tree size (503 once the ledger stopped taking writes).',
    response: s.healthSchema, statuses: { 200: 'alive', 503: 'alive, but the ledger stopped taking writes after a storage failure, or a read-only node refused a checkpoint (it serves the last good one)' }, errors: [], run: (h) => h.health(),
  },
  {
    method: 'get', operationId: 'getReady', fromHead: true, path: '/readyz', summary: 'Readiness: 200 while the ledger takes writes (on a read-only node: while it follows the writer); 503 while it drains for shutdown, after a storage failure, or after a refused checkpoint.',
    response: s.readySchema, statuses: { 200: 'ready', 503: 'not ready: draining, stopped, or its store did not answer a read within 2 s' }, errors: [], run: (h) => h.ready(),
  },
  {
    method: 'get', operationId: 'getMetrics', fromHead: true, path: '/metrics', summary: 'Prometheus metrics (text exposition format): append latency, batch sizes, tree size, check verdicts, process.',
    response: 'text', errors: [], run: (h) => h.metricsText(),
  },
];
