/**
 * The rules for disputes (DESIGN §4, issue 14): infringement claims, platform sightings, the
 * registrar's accreditation of mediators, and mediators' decisions. An award is stored once,
 * on the content (records.ts `Award`); whether a work is superseded is derived from it here.
 */
import { toHex } from './bytes.js';
import { CartularyError } from './errors.js';
import type { Award, ContentRecord, Effects, LedgerView, WorkRecord } from './records.js';
import { existingWork, namedParty, touch, type Context } from './rule-context.js';
import { activeAt } from './scope.js';
import { licenceStanding } from './rules.js';
import { statementRulesAt } from './statement-rules.js';
import { MAX_CLOCK_SKEW_MS, type AccreditPayload, type ClaimPayload, type ResolvePayload, type SightingPayload } from './statements.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** The award on a content that stood at `at` (every award stands from its entry on), if any. */
export function awardAt(content: ContentRecord | undefined, at: number) {
  return content?.award && content.award.since <= at ? content.award : undefined;
}

/** The registration an award gave title to instead of `work`, as of `at`; null if none did. */
export function supersededBy(view: LedgerView, work: WorkRecord, at = Number.POSITIVE_INFINITY): string | null {
  const award = awardAt(view.content(work.sha256), at);
  return award && award.work !== work.id ? award.work : null;
}

/** Refuses an act of title (`what`) on a work whose title an award gave to another registration. */
export function notSuperseded(view: LedgerView, work: WorkRecord, what: string): void {
  const winner = supersededBy(view, work);
  if (winner) {
    throw new CartularyError('conflict', `payload.work: work ${work.id} was superseded by a mediator's award to work ${winner}; its owner and licensees can no longer ${what} it`, {
      field: 'payload.work',
      info: { award: winner },
    });
  }
}

/** Whether a work's contest is open: raised and not yet ended by a mediator, or reopened since. */
export function contestOpen(view: LedgerView, work: WorkRecord): boolean {
  const award = view.content(work.sha256)?.award;
  return award ? award.reopened !== null : work.contest !== null;
}

export type TitleStatus = 'registered' | 'contested' | 'superseded';

/** A work's status as it stands now: an award settles a contest for its winner and supersedes the rest. */
export function titleStatus(view: LedgerView, work: WorkRecord): TitleStatus {
  if (supersededBy(view, work)) return 'superseded';
  return contestOpen(view, work) ? 'contested' : 'registered';
}

/** A work as it stands now: its record, its status after any award, and the award on its content (or null). */
export type TitledWork = Omit<WorkRecord, 'status'> & { status: TitleStatus; award: Award | null };

/** The work's record as it stands now (the server's views and the offline verifier say the same). */
export function titled(view: LedgerView, work: WorkRecord): TitledWork {
  return { ...work, status: titleStatus(view, work), award: view.content(work.sha256)?.award ?? null };
}

const none = { works: [], licences: [] };

export function claim(ctx: Context, p: ClaimPayload): Effects {
  const work = existingWork(ctx.view, toHex(p.work), 'payload.work');
  const exclusive = ctx.view
    .licencesHeld(work.id, ctx.signer)
    .map((id) => ctx.view.licence(id))
    .some((l) => l?.exclusive && (statementRulesAt(ctx.time) >= 2 ? licenceStanding(ctx.view, l, ctx.time) === null : l.revokedAt === null && activeAt(l, ctx.time) === null));
  if (work.owner !== ctx.signer && !exclusive) {
    throw new CartularyError('unauthorised', `only the owner of work ${work.id} or an exclusive licensee may claim an infringement of it`, {
      field: 'payload.work',
      info: { owner: work.owner },
    });
  }
  // Rights held through a superseded registration (title or licence) are no rights to claim on.
  notSuperseded(ctx.view, work, 'claim');
  if (p.capture.capturedAt > ctx.time + MAX_CLOCK_SKEW_MS) {
    throw new CartularyError('invalid', `payload.capture.capturedAt: ${iso(p.capture.capturedAt)} is after the ledger's clock (${iso(ctx.time)})`, { field: 'payload.capture.capturedAt' });
  }
  return {
    workPrev: work.head,
    works: [{ before: work, after: touch(work, ctx) }],
    licences: [],
    claim: { id: ctx.id, work: work.id, claimant: ctx.signer, index: ctx.index, time: ctx.time, status: 'open', resolvedIndex: null },
  };
}

/** Out of the work's chain: a sighting touches nothing of the work but its count. */
export function sighting(ctx: Context, p: SightingPayload): Effects {
  const work = existingWork(ctx.view, toHex(p.work), 'payload.work');
  return { workPrev: null, ...none, sighting: { work: work.id, index: ctx.index, count: ctx.view.sightings(work.id) + 1 } };
}

export function accredit(ctx: Context, p: AccreditPayload): Effects {
  const registrar = ctx.view.registrar();
  if (ctx.signer !== registrar) {
    throw new CartularyError('unauthorised', `only the ledger's registrar${registrar ? ` (${registrar})` : ''} may accredit mediators`, {
      field: 'payload.mediator',
      ...(registrar ? { info: { registrar } } : {}),
    });
  }
  if (p.until !== undefined && p.until <= ctx.time) {
    throw new CartularyError('invalid', `payload.until: ${iso(p.until)} is not after the ledger's clock (${iso(ctx.time)})`, { field: 'payload.until' });
  }
  return { workPrev: null, ...none, mediator: { party: namedParty(p.mediator, 'payload.mediator', ctx.time), index: ctx.index, from: ctx.time, until: p.until ?? null } };
}

const CLAIM_STATUS = { uphold: 'upheld', settle: 'settled', dismiss: 'dismissed' } as const;

export function resolve(ctx: Context, p: ResolvePayload): Effects {
  const accreditation = ctx.view.mediator(ctx.signer);
  if (!accreditation) {
    throw new CartularyError('unauthorised', 'only a mediator accredited by the registrar may resolve a dispute; the signer is not accredited', { field: 'payload' });
  }
  if (accreditation.until !== null && accreditation.until <= ctx.time) {
    throw new CartularyError('unauthorised', `the signer's accreditation as a mediator ended at ${iso(accreditation.until)}`, { field: 'payload', info: { until: accreditation.until } });
  }
  const work = existingWork(ctx.view, toHex(p.work), 'payload.work');
  const partyTo = (party: string) => {
    if (party === ctx.signer) throw new CartularyError('unauthorised', 'a mediator may not decide a dispute it is a party to', { field: 'payload' });
  };
  partyTo(work.owner);
  const resolution = {
    id: ctx.id,
    work: work.id,
    mediator: ctx.signer,
    accreditation: accreditation.index,
    decision: p.decision,
    award: null as string | null,
    claim: null as string | null,
    index: ctx.index,
    time: ctx.time,
  };
  const effects: Effects = { workPrev: work.head, works: [{ before: work, after: touch(work, ctx) }], licences: [] };

  if (p.claim) {
    const id = toHex(p.claim);
    const claimed = ctx.view.claim(id);
    if (!claimed) throw new CartularyError('not-found', `payload.claim: claim ${id} is not in the ledger`, { field: 'payload.claim' });
    if (claimed.work !== work.id) throw new CartularyError('invalid', `payload.claim: claim ${id} is about work ${claimed.work}, not ${work.id}`, { field: 'payload.claim' });
    if (claimed.status !== 'open') throw new CartularyError('conflict', `payload.claim: claim ${id} was already closed (${claimed.status}) at index ${claimed.resolvedIndex}`, { field: 'payload.claim' });
    partyTo(claimed.claimant);
    const status = CLAIM_STATUS[p.decision as keyof typeof CLAIM_STATUS];
    return { ...effects, claim: { ...claimed, status, resolvedIndex: ctx.index }, resolution: { ...resolution, claim: id } };
  }

  // A contest: award names the registration that holds title to the work's content (itself,
  // another registration of the same content, or a lookalike it contested or was contested
  // by: the content is then a copy of that work, and judged as it); dismiss leaves it with the
  // one that held it.
  const content = ctx.view.content(work.sha256) as ContentRecord;
  if (!contestOpen(ctx.view, work)) {
    throw new CartularyError('conflict', `payload.work: work ${work.id} is not contested${content.award ? ` (its contest ended at index ${content.award.index})` : ''}`, { field: 'payload.work' });
  }
  const holder = existingWork(ctx.view, p.award ? toHex(p.award) : (content.award?.work ?? content.first), 'payload.award');
  if (holder.sha256 !== work.sha256) {
    // From rules 3, a lookalike (either way) may be given title to the work's content: the
    // content is then judged as the lookalike's (check.ts judge), whatever becomes of it.
    const lookalike = work.lookalikes.includes(holder.id) || holder.lookalikes.includes(work.id);
    if (!(p.decision === 'award' && lookalike && statementRulesAt(ctx.time) >= 3)) {
      throw new CartularyError(
        'invalid',
        `payload.award: work ${holder.id} is a registration of other content (${holder.sha256}), and no lookalike of work ${work.id}: title to a content goes to one of its own registrations, or to a work its fingerprints matched`,
        { field: 'payload.award' },
      );
    }
    const over = supersededBy(ctx.view, holder);
    if (over) throw new CartularyError('conflict', `payload.award: work ${holder.id} was itself superseded by work ${over}: award title to the work that holds it`, { field: 'payload.award', info: { award: over } });
  }
  partyTo(holder.owner);
  const award = { work: holder.id, decision: p.decision as 'award' | 'dismiss', index: ctx.index, since: ctx.time, reopened: null };
  return { ...effects, content: { ...content, award }, resolution: { ...resolution, award: holder.id } };
}
