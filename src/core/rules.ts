/**
 * The rules of the ledger (DESIGN §4) as a pure state machine:
 *   applyStatement(view, entry) → Effects, or a thrown CartularyError refusal.
 * The sequencer runs it before appending; `audit` and the offline verifier replay it.
 */
import { toHex } from './bytes.js';
import type { SignedStatement } from './cose.js';
import { CartularyError } from './errors.js';
import { decodeFrames, FINGERPRINT_KIND } from './fingerprint.js';
import { segmentsOf } from './segments.js';
import { matchingRulesAt, type MatchingRules } from './similarity.js';
import type { Effects, LedgerView, LicenceRecord, OverlapQuery, WorkRecord } from './records.js';
import { activeAt, outsideScope, scopesOverlap } from './scope.js';
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

interface Context {
  view: LedgerView;
  signer: string;
  id: string;
  index: number;
  time: number;
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
  }
}

function existingWork(view: LedgerView, id: string, field: string): WorkRecord {
  const work = view.work(id);
  if (!work) throw new CartularyError('not-found', `${field}: work ${id} is not in the ledger`, { field, info: { work: id } });
  return work;
}

function existingLicence(view: LedgerView, id: string, field: string): LicenceRecord {
  const licence = view.licence(id);
  if (!licence) throw new CartularyError('not-found', `${field}: licence ${id} is not in the ledger`, { field, info: { licence: id } });
  return licence;
}

/** Appends this entry to a work's history; the previous last entry is the new workPrev. */
function touch(work: WorkRecord, ctx: Context): WorkRecord {
  return { ...work, history: [...work.history, ctx.index] };
}
const lastIndex = (work: WorkRecord) => work.history[work.history.length - 1] ?? null;

/** A registration contests another party's work when this many of its frames match it (all of a short one's). */
export function contestThreshold(frames: number): number {
  return Math.min(frames, Math.max(5, Math.ceil(frames * 0.3)));
}

/**
 * Earlier works of other parties whose frames this registration's frames match (DESIGN §4,
 * issue 7), by the matching rules in force when it is sequenced, whatever they are today.
 */
function lookalikes(ctx: Context, p: RegisterPayload, exclude: ReadonlySet<string>, rules: MatchingRules): WorkRecord[] {
  const encoded = p.fingerprints?.find((f) => f.kind === FINGERPRINT_KIND)?.value;
  if (!encoded) return [];
  const frames = decodeFrames(encoded);
  return segmentsOf(ctx.view.frameHits(frames, rules))
    .filter((m) => !exclude.has(m.work) && m.segments.reduce((n, s) => n + (s.strength === 'match' ? s.frames : 0), 0) >= contestThreshold(frames.length))
    .map((m) => existingWork(ctx.view, m.work, 'payload.fingerprints'))
    .filter((w) => w.owner !== ctx.signer && w.registrant !== ctx.signer);
}

function register(ctx: Context, p: RegisterPayload): Effects {
  const sha256 = toHex(p.sha256);
  const sameContent = ctx.view.worksBySha(sha256).map((id) => existingWork(ctx.view, id, 'payload.sha256'));
  const mine = sameContent.find((w) => w.registrant === ctx.signer || w.owner === ctx.signer);
  if (mine) {
    throw new CartularyError('conflict', `payload.sha256: this content is already registered by the same party as work ${mine.id}`, {
      field: 'payload.sha256',
      info: { work: mine.id },
    });
  }
  // A re-encode of another party's work is contested against it, just as an exact copy is.
  const rules = matchingRulesAt(ctx.time);
  const earlier = [...sameContent, ...lookalikes(ctx, p, new Set(sameContent.map((w) => w.id)), rules)];
  const frames = p.fingerprints?.find((f) => f.kind === FINGERPRINT_KIND)?.value;
  const work: WorkRecord = {
    id: ctx.id,
    sha256,
    title: p.title,
    mediaType: p.mediaType,
    size: p.size,
    owner: ctx.signer,
    registrant: ctx.signer,
    registeredAt: ctx.time,
    owners: [{ party: ctx.signer, from: ctx.time }],
    contestedBy: earlier.map((w) => w.id),
    status: earlier.length > 0 ? 'contested' : 'registered',
    licenceCount: 0,
    history: [ctx.index],
    ...(p.aliases?.length ? { aliases: p.aliases } : {}),
    ...(frames && frames.length > 0 ? { matching: rules.version } : {}),
  };
  // A later registration of the same content by another party contests every earlier one;
  // the earliest stays the prior-existence claim.
  const contested = earlier.map((before) => ({
    before,
    after: { ...before, status: 'contested' as const, contestedBy: [...before.contestedBy, ctx.id] },
  }));
  return {
    workPrev: null,
    works: [...contested, { before: undefined, after: work }],
    licences: [],
    sha: { sha256, works: [...sameContent.map((w) => w.id), ctx.id] },
    ...(frames && frames.length > 0 ? { frames: { work: ctx.id, bytes: frames } } : {}),
  };
}

function transfer(ctx: Context, p: TransferPayload): Effects {
  const work = existingWork(ctx.view, toHex(p.work), 'payload.work');
  if (work.owner !== ctx.signer) {
    throw new CartularyError('unauthorised', `only the owner of work ${work.id} may transfer it; the signer does not own it`, {
      field: 'payload.work',
      info: { owner: work.owner },
    });
  }
  const to = toHex(p.to);
  if (to === work.owner) throw new CartularyError('conflict', 'payload.to: the work already belongs to that party', { field: 'payload.to' });
  return {
    workPrev: lastIndex(work),
    works: [{ before: work, after: { ...touch(work, ctx), owner: to, owners: [...work.owners, { party: to, from: ctx.time }] } }],
    licences: [],
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
    licensee: toHex(p.licensee),
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
  return {
    workPrev: lastIndex(work),
    works: [{ before: work, after: { ...touch(work, ctx), licenceCount: work.licenceCount + 1 } }],
    licences: [{ before: undefined, after: licence }],
    held: { work: work.id, licensee: licence.licensee, licences: [...ctx.view.licencesHeld(work.id, licence.licensee), licence.id] },
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
  if (payload.type !== 'register') return null;
  try {
    return (payloadShape(payload) as RegisterPayload).fingerprints?.find((f) => f.kind === FINGERPRINT_KIND)?.value ?? null;
  } catch {
    return null;
  }
}

function revoke(ctx: Context, p: RevokePayload): Effects {
  const licence = existingLicence(ctx.view, toHex(p.license), 'payload.license');
  if (licence.grantor !== ctx.signer) {
    throw new CartularyError('unauthorised', `only the grantor of licence ${licence.id} may revoke it`, {
      field: 'payload.license',
      info: { grantor: licence.grantor },
    });
  }
  if (licence.revokedAt !== null) {
    throw new CartularyError('conflict', `payload.license: licence ${licence.id} was already revoked at index ${licence.revokedIndex}`, {
      field: 'payload.license',
    });
  }
  const work = existingWork(ctx.view, licence.work, 'payload.license');
  return {
    workPrev: lastIndex(work),
    works: [{ before: work, after: touch(work, ctx) }],
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

/** Whether a licence stands at `at`: not revoked by then, inside its window, and so is its parent. */
export function licenceStanding(
  view: LedgerView,
  licence: LicenceRecord,
  at: number,
): 'revoked' | 'parent-ended' | 'not-yet-valid' | 'expired' | null {
  if (licence.revokedAt !== null && licence.revokedAt <= at) return 'revoked';
  const window = activeAt(licence, at);
  if (window) return window;
  if (licence.parent) {
    const parent = view.licence(licence.parent);
    if (!parent || licenceStanding(view, parent, at) !== null) return 'parent-ended';
  }
  return null;
}
