/**
 * The rules of the ledger (DESIGN §4) as a pure state machine:
 *   applyStatement(view, entry) → Effects, or a thrown CartularyError refusal.
 * The sequencer runs it before appending; `audit` and the offline verifier replay it.
 */
import { toHex } from './bytes.js';
import type { SignedStatement } from './cose.js';
import { CartularyError } from './errors.js';
import { decodeFrames, FINGERPRINT_KIND, PATCH_KIND } from './fingerprint.js';
import { segmentsOf } from './segments.js';
import { matchingRulesAt, probeHits, type MatchingRules } from './similarity.js';
import { SOUND_KIND } from './soundtrack.js';
import type { Effects, HoldingRecord, LedgerView, LicenceRecord, OverlapQuery, WorkRecord } from './records.js';
import { accredit, claim, notSuperseded, resolve, sighting, supersededBy } from './disputes.js';
import { existingLicence, existingWork, namedParty, touch, type Context } from './rule-context.js';
import { protect } from './protection.js';
import { activeAt, outsideScope, scopesOverlap } from './scope.js';
import { MAX_HELD_LICENCES, statementRulesAt } from './statement-rules.js';
import {
  payloadShape,
  validatePayload,
  type LicensePayload,
  type PartyPayload,
  type RegisterPayload,
  type RevokePayload,
  type TransferPayload,
} from './statements.js';

/** A verified statement at the position and time the ledger gives it. */
export interface SequencedStatement {
  readonly statement: SignedStatement;
  readonly index: number;
  readonly time: number;
}

export function applyStatement(view: LedgerView, entry: SequencedStatement): Effects {
  const payload = validatePayload(entry.statement.payload, entry.time);
  const ctx: Context = { view, signer: toHex(entry.statement.signer), id: toHex(entry.statement.id), index: entry.index, time: entry.time };
  switch (payload.type) {
    case 'register':
      return register(ctx, payload);
    case 'transfer':
      return transfer(ctx, payload);
    case 'license':
      return license(ctx, payload);
    case 'revoke':
      return revoke(ctx, payload);
    case 'party':
      return party(ctx, payload);
    case 'protect':
      return protect(ctx, payload);
    case 'claim':
      return claim(ctx, payload);
    case 'sighting':
      return sighting(ctx, payload);
    case 'accredit':
      return accredit(ctx, payload);
    case 'resolve':
      return resolve(ctx, payload);
  }
}

/** A registration contests another party's work when this many of its frames match it (all of a short one's). */
export function contestThreshold(frames: number): number {
  return Math.min(frames, Math.max(5, Math.ceil(frames * 0.3)));
}

/** How many lookalike works one registration may contest: its cost stays bounded (issue 10.4). */
export const MAX_LOOKALIKES = 16;

/**
 * Earlier works of other parties whose frames this registration's frames match (DESIGN §4,
 * issue 7), by the matching rules in force when it is sequenced (whatever they are today),
 * earliest registered first, at most MAX_LOOKALIKES.
 */
function lookalikes(ctx: Context, p: RegisterPayload, sha256: string, rules: MatchingRules): WorkRecord[] {
  const encoded = p.fingerprints?.find((f) => f.kind === FINGERPRINT_KIND)?.value;
  if (!encoded) return [];
  const frames = decodeFrames(encoded);
  // Segments count distinct upload times, so from version 2 the share is of sampled times.
  const sampled = rules.contestShareOf === 'times' ? new Set(frames.map((f) => f.timeMs)).size : frames.length;
  return segmentsOf(probeHits(ctx.view.frameProbes(frames, rules), rules))
    .filter((m) => m.segments.reduce((n, s) => n + (s.strength === 'match' ? s.frames : 0), 0) >= contestThreshold(sampled))
    .map((m) => existingWork(ctx.view, m.work, 'payload.fingerprints'))
    .filter((w) => w.sha256 !== sha256 && w.owner !== ctx.signer && w.registrant !== ctx.signer)
    .sort((a, b) => a.registeredIndex - b.registeredIndex)
    .slice(0, MAX_LOOKALIKES);
}

function register(ctx: Context, p: RegisterPayload): Effects {
  const sha256 = toHex(p.sha256);
  const content = ctx.view.content(sha256);
  // A party holds content only once it is registered: new content needs no second read.
  const holding = content && ctx.view.holding(sha256, ctx.signer);
  if (holding && (holding.registered !== null || holding.owned > 0)) {
    const named = holding.registered ? ` as work ${holding.registered}` : ' (it owns a registration of it)';
    throw new CartularyError('conflict', `payload.sha256: this content is already registered by the same party${named}`, {
      field: 'payload.sha256',
      ...(holding.registered ? { info: { work: holding.registered } } : {}),
    });
  }
  // A later registration of the same content by another party contests the earlier ones;
  // the earliest stays the prior-existence claim. So does a re-encode (a lookalike).
  // After an award the registration holding title is the one a newcomer contests.
  const first = content ? existingWork(ctx.view, content.award?.work ?? content.first, 'payload.sha256') : undefined;
  const rules = matchingRulesAt(ctx.time);
  const similar = lookalikes(ctx, p, sha256, rules);
  const earlier = [...(first ? [first] : []), ...similar];
  const frames = p.fingerprints?.find((f) => f.kind === FINGERPRINT_KIND)?.value;
  const sound = p.fingerprints?.find((f) => f.kind === SOUND_KIND)?.value;
  const patches = p.fingerprints?.find((f) => f.kind === PATCH_KIND)?.value;
  const work: WorkRecord = {
    id: ctx.id,
    sha256,
    title: p.title,
    mediaType: p.mediaType,
    size: p.size,
    owner: ctx.signer,
    registrant: ctx.signer,
    registeredAt: ctx.time,
    registeredIndex: ctx.index,
    owners: [{ party: ctx.signer, from: ctx.time }],
    contest: earlier[0] ? { by: earlier[0].id, since: ctx.time } : null,
    status: earlier.length > 0 ? 'contested' : 'registered',
    lookalikes: similar.map((w) => w.id),
    licenceCount: 0,
    exclusives: 0,
    entries: 1,
    head: ctx.index,
    ...(p.aliases?.length ? { aliases: p.aliases } : {}),
    ...(frames && frames.length > 0 ? { matching: rules.version } : {}),
  };
  // Only a work not yet contested is rewritten: each registration touches a bounded number
  // of records, however many rivals its content already has.
  const contested = earlier
    .filter((w) => w.contest === null)
    .map((before) => ({ before, after: { ...before, status: 'contested' as const, contest: { by: ctx.id, since: ctx.time } } }));
  return {
    workPrev: null,
    works: [...contested, { before: undefined, after: work }],
    licences: [],
    content: {
      sha256,
      first: content?.first ?? ctx.id,
      count: (content?.count ?? 0) + 1,
      // A registration by another party after an award reopens the contest (the holder cannot register it again).
      ...(content?.award ? { award: { ...content.award, reopened: content.award.reopened ?? ctx.time } } : {}),
    },
    holdings: [{ sha256, party: ctx.signer, registered: ctx.id, owned: 1 }],
    ...(frames && frames.length > 0 ? { frames: { work: ctx.id, bytes: frames } } : {}),
    ...(sound ? { sound: { work: ctx.id, bytes: sound } } : {}),
    ...(patches && patches.length > 0 ? { patches: { work: ctx.id, bytes: patches } } : {}),
  };
}

/** A party's holding of a content; none yet is an empty one (the store keeps no empty holdings). */
function holdingOf(view: LedgerView, sha256: string, party: string): HoldingRecord {
  return view.holding(sha256, party) ?? { sha256, party, registered: null, owned: 0 };
}

function transfer(ctx: Context, p: TransferPayload): Effects {
  const work = existingWork(ctx.view, toHex(p.work), 'payload.work');
  if (work.owner !== ctx.signer) {
    throw new CartularyError('unauthorised', `only the owner of work ${work.id} may transfer it; the signer does not own it`, {
      field: 'payload.work',
      info: { owner: work.owner },
    });
  }
  notSuperseded(ctx.view, work, 'transfer');
  const to = namedParty(p.to, 'payload.to', ctx.time);
  if (to === work.owner) throw new CartularyError('conflict', 'payload.to: the work already belongs to that party', { field: 'payload.to' });
  const from = holdingOf(ctx.view, work.sha256, work.owner);
  const into = holdingOf(ctx.view, work.sha256, to);
  return {
    workPrev: work.head,
    works: [{ before: work, after: { ...touch(work, ctx), owner: to, owners: [...work.owners, { party: to, from: ctx.time }] } }],
    licences: [],
    holdings: [
      { ...from, owned: from.owned - 1 },
      { ...into, owned: into.owned + 1 },
    ],
  };
}

/** Whether a licence and all its ancestors are unrevoked. */
function unrevokedChain(view: LedgerView, licence: LicenceRecord): boolean {
  for (let l: LicenceRecord | undefined = licence; l; l = l.parent ? view.licence(l.parent) : undefined) {
    if (l.revokedAt !== null) return false;
  }
  return true;
}

function isAncestor(view: LedgerView, candidate: string, of: LicenceRecord): boolean {
  for (let id = of.parent; id; id = view.licence(id)?.parent ?? null) if (id === candidate) return true;
  return false;
}

function license(ctx: Context, p: LicensePayload): Effects {
  const work = existingWork(ctx.view, toHex(p.work), 'payload.work');
  const licence: LicenceRecord = {
    id: ctx.id,
    work: work.id,
    grantor: ctx.signer,
    licensee: namedParty(p.licensee, 'payload.licensee', ctx.time),
    uses: p.uses,
    territories: p.territories,
    validFrom: p.validFrom ?? ctx.time,
    validUntil: p.validUntil ?? null,
    exclusive: p.exclusive ?? false,
    sublicensable: p.sublicensable ?? false,
    parent: p.parent ? toHex(p.parent) : null,
    terms: p.terms ?? null,
    index: ctx.index,
    grantedAt: ctx.time,
    revokedAt: null,
    revokedIndex: null,
  };
  notSuperseded(ctx.view, work, 'license');
  if (licence.validUntil !== null && licence.validUntil <= licence.validFrom) {
    throw new CartularyError('invalid', 'payload.validUntil: the licence would end before it starts', { field: 'payload.validUntil' });
  }
  if (licence.licensee === ctx.signer) {
    throw new CartularyError('invalid', 'payload.licensee: a party cannot license a work to itself', { field: 'payload.licensee' });
  }

  if (licence.parent) {
    const parent = existingLicence(ctx.view, licence.parent, 'payload.parent');
    const refuse = (why: string) =>
      new CartularyError('unauthorised', `payload.parent: cannot sublicense under licence ${parent.id}: ${why}`, { field: 'payload.parent' });
    if (parent.work !== work.id) throw refuse('it is a licence of another work');
    if (parent.licensee !== ctx.signer) throw refuse('the signer is not its licensee');
    if (!parent.sublicensable) throw refuse('it is not sublicensable');
    if (!unrevokedChain(ctx.view, parent)) throw refuse('it has been revoked');
    if (activeAt(parent, ctx.time) === 'expired') throw refuse('it has expired');
    const outside = outsideScope(licence, parent);
    if (outside) {
      throw new CartularyError('invalid', `the sublicence is wider than its parent licence ${parent.id}: ${outside}`, {
        field: 'payload',
        info: { parent: parent.id },
      });
    }
  } else if (work.owner !== ctx.signer) {
    throw new CartularyError('unauthorised', `only the owner of work ${work.id} may license it (or a sublicensable licensee, naming parent)`, {
      field: 'payload.work',
      info: { owner: work.owner },
    });
  } else {
    // Nobody can grant what they did not yet hold: a licence starts no earlier than the title.
    const since = (work.owners.at(-1) as { from: number }).from;
    if (licence.validFrom < since) {
      throw new CartularyError('invalid', `payload.validFrom: ${new Date(licence.validFrom).toISOString()} is before the signer held title to work ${work.id} (from ${new Date(since).toISOString()})`, {
        field: 'payload.validFrom',
        info: { ownerSince: since },
      });
    }
  }

  // Exclusivity: no two standing licences of the work may overlap where either is exclusive,
  // except a licence and the sublicences granted under it. Only candidates from the view's
  // overlap index are examined, never every licence of the work.
  for (const otherId of ctx.view.overlapCandidates(overlapQuery(work.id, licence))) {
    const other = existingLicence(ctx.view, otherId, 'payload.work');
    if (!unrevokedChain(ctx.view, other) || isAncestor(ctx.view, other.id, licence)) continue;
    if ((licence.exclusive || other.exclusive) && scopesOverlap(licence, other)) {
      throw new CartularyError(
        'conflict',
        `payload: overlaps ${other.exclusive ? 'the exclusive licence' : 'licence'} ${other.id} (uses × territories × time)${licence.exclusive && !other.exclusive ? ' and this licence is exclusive' : ''}`,
        { field: 'payload', info: { licence: other.id } },
      );
    }
  }
  const held = ctx.view.licencesHeld(work.id, licence.licensee);
  if (held.length >= MAX_HELD_LICENCES && statementRulesAt(ctx.time) >= 2) {
    throw new CartularyError(
      'conflict',
      `payload.licensee: ${licence.licensee} already holds ${held.length} licences of work ${work.id}, the most one licensee may; one licence covers up to 64 uses and territories over any period`,
      { field: 'payload.licensee', info: { held: held.length } },
    );
  }
  return {
    workPrev: work.head,
    works: [{ before: work, after: { ...touch(work, ctx), licenceCount: work.licenceCount + 1, exclusives: work.exclusives + (licence.exclusive ? 1 : 0) } }],
    licences: [{ before: undefined, after: licence }],
    held: { work: work.id, licensee: licence.licensee, licences: [...held, licence.id] },
  };
}

/** The exclusivity rule's question for a new licence: exclusive ones only, unless it is exclusive itself. */
export function overlapQuery(work: string, l: Pick<LicenceRecord, 'uses' | 'territories' | 'validFrom' | 'validUntil' | 'exclusive'>): OverlapQuery {
  return { work, uses: l.uses, territories: l.territories, from: l.validFrom, until: l.validUntil, exclusiveOnly: !l.exclusive };
}

/**
 * The overlap query a licence payload will ask when sequenced at `time`: the sequencer
 * fetches its answer before the rules run. Null for anything that is not a well-formed licence.
 */
export function plannedOverlapQuery(payload: Record<string, unknown>, time: number): OverlapQuery | null {
  if (payload.type !== 'license') return null;
  let p: LicensePayload;
  try {
    p = payloadShape(payload) as LicensePayload;
  } catch {
    return null; // the rules will refuse it, naming why
  }
  return overlapQuery(toHex(p.work), { uses: p.uses, territories: p.territories, validFrom: p.validFrom ?? time, validUntil: p.validUntil ?? null, exclusive: p.exclusive ?? false });
}

/**
 * The fingerprint search a registration's rules will make (its frames as signed), so the
 * sequencer can run it against the store in slices before the rules run; null for anything
 * else or a payload the rules will refuse.
 */
export function plannedFrameSearch(payload: Record<string, unknown>): Uint8Array | null {
  // Most registrations carry no fingerprints: no need to validate the payload a second time.
  if (payload.type !== 'register' || payload.fingerprints === undefined) return null;
  try {
    return (payloadShape(payload) as RegisterPayload).fingerprints?.find((f) => f.kind === FINGERPRINT_KIND)?.value ?? null;
  } catch {
    return null;
  }
}

function revoke(ctx: Context, p: RevokePayload): Effects {
  const licence = existingLicence(ctx.view, toHex(p.license), 'payload.license');
  const work = existingWork(ctx.view, licence.work, 'payload.license');
  // From rules 3 a licence granted by the owner is the title's: its owner now revokes it.
  const byTitle = statementRulesAt(ctx.time) >= 3 && !licence.parent;
  const revoker = byTitle ? work.owner : licence.grantor;
  if (revoker !== ctx.signer) {
    const who = byTitle
      ? `only the owner of work ${work.id} may revoke licence ${licence.id}, granted on its title${licence.grantor !== work.owner ? ' (its grantor has since transferred the work)' : ''}`
      : `only the grantor of licence ${licence.id} may revoke it`;
    throw new CartularyError('unauthorised', who, { field: 'payload.license', info: byTitle ? { owner: work.owner } : { grantor: licence.grantor } });
  }
  if (licence.revokedAt !== null) {
    throw new CartularyError('conflict', `payload.license: licence ${licence.id} was already revoked at index ${licence.revokedIndex}`, {
      field: 'payload.license',
    });
  }
  return {
    workPrev: work.head,
    works: [{ before: work, after: { ...touch(work, ctx), exclusives: work.exclusives - (licence.exclusive ? 1 : 0) } }],
    licences: [{ before: licence, after: { ...licence, revokedAt: ctx.time, revokedIndex: ctx.index } }],
  };
}

function party(ctx: Context, p: PartyPayload): Effects {
  return {
    workPrev: null,
    works: [],
    licences: [],
    party: { party: ctx.signer, name: p.name, url: p.url ?? null, index: ctx.index, updatedAt: ctx.time },
  };
}

/**
 * Whether a licence stands at `at`: not revoked by then, its work not superseded by an award
 * by then, inside its window, and so is its parent.
 */
/** Why a licence does not stand at an instant (licenceStanding). */
export type LicenceStanding = 'revoked' | 'superseded' | 'parent-ended' | 'not-yet-valid' | 'expired';

export function licenceStanding(view: LedgerView, licence: LicenceRecord, at: number): LicenceStanding | null {
  if (licence.revokedAt !== null && licence.revokedAt <= at) return 'revoked';
  const work = view.work(licence.work);
  if (work && supersededBy(view, work, at)) return 'superseded';
  const window = activeAt(licence, at);
  if (window) return window;
  if (licence.parent) {
    const parent = view.licence(licence.parent);
    if (!parent || licenceStanding(view, parent, at) !== null) return 'parent-ended';
  }
  return null;
}
