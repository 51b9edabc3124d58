/**
 * Statement payloads (DESIGN §4) as zod schemas: the shape of each type,
 * with precise limits. A refusal names every bad field and why.
 *
 * zod/mini, not classic zod: the verifier replays these rules in a browser, and classic
 * zod cannot be tree-shaken (measured: ~90 KiB of the verifier's gzipped bundle; mini and
 * its English messages ~10 KiB). Same checks, same messages.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { toHex } from './bytes.js';
import { CartularyError } from './errors.js';
import { FINGERPRINT_KIND, PATCH_KIND } from './fingerprint.js';
import { SOUND_KIND, SOUND_SHAPE, soundShapeOk } from './soundtrack.js';
import { ISO_3166_ALPHA2, WORLD } from './territories.js';

/** How far ahead of the ledger's clock a signer's `issuedAt` may be. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

export const USES = ['publish', 'stream', 'download', 'clip', 'recap', 'compilation', 'adapt', 'commercial'] as const;
export type Use = (typeof USES)[number];

const bytes32 = z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === 32, 'must be a 32-byte byte string');
z.config(en());

const millis = z.int().check(z.nonnegative(), z.maximum(Number.MAX_SAFE_INTEGER));
const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));
const territory = z.string().check(z.refine((t) => t === WORLD || ISO_3166_ALPHA2.has(t), 'must be an ISO 3166-1 alpha-2 code or "*"'));
const mediaType = z.string().check(z.maxLength(255), z.regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i, 'must be a media type such as video/mp4'));
const unique = <T>(items: T[]) => new Set(items).size === items.length;

const base = { issuedAt: millis };

export const registerSchema = z.strictObject({
  ...base,
  type: z.literal('register'),
  sha256: bytes32,
  size: millis,
  mediaType,
  title: text(512),
  aliases: z.optional(z.array(text(512)).check(z.maxLength(16))),
  creators: z.optional(z.array(text(256)).check(z.maxLength(64))),
  fingerprints: z.optional(
    z
      .array(
        z
          .strictObject({ kind: text(32), value: z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length <= 15_000, 'must be a byte string of at most 15,000 bytes') })
          .check(z.refine((f) => (f.kind !== FINGERPRINT_KIND && f.kind !== PATCH_KIND) || f.value.length % 20 === 0, { message: `${FINGERPRINT_KIND} and ${PATCH_KIND} records are 20 bytes`, path: ['value'] }))
          .check(z.refine((f) => f.kind !== SOUND_KIND || soundShapeOk(f.value), { message: SOUND_SHAPE, path: ['value'] })),
      )
      .check(z.maxLength(16)),
  ),
  derivedFrom: z.optional(z.array(bytes32).check(z.maxLength(64))),
});

export const transferSchema = z.strictObject({ ...base, type: z.literal('transfer'), work: bytes32, to: bytes32 });

export const licenseSchema = z
  .strictObject({
    ...base,
    type: z.literal('license'),
    work: bytes32,
    licensee: bytes32,
    uses: z.array(z.enum(USES)).check(z.minLength(1), z.maxLength(64), z.refine(unique, 'must not repeat a use')),
    territories: z.array(territory).check(z.minLength(1), z.maxLength(64), z.refine(unique, 'must not repeat a territory')),
    validFrom: z.optional(millis),
    validUntil: z.optional(millis),
    exclusive: z.optional(z.boolean()),
    sublicensable: z.optional(z.boolean()),
    terms: z.optional(text(2048)),
    parent: z.optional(bytes32),
  })
  .check(
    z.refine((l) => l.validFrom === undefined || l.validUntil === undefined || l.validFrom < l.validUntil, {
      message: 'validFrom must be before validUntil',
      path: ['validUntil'],
    }),
  );

export const revokeSchema = z.strictObject({ ...base, type: z.literal('revoke'), license: bytes32, reason: z.optional(text(1024)) });

export const partySchema = z.strictObject({
  ...base,
  type: z.literal('party'),
  name: text(128),
  url: z.optional(z.url({ protocol: /^https?$/ }).check(z.maxLength(512))),
});

/** A protection window (the copyright early-warning list): until `until`, weak evidence of the work blocks an upload. */
export const protectSchema = z.strictObject({
  ...base,
  type: z.literal('protect'),
  work: bytes32,
  until: millis,
  territories: z.optional(z.array(territory).check(z.minLength(1), z.maxLength(64), z.refine(unique, 'must not repeat a territory'))),
});

/** An infringement claim: where the infringing copy was seen, and the hash of what its claimant captured. */
export const claimSchema = z.strictObject({
  ...base,
  type: z.literal('claim'),
  work: bytes32,
  subject: z
    .strictObject({
      url: z.optional(z.url({ protocol: /^https?$/ }).check(z.maxLength(2048))),
      platform: z.optional(text(128)),
      reference: z.optional(text(512)),
      sha256: z.optional(bytes32),
    })
    .check(z.refine((s) => s.url !== undefined || s.reference !== undefined || s.sha256 !== undefined, 'must name the infringing copy: url, reference or sha256')),
  capture: z.strictObject({
    sha256: bytes32,
    mediaType,
    size: millis,
    capturedAt: millis,
  }),
  uses: z.array(z.enum(USES)).check(z.minLength(1), z.maxLength(64), z.refine(unique, 'must not repeat a use')),
  text: z.optional(text(4096)),
});

export const VERDICTS = ['unregistered', 'owner', 'licensed', 'unlicensed', 'contested'] as const;

/** What a platform's pre-publish check found; kept out of the work's chain. */
export const sightingSchema = z.strictObject({
  ...base,
  type: z.literal('sighting'),
  work: bytes32,
  reference: text(512),
  uploader: text(256),
  verdict: z.enum(VERDICTS),
  sha256: z.optional(bytes32),
  segments: z.optional(z.array(z.strictObject({ upload: z.tuple([millis, millis]), work: z.tuple([millis, millis]) })).check(z.maxLength(256))),
});

export const accreditSchema = z.strictObject({ ...base, type: z.literal('accredit'), mediator: bytes32, until: z.optional(millis) });

export const DECISIONS = ['award', 'dismiss', 'uphold', 'settle'] as const;

/** A mediator's decision: on a contest (award, dismiss) or on a claim (uphold, settle, dismiss). */
export const resolveSchema = z
  .strictObject({
    ...base,
    type: z.literal('resolve'),
    work: bytes32,
    decision: z.enum(DECISIONS),
    award: z.optional(bytes32),
    claim: z.optional(bytes32),
    reason: z.optional(text(2048)),
  })
  .check(
    z.refine((r) => (r.decision === 'award') === (r.award !== undefined), { message: 'award names the registration that holds title, with decision "award" and only then', path: ['award'] }),
    z.refine((r) => (r.decision !== 'uphold' && r.decision !== 'settle') || r.claim !== undefined, { message: 'uphold and settle close a claim: name it', path: ['claim'] }),
    z.refine((r) => r.decision !== 'award' || r.claim === undefined, { message: 'an award ends a contest, not a claim', path: ['claim'] }),
  );

/** Every payload type; the README's Formats section lists them all (test/readme.test.ts). */
export const PAYLOAD_TYPES = [
  'register', 'transfer', 'license', 'revoke', 'party', 'protect', 'claim', 'sighting', 'accredit', 'resolve',
] as const satisfies ReadonlyArray<z.infer<typeof payloadSchema>['type']>;

const payloadSchema = z.discriminatedUnion('type', [
  registerSchema,
  transferSchema,
  licenseSchema,
  revokeSchema,
  partySchema,
  protectSchema,
  claimSchema,
  sightingSchema,
  accreditSchema,
  resolveSchema,
]);

export type Payload = z.infer<typeof payloadSchema>;
export type RegisterPayload = z.infer<typeof registerSchema>;
export type TransferPayload = z.infer<typeof transferSchema>;
export type LicensePayload = z.infer<typeof licenseSchema>;
export type RevokePayload = z.infer<typeof revokeSchema>;
export type PartyPayload = z.infer<typeof partySchema>;
export type ProtectPayload = z.infer<typeof protectSchema>;
export type ClaimPayload = z.infer<typeof claimSchema>;
export type SightingPayload = z.infer<typeof sightingSchema>;
export type AccreditPayload = z.infer<typeof accreditSchema>;
export type ResolvePayload = z.infer<typeof resolveSchema>;
export type Decision = (typeof DECISIONS)[number];
export type StatementType = Payload['type'];

/** Turns zod's issues (classic or mini) into one CartularyError naming every bad field. */
export function zodRefusal(error: z.core.$ZodError, prefix: string): CartularyError {
  const problems = error.issues.map((i) => ({ field: [prefix, ...i.path.map(String)].filter(Boolean).join('.'), reason: i.message }));
  const first = problems[0];
  return new CartularyError('invalid', problems.map((p) => `${p.field}: ${p.reason}`).join('; '), {
    ...(first ? { field: first.field } : {}),
    info: { problems },
  });
}

/**
 * Checks a decoded payload against its type's schema and the ledger's clock.
 * `ledgerTime` is the time the entry is (or was) sequenced at.
 */
export function validatePayload(payload: Record<string, unknown>, ledgerTime: number): Payload {
  const data = payloadShape(payload);
  if (data.issuedAt > ledgerTime + MAX_CLOCK_SKEW_MS) {
    throw new CartularyError(
      'invalid',
      `payload.issuedAt: ${new Date(data.issuedAt).toISOString()} is more than 5 minutes ahead of the ledger clock (${new Date(ledgerTime).toISOString()})`,
      { field: 'payload.issuedAt' },
    );
  }
  return data;
}

// A decoded payload is never mutated, so its checked shape can be remembered: the HTTP edge
// checks it before the signature, and the rules in the single writer get it for free.
const shapes = new WeakMap<object, Payload>();

/** Checks a decoded payload against its type's schema (not the clock); throws 'invalid' naming every bad field. */
export function payloadShape(payload: Record<string, unknown>): Payload {
  const known = shapes.get(payload);
  if (known) return known;
  const result = payloadSchema.safeParse(payload);
  if (!result.success) throw zodRefusal(result.error, 'payload');
  shapes.set(payload, result.data);
  return result.data;
}

/** A JSON view of a payload: byte strings as lowercase hex, everything else as it is. */
export function payloadJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return toHex(value);
  if (Array.isArray(value)) return value.map(payloadJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, payloadJson(v)]));
  }
  return typeof value === 'bigint' ? value.toString() : value;
}
