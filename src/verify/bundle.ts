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

const MAX_ENTRIES = 100_000;
const entrySchema = z.strictObject({ index: nat, leaf: text(32 * 1024), proof: z.array(hex32).check(z.maxLength(64)) });
const workClaimSchema = z.strictObject({
  id: hex32,
  sha256: hex32,
  owner: hex32,
  status: z.enum(['registered', 'contested', 'superseded']),
  contest: z.nullable(z.strictObject({ by: hex32, since: nat })),
  head: nat,
});
const licenceClaimSchema = z.strictObject({ id: hex32, work: hex32, grantor: hex32, licensee: hex32, revoked: z.boolean() });

export const bundleSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  verifierKey: text(512),
  checkpoint: text(4096),
  subject: z.union([
    z.strictObject({ work: hex32 }),
    z.strictObject({ entry: nat }),
    z.strictObject({ check: checkQuerySchema }),
  ]),
  entries: z.array(entrySchema).check(z.minLength(1), z.maxLength(MAX_ENTRIES)),
  claims: z.strictObject({
    // every work and licence claimed is one an entry of the bundle made
    works: z.array(workClaimSchema).check(z.maxLength(MAX_ENTRIES)),
    licences: z.array(licenceClaimSchema).check(z.maxLength(MAX_ENTRIES)),
    verdict: z.optional(z.enum(['unregistered', 'owner', 'licensed', 'unlicensed', 'contested'])),
    licence: z.optional(z.nullable(hex32)),
    /** the ledger's registrar, whose accreditations of mediators the replay checks */
    registrar: z.optional(hex32),
  }),
  attestation: text(4096),
});

/** A schema's faults as one short message: the first `most`, each cut to 300 characters, and how many more. */
export function faultsText(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>, most: number, root: string): string {
  const shown = issues.slice(0, most).map((i) => `${i.path.map(String).join('.') || root}: ${i.message}`.slice(0, 300));
  return `${shown.join('; ')}${issues.length > most ? `; and ${issues.length - most} more` : ''}`;
}

/**
 * The first thing wrong with a bundle's lists, found before the whole is parsed: a schema
 * reports every fault, and a small file with 300,000 faulty items made it work for seconds,
 * take 700 MB, and then overflow the stack. Lists over their bound, objects with too many
 * keys and the first faulty item of each list are reported alone.
 */
export function firstShapeFault(input: unknown): string | undefined {
  const record = (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  const bundle = record(input);
  if (!bundle) return undefined; // the schema says what it is instead
  const claims = record(bundle.claims);
  for (const [where, value] of [['bundle', bundle], ['claims', claims]] as const) {
    if (value && Object.keys(value).length > 16) return `${where}: ${Object.keys(value).length} fields, more than a bundle has`;
  }
  const lists = [
    ['entries', bundle.entries, entrySchema],
    ['claims.works', claims?.works, workClaimSchema],
    ['claims.licences', claims?.licences, licenceClaimSchema],
  ] as const;
  for (const [where, list, schema] of lists) {
    if (!Array.isArray(list)) continue;
    if (list.length > MAX_ENTRIES) return `${where}: ${list.length} items, more than the ${MAX_ENTRIES} a bundle may hold`;
    for (let i = 0; i < list.length; i++) {
      const parsed = schema.safeParse(list[i]);
      if (!parsed.success) return `${where}.${i}: ${faultsText(parsed.error.issues, 3, 'item')}`;
    }
  }
  return undefined;
}

/**
 * How deep a bundle's JSON may nest, checked before it is parsed (jsonNestsAtMost): a bundle
 * nests a few levels (entries, claims, their items); the register command's file one more.
 */
export const MAX_BUNDLE_DEPTH = 16;

/**
 * Whether JSON text nests no deeper than `max` arrays and objects, scanned without parsing:
 * a 10 MB file of nested brackets took 876 MB and 10 s to parse.
 */
export function jsonNestsAtMost(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return false;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return true;
}

export type EvidenceBundle = z.infer<typeof bundleSchema>;
export type BundleClaims = EvidenceBundle['claims'];
export type CheckSubject = z.infer<typeof checkQuerySchema>;
