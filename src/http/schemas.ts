/**
 * The HTTP API's request and response shapes as zod schemas: requests are validated with
 * them, and the OpenAPI document is generated from the same schemas.
 */
import { z } from 'zod';
import { MAX_STATEMENT_BYTES } from '../core/cose.js';
import { FINGERPRINT_KIND, PATCH_KIND } from '../core/fingerprint.js';
import { MAX_CHECK_SOUND, SOUND_KIND } from '../core/soundtrack.js';
import { USES } from '../core/statements.js';
import { ISO_3166_ALPHA2, WORLD } from '../core/territories.js';
import { bundleSchema } from '../verify/bundle.js';

export const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
const hexList = z.array(hex64);
/** A natural number from a path or query string: digits only, never coerced from anything else. */
export const natString = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,14})$/, 'must be a natural number')
  .transform(Number);

export const statementJsonBody = z.strictObject({ statement: z.string().min(1).max(32 * 1024).describe('COSE_Sign1 bytes, base64') });

/** The most statements one batch may carry (DESIGN §7). */
export const MAX_BATCH_STATEMENTS = 1000;
/** The longest a statement can be in base64: a longer item cannot be one, and counts against the body's limit. */
export const MAX_STATEMENT_BASE64 = Math.ceil(MAX_STATEMENT_BYTES / 3) * 4;
/** A batch's body at its largest: every item as long as a statement can be, quoted, and the object around them. */
export const MAX_BATCH_BODY = MAX_BATCH_STATEMENTS * (MAX_STATEMENT_BASE64 + 3) + 64;
export const batchBody = z.strictObject({
  statements: z.array(z.string().min(1).max(MAX_STATEMENT_BASE64)).min(1).max(MAX_BATCH_STATEMENTS).describe('COSE_Sign1 statements, base64, each judged alone'),
});
export const inclusionQuery = z.strictObject({ index: natString, size: natString });
export const consistencyQuery = z.strictObject({ from: natString, to: natString });
const page = {
  after: natString.optional().describe('the ledger index of the last item already seen'),
  limit: natString.pipe(z.number().int().min(1).max(1000)).optional().default(100),
};
export const pageQuery = z.strictObject(page);
/** Newest first: `before` is the ledger index of the last item already seen. */
export const newestFirstQuery = z.strictObject({ before: page.after.describe('the ledger index of the last item already seen'), limit: page.limit });
export const worksQuery = z.strictObject({ sha256: hex64, ...page });

const base64 = (max: number) => z.string().max(max).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

export const checkBody = z
  .strictObject({
    sha256: hex64.optional().describe("the upload's SHA-256, for an exact match"),
    fingerprints: z
      .strictObject({
        kind: z.literal(FINGERPRINT_KIND),
        frames: base64(400_000).describe('20-byte records [u32 ms ‖ pHash ‖ dHash], sampled at 4 fps'),
        mirrored: base64(400_000).optional().describe('the same frames hashed mirrored'),
        patches: base64(96_000).optional().describe(`${PATCH_KIND} records [u32 ms ‖ pHash ‖ dHash], patches around the strongest blobs of the frames at whole seconds, compared only with registered patches`),
      })
      .optional(),
    sound: z
      .strictObject({
        kind: z.literal(SOUND_KIND),
        values: base64(Math.ceil((4 * MAX_CHECK_SOUND) / 3) * 4).describe(`every Chromaprint sub-fingerprint of the upload's soundtrack (fpcalc -raw), big-endian u32s, at most ${MAX_CHECK_SOUND.toLocaleString('en')} (15 minutes)`),
      })
      .optional()
      .describe("the upload's soundtrack fingerprint, matched against every registered soundtrack"),
    title: z.string().max(1000).optional().describe("the upload's title, matched against every work's title and aliases"),
    description: z.string().max(5000).optional().describe("the upload's description, matched likewise"),
    uploader: hex64,
    use: z.enum(USES).optional().describe('required for a sha256-only check; with fingerprints, the default is the use the match implies'),
    territory: z.string().refine((t) => t === WORLD || ISO_3166_ALPHA2.has(t), 'must be an ISO 3166-1 alpha-2 code or "*"'),
    at: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional().describe('ms since the epoch; default now'),
    report: z.string().min(1).max(512).optional().describe("the platform's own reference for the upload (post id or URL): a negative verdict comes with a ready-to-sign sighting"),
  })
  .refine((b) => b.sha256 !== undefined || b.fingerprints !== undefined || b.sound !== undefined || b.title !== undefined || b.description !== undefined, { message: 'give sha256, fingerprints, sound, a title or a description', path: ['sha256'] })
  .refine((b) => b.use !== undefined || b.fingerprints !== undefined || b.sound !== undefined || b.sha256 === undefined, { message: 'use is required for a sha256-only check', path: ['use'] });

export const receiptSchema = z
  .object({
    id: hex64,
    index: z.number().int(),
    leafHash: hex64,
    time: z.number().int(),
    checkpoint: z.string(),
    inclusionProof: z.object({ index: z.number().int(), size: z.number().int(), hashes: hexList }),
  })
  .meta({ id: 'Receipt' });

export const logSchema = z
  .object({ origin: z.string(), verifierKey: z.string(), size: z.number().int(), rootHash: hex64, checkpoint: z.string().nullable(), registrar: hex64.describe('the party that accredits mediators') })
  .meta({ id: 'Log' });

export const entrySchema = z
  .object({
    index: z.number().int(),
    id: hex64,
    time: z.number().int(),
    leaf: z.string().describe('the leaf bytes, base64'),
    leafHash: hex64,
    workPrev: z.number().int().nullable(),
    signer: hex64,
    type: z.enum(['register', 'transfer', 'license', 'revoke', 'party', 'claim', 'sighting', 'accredit', 'resolve']),
    payload: z.record(z.string(), z.unknown()).describe('the payload, byte strings as hex'),
  })
  .meta({ id: 'Entry' });

export const proofSchema = z.object({ index: z.number().int(), size: z.number().int(), hashes: hexList }).meta({ id: 'InclusionProof' });
export const consistencySchema = z.object({ from: z.number().int(), to: z.number().int(), hashes: hexList }).meta({ id: 'ConsistencyProof' });

export const licenceSchema = z
  .object({
    id: hex64,
    work: hex64,
    grantor: hex64,
    licensee: hex64,
    uses: z.array(z.enum(USES)),
    territories: z.array(z.string()),
    validFrom: z.number().int(),
    validUntil: z.number().int().nullable(),
    exclusive: z.boolean(),
    sublicensable: z.boolean(),
    parent: hex64.nullable(),
    terms: z.string().nullable(),
    index: z.number().int(),
    grantedAt: z.number().int(),
    revokedAt: z.number().int().nullable(),
    revokedIndex: z.number().int().nullable(),
    standing: z.enum(['standing', 'revoked', 'superseded', 'parent-ended', 'not-yet-valid', 'expired']).describe('at the time of the request'),
  })
  .meta({ id: 'Licence' });

export const workSchema = z
  .object({
    id: hex64,
    sha256: hex64,
    title: z.string(),
    mediaType: z.string(),
    size: z.number().int(),
    owner: hex64,
    registrant: hex64,
    registeredAt: z.number().int(),
    owners: z.array(z.object({ party: hex64, from: z.number().int() })).describe('who held title from when (ledger ms), oldest first'),
    registeredIndex: z.number().int(),
    status: z.enum(['registered', 'contested', 'superseded']).describe("as it stands now: a mediator's award settles a contest for its winner and supersedes the other registrations"),
    award: z
      .object({ work: hex64, decision: z.enum(['award', 'dismiss']), index: z.number().int(), since: z.number().int(), reopened: z.number().int().nullable() })
      .nullable()
      .describe("the mediator's decision that ended the content's contest, if any"),
    sightings: z.number().int().describe('sightings of the work recorded by platforms (GET /v1/works/{id}/sightings)'),
    contest: z.object({ by: hex64, since: z.number().int() }).nullable().describe('the first registration by another party that contested this one, and from when'),
    contestedBy: hexList.describe('the other registrations of the same content (GET /v1/works?sha256= pages through all), then lookalike rivals; the first 100'),
    lookalikes: hexList.describe('earlier works of other parties whose frames this registration matched'),
    licenceCount: z.number().int().describe('licences granted on the work in all'),
    licences: z.array(licenceSchema).describe('the first 100; GET /v1/works/{id}/licences pages through all'),
    entries: z.number().int().describe('entries about the work in all'),
    head: z.number().int().describe('index of the latest entry about the work'),
    history: z.array(z.number().int()).describe('indices of the first 100 entries about the work, in order; GET /v1/works/{id}/history pages through all'),
  })
  .meta({ id: 'Work' });

/** A work as listed among the registrations of its content: the record, without its inline lists. */
export const workSummarySchema = workSchema.omit({ contestedBy: true, licences: true, history: true }).meta({ id: 'WorkSummary' });

export const historyPageSchema = z
  .object({ work: hex64, entries: z.number().int(), history: z.array(z.number().int()), next: z.number().int().nullable().describe('pass as `after` for the next page; null at the end') })
  .meta({ id: 'HistoryPage' });

export const licencePageSchema = z
  .object({ work: hex64, licenceCount: z.number().int(), licences: z.array(licenceSchema), next: z.number().int().nullable().describe('pass as `after` for the next page; null at the end') })
  .meta({ id: 'LicencePage' });

export const sightingPageSchema = z
  .object({
    work: hex64,
    count: z.number().int(),
    sightings: z.array(entrySchema.extend({ platform: z.string().nullable().describe("the signer's profile name") })),
    next: z.number().int().nullable().describe('pass as `before` for the next (older) page; null at the end'),
  })
  .meta({ id: 'SightingPage' });

export const partySchema = z
  .object({
    party: hex64,
    profile: z.object({ name: z.string(), url: z.string().nullable(), index: z.number().int(), updatedAt: z.number().int() }).nullable(),
    accreditation: z.object({ index: z.number().int(), from: z.number().int(), until: z.number().int().nullable() }).nullable().describe("the registrar's latest accreditation of the party as a mediator"),
    works: hexList.describe('works owned (first 1000)'),
    licences: hexList.describe('licences held (first 1000)'),
  })
  .meta({ id: 'Party' });

export const checkResultSchema = z
  .object({
    verdict: z.enum(['unregistered', 'owner', 'licensed', 'unlicensed', 'contested']),
    protected: z
      .array(z.object({ work: hex64, title: z.string(), until: z.number().int() }))
      .describe("works under their owner's protection window that this check found by any evidence (exact, fingerprints at any strength, title): the verdict is then unlicensed for anyone neither owner nor licensee"),
    works: z.array(workSchema),
    licence: licenceSchema.nullable(),
    reasons: z.array(z.object({ licence: hex64.nullable(), reason: z.string() })),
    evidence: z.nullable(bundleSchema),
    sighting: z
      .nullable(z.object({ payload: z.record(z.string(), z.unknown()).describe('JSON view, byte strings as hex'), cbor: z.string().describe('the payload as deterministic CBOR, base64: sign it as it is') }))
      .describe('with `report` and a negative verdict: a sighting for the platform to sign with its own key and submit'),
    matches: z
      .array(
        z.object({
          work: workSchema,
          segments: z.array(
            z.object({
              upload: z.tuple([z.number(), z.number()]),
              work: z.tuple([z.number(), z.number()]),
              speed: z.number().describe('work time per upload time (1.25: sped up by a quarter)'),
              frames: z.number().int(),
              distance: z.number(),
              strength: z.enum(['match', 'review']),
              by: z.enum(['frames', 'patches']).describe("what of the picture found it: the upload's frames (whole, regions, inner pictures) or its keypoint patches (a crop anywhere in the frame)"),
            }),
          ),
          sound: z
            .array(z.object({ upload: z.tuple([z.number(), z.number()]), work: z.tuple([z.number(), z.number()]), ber: z.number().describe('bit error rate of the aligned sub-fingerprints: 0 identical, ~0.45 unrelated'), values: z.number().int(), strength: z.enum(['match', 'review']) }))
            .describe("stretches of the work's soundtrack the upload's sound matched"),
          strength: z.enum(['match', 'review']),
          use: z.string(),
          verdict: z.enum(['owner', 'licensed', 'unlicensed', 'contested', 'unregistered']),
          licence: licenceSchema.nullable(),
          reasons: z.array(z.object({ licence: hex64.nullable(), reason: z.string() })),
          evidence: bundleSchema,
        }),
      )
      .describe('near-duplicate matches by fingerprint, strongest first'),
    titles: z
      .array(
        z.object({
          work: workSchema,
          title: z.string().describe('the registered title or alias found'),
          via: z.enum(['brackets', 'text']),
          strength: z.literal('review'),
          fingerprintAgrees: z.boolean().describe('a fingerprint match found the same work'),
        }),
      )
      .describe("works the upload's title and description name: weak evidence on its own"),
    textUse: z.enum(['recap', 'compilation', 'clip']).nullable().describe('the use a recap, compilation or clip pattern in the text implies'),
  })
  .meta({ id: 'CheckResult' });

export const problemSchema = z
  .object({ type: z.string(), title: z.string(), status: z.number().int(), detail: z.string(), field: z.string().optional() })
  .meta({ id: 'Problem' });

export const batchResultSchema = z
  .object({
    results: z
      .array(z.union([receiptSchema.extend({ status: z.union([z.literal(201), z.literal(200)]).describe('201 appended, 200 a repeat: as POST /v1/statements would answer') }), problemSchema]))
      .describe("one per statement, in order: its receipt, or the problem that refused it (each with the status the single route would answer)"),
  })
  .meta({ id: 'BatchResult' });

export { bundleSchema };

export const healthSchema = z
  .object({
    ok: z.boolean(),
    size: z.number().int(),
    error: z.string().optional().describe('why the node stopped: a storage failure, or (on a read-only node) a checkpoint it refused'),
    witnesses: z
      .array(z.object({ name: z.string(), url: z.string(), cosignedSize: z.number().int(), lag: z.number().int().describe('entries not yet cosigned by this witness'), lastCosignedAt: z.number().nullable(), lastError: z.string().nullable() }))
      .optional(),
  })
  .meta({ id: 'Health' });

export const readySchema = z.object({ ready: z.boolean(), size: z.number().int(), error: z.string().optional().describe('why not, when the store did not answer') }).meta({ id: 'Ready' });
