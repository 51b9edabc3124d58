/**
 * Statement payloads (DESIGN §4) as zod schemas: the shape of each of the five types,
 * with precise limits. A refusal names every bad field and why.
 */
import { z } from 'zod';
import { toHex } from './bytes.js';
import { CartularyError } from './errors.js';
import { FINGERPRINT_KIND } from './fingerprint.js';
import { ISO_3166_ALPHA2, WORLD } from './territories.js';

/** How far ahead of the ledger's clock a signer's `issuedAt` may be. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

export const USES = ['publish', 'stream', 'download', 'clip', 'recap', 'compilation', 'adapt', 'commercial'] as const;
export type Use = (typeof USES)[number];

const bytes32 = z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === 32, 'must be a 32-byte byte string');
const millis = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const text = (max: number) => z.string().min(1).max(max);
const territory = z.string().refine((t) => t === WORLD || ISO_3166_ALPHA2.has(t), 'must be an ISO 3166-1 alpha-2 code or "*"');
const unique = <T>(items: T[]) => new Set(items).size === items.length;

const base = { issuedAt: millis };

export const registerSchema = z.strictObject({
  ...base,
  type: z.literal('register'),
  sha256: bytes32,
  size: millis,
  mediaType: z.string().max(255).regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i, 'must be a media type such as video/mp4'),
  title: text(512),
  aliases: z.array(text(512)).max(16).optional().describe('other titles of the work, in any language, for the title match of the check'),
  creators: z.array(text(256)).max(64).optional(),
  fingerprints: z
    .array(
      z
        .strictObject({ kind: text(32), value: z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length <= 15_000, 'must be a byte string of at most 15,000 bytes') })
        .refine((f) => f.kind !== FINGERPRINT_KIND || f.value.length % 20 === 0, { message: `${FINGERPRINT_KIND} frames are 20-byte records`, path: ['value'] }),
    )
    .max(16)
    .optional(),
  derivedFrom: z.array(bytes32).max(64).optional(),
});

export const transferSchema = z.strictObject({ ...base, type: z.literal('transfer'), work: bytes32, to: bytes32 });

export const licenseSchema = z
  .strictObject({
    ...base,
    type: z.literal('license'),
    work: bytes32,
    licensee: bytes32,
    uses: z.array(z.enum(USES)).min(1).max(64).refine(unique, 'must not repeat a use'),
    territories: z.array(territory).min(1).max(64).refine(unique, 'must not repeat a territory'),
    validFrom: millis.optional(),
    validUntil: millis.optional(),
    exclusive: z.boolean().optional(),
    sublicensable: z.boolean().optional(),
    terms: text(2048).optional(),
    parent: bytes32.optional(),
  })
  .refine((l) => l.validFrom === undefined || l.validUntil === undefined || l.validFrom < l.validUntil, {
    message: 'validFrom must be before validUntil',
    path: ['validUntil'],
  });

export const revokeSchema = z.strictObject({ ...base, type: z.literal('revoke'), license: bytes32, reason: text(1024).optional() });

export const partySchema = z.strictObject({
  ...base,
  type: z.literal('party'),
  name: text(128),
  url: z.url({ protocol: /^https?$/ }).max(512).optional(),
});

const payloadSchema = z.discriminatedUnion('type', [registerSchema, transferSchema, licenseSchema, revokeSchema, partySchema]);

export type Payload = z.infer<typeof payloadSchema>;
export type RegisterPayload = z.infer<typeof registerSchema>;
export type TransferPayload = z.infer<typeof transferSchema>;
export type LicensePayload = z.infer<typeof licenseSchema>;
export type RevokePayload = z.infer<typeof revokeSchema>;
export type PartyPayload = z.infer<typeof partySchema>;
export type StatementType = Payload['type'];

/** Turns zod's issues into one CartularyError naming every bad field. */
export function zodRefusal(error: z.ZodError, prefix: string): CartularyError {
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
