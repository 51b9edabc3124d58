/**
 * Evidence bundles, `cartulary-evidence/v1` (DESIGN §8): the ledger's verifier key, one
 * checkpoint, and for each entry cited its leaf bytes and an inclusion proof to that
 * checkpoint, plus what the ledger claims those entries establish, and its signed
 * attestation of those claims at the checkpoint (src/core/attestation.ts) — each work's
 * `head` is its latest entry then, so a bundle cannot hide later ones.
 */
import { z } from 'zod';

export const BUNDLE_FORMAT = 'cartulary-evidence/v1';

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
const nat = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const checkQuerySchema = z.strictObject({
  sha256: hex32,
  uploader: hex32,
  use: z.string().max(32),
  territory: z.string().max(2),
  at: nat,
});

export const bundleSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  verifierKey: z.string().max(512),
  checkpoint: z.string().max(4096),
  subject: z.union([
    z.strictObject({ work: hex32 }),
    z.strictObject({ entry: nat }),
    z.strictObject({ check: checkQuerySchema }),
  ]),
  entries: z
    .array(z.strictObject({ index: nat, leaf: z.string().max(32 * 1024), proof: z.array(hex32).max(64) }))
    .min(1)
    .max(100_000),
  claims: z.strictObject({
    works: z.array(
      z.strictObject({ id: hex32, sha256: hex32, owner: hex32, status: z.enum(['registered', 'contested', 'superseded']), contest: z.strictObject({ by: hex32, since: nat }).nullable(), head: nat }),
    ),
    licences: z.array(z.strictObject({ id: hex32, work: hex32, grantor: hex32, licensee: hex32, revoked: z.boolean() })),
    verdict: z.enum(['unregistered', 'owner', 'licensed', 'unlicensed', 'contested']).optional(),
    licence: hex32.nullable().optional(),
    /** the ledger's registrar, whose accreditations of mediators the replay checks */
    registrar: hex32.optional(),
  }),
  attestation: z.string().max(4096),
});

export type EvidenceBundle = z.infer<typeof bundleSchema>;
export type BundleClaims = EvidenceBundle['claims'];
export type CheckSubject = z.infer<typeof checkQuerySchema>;
