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
  summary: string;
  /** what the body may be; GET routes take none */
  body?: { json?: z.ZodType; cose?: boolean; jsonLimit?: number };
  query?: z.ZodObject;
  params?: Record<string, string>;
  /** the success response: a schema, or text */
  response: z.ZodType | 'text';
  /** statuses this route answers besides 200 / 201 (every one as problem+json) */
  errors: number[];
  /** rate-limited per client: as a submission (`write`) or as a pre-publish check (`check`) */
  limit?: 'write' | 'check';
  run(h: Handlers, input: RouteInput): Reply | Promise<Reply>;
}

export const ROUTES: Route[] = [
  {
    method: 'get', path: '/checkpoint', summary: 'The latest signed checkpoint (C2SP signed note).',
    response: 'text', errors: [404], run: (h) => h.checkpoint(),
  },
  {
    method: 'get', path: '/v1/log', summary: 'Origin, verifier key, size, root hash and latest checkpoint.',
    response: s.logSchema, errors: [], run: (h) => h.log(),
  },
  {
    method: 'post', path: '/v1/statements', summary: 'Submit a signed statement; 201 with its receipt once durable, 200 with the first receipt for a repeat.',
    body: { cose: true, json: s.statementJsonBody }, response: s.receiptSchema, errors: [400, 401, 403, 404, 409, 413, 415, 429, 503], limit: 'write',
    run: (h, i) => h.submit(i.body),
  },
  {
    method: 'get', path: '/v1/entries/:index', summary: 'One entry of the log by index.', params: { index: 'entry index' },
    response: s.entrySchema, errors: [400, 404], run: (h, i) => h.entry(i.params.index as string),
  },
  {
    method: 'get', path: '/v1/entries/:index/evidence', summary: 'Evidence bundle for one entry (prior existence).', params: { index: 'entry index' },
    response: s.bundleSchema, errors: [400, 404], run: (h, i) => h.entryEvidence(i.params.index as string),
  },
  {
    method: 'get', path: '/v1/statements/:id', summary: 'One entry by statement id (SHA-256 of the statement bytes).', params: { id: 'statement id, hex' },
    response: s.entrySchema, errors: [400, 404], run: (h, i) => h.statement(i.params.id as string),
  },
  {
    method: 'get', path: '/v1/proofs/inclusion', summary: 'RFC 6962 inclusion proof of entry `index` in the tree of `size`.',
    query: s.inclusionQuery, response: s.proofSchema, errors: [400, 404], run: (h, i) => h.inclusion(i.query),
  },
  {
    method: 'get', path: '/v1/proofs/consistency', summary: 'RFC 6962 consistency proof from tree size `from` to `to`.',
    query: s.consistencyQuery, response: s.consistencySchema, errors: [400, 404], run: (h, i) => h.consistency(i.query),
  },
  {
    method: 'get', path: '/v1/works', summary: 'Registrations of the content with this SHA-256, earliest first.',
    query: s.worksQuery, response: s.workSchema.array(), errors: [400], run: (h, i) => h.works(i.query),
  },
  {
    method: 'get', path: '/v1/works/:id', summary: "A work: owner, status, licences and history.", params: { id: 'work id, hex' },
    response: s.workSchema, errors: [400, 404], run: (h, i) => h.work(i.params.id as string),
  },
  {
    method: 'get', path: '/v1/works/:id/licences', summary: "A work's licences in grant order, paged.", params: { id: 'work id, hex' },
    query: s.pageQuery, response: s.licencePageSchema, errors: [400, 404], run: (h, i) => h.workLicences(i.params.id as string, i.query),
  },
  {
    method: 'get', path: '/v1/works/:id/evidence', summary: "Evidence bundle for the work's whole chain of title.", params: { id: 'work id, hex' },
    response: s.bundleSchema, errors: [400, 404], run: (h, i) => h.workEvidence(i.params.id as string),
  },
  {
    method: 'get', path: '/v1/parties/:party', summary: 'A party: its profile, works owned and licences held.', params: { party: 'public key, hex' },
    response: s.partySchema, errors: [400, 404], run: (h, i) => h.party(i.params.party as string),
  },
  {
    method: 'post', path: '/v1/check', summary: 'Pre-publish check: may this uploader use this content this way, here, now?',
    body: { json: s.checkBody, jsonLimit: 1024 * 1024 }, response: s.checkResultSchema, errors: [400, 413, 415, 429], limit: 'check',
    run: (h, i) => h.check(i.body),
  },
  {
    method: 'get', path: '/healthz', summary: 'Liveness and tree size (503 once the ledger stopped taking writes).',
    response: s.healthSchema, errors: [503], run: (h) => h.health(),
  },
];
