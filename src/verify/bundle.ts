/**
 * Evidence bundles, `cartulary-evidence/v1` (DESIGN §8): the ledger's verifier key, one
 * checkpoint, and for each entry cited its leaf bytes and an inclusion proof to that
 * checkpoint, plus what the ledger claims those entries establish, and its signed
 * attestation of those claims at the checkpoint (src/core/attestation.ts) — each work's
 * `head` is its latest entry then, so a bundle cannot hide later ones.
 */
import * as z from 'zod/mini';
// The English messages, which the ledger's refusals use too (statements.ts sets them).
import '../core/statements.js';

export const BUNDLE_FORMAT = 'cartulary-evidence/v1';

const hex32 = z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters'));
const nat = z.int().check(z.nonnegative(), z.maximum(Number.MAX_SAFE_INTEGER));
const text = (max: number) => z.string().check(z.maxLength(max));

export const checkQuerySchema = z.strictObject({
  sha256: hex32,
  uploader: hex32,
  use: text(32),
  territory: text(2),
  at: nat,
});

export const bundleSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  verifierKey: text(512),
  checkpoint: text(4096),
  subject: z.union([
    z.strictObject({ work: hex32 }),
    z.strictObject({ entry: nat }),
    z.strictObject({ check: checkQuerySchema }),
  ]),
  entries: z
    .array(z.strictObject({ index: nat, leaf: text(32 * 1024), proof: z.array(hex32).check(z.maxLength(64)) }))
    .check(z.minLength(1), z.maxLength(100_000)),
  claims: z.strictObject({
    works: z.array(
      z.strictObject({ id: hex32, sha256: hex32, owner: hex32, status: z.enum(['registered', 'contested', 'superseded']), contest: z.nullable(z.strictObject({ by: hex32, since: nat })), head: nat }),
    ),
    licences: z.array(z.strictObject({ id: hex32, work: hex32, grantor: hex32, licensee: hex32, revoked: z.boolean() })),
    verdict: z.optional(z.enum(['unregistered', 'owner', 'licensed', 'unlicensed', 'contested'])),
    licence: z.optional(z.nullable(hex32)),
    /** the ledger's registrar, whose accreditations of mediators the replay checks */
    registrar: z.optional(hex32),
  }),
  attestation: text(4096),
});

export type EvidenceBundle = z.infer<typeof bundleSchema>;
export type BundleClaims = EvidenceBundle['claims'];
export type CheckSubject = z.infer<typeof checkQuerySchema>;
