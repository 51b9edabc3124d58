/**
 * Protection windows (DESIGN §4 `protect`, issue 13.5): the copyright early-warning list. The
 * owner of a work declares a window; until it ends, a check by anyone who is neither the
 * owner nor a licensee, finding the work by any evidence — exact, a fingerprint match at
 * review strength, or its title — is answered `unlicensed`, not left for review.
 */
import { toHex } from './bytes.js';
import { ownerAt } from './check.js';
import { CartularyError } from './errors.js';
import type { Effects, LedgerView, WorkRecord } from './records.js';
import { existingWork, touch, type Context } from './rule-context.js';
import { licenceStanding } from './rules.js';
import { notSuperseded, supersededBy } from './disputes.js';
import { statementRulesAt } from './statement-rules.js';
import type { ProtectPayload } from './statements.js';
import { WORLD } from './territories.js';

export function protect(ctx: Context, p: ProtectPayload): Effects {
  const work = existingWork(ctx.view, toHex(p.work), 'payload.work');
  if (work.owner !== ctx.signer) {
    throw new CartularyError('unauthorised', `only the owner of work ${work.id} may protect it`, { field: 'payload.work', info: { owner: work.owner } });
  }
  if (statementRulesAt(ctx.time) >= 2) notSuperseded(ctx.view, work, 'protect');
  if (p.until <= ctx.time) {
    throw new CartularyError('invalid', `payload.until: ${new Date(p.until).toISOString()} has passed; a protection window must end in the future`, { field: 'payload.until' });
  }
  const protection = { since: ctx.time, until: p.until, territories: p.territories ?? null, index: ctx.index };
  return { workPrev: work.head, works: [{ before: work, after: { ...touch(work, ctx), protection } }], licences: [] };
}

/**
 * Whether `work` was under protection against `uploader` at `at` in `territory`: a window
 * open then and there, and the uploader neither its owner then nor holding a licence of it
 * that stood then.
 */
export function protectedAgainst(view: LedgerView, work: WorkRecord, q: { uploader: string; territory: string; at: number }): boolean {
  const window = work.protection;
  // The window stands from its entry to its end; an upload everywhere reaches every territory.
  if (!window || q.at < window.since || q.at >= window.until) return false;
  if (window.territories && q.territory !== WORLD && !window.territories.includes(WORLD) && !window.territories.includes(q.territory)) return false;
  if (ownerAt(work, q.at) === q.uploader) return false;
  // A registration an award superseded protects nothing: its title went to another.
  if (statementRulesAt(q.at) >= 2 && supersededBy(view, work, q.at)) return false;
  return !view.licencesHeld(work.id, q.uploader).some((id) => {
    const licence = view.licence(id);
    return licence !== undefined && licence.grantedAt <= q.at && licenceStanding(view, licence, q.at) === null;
  });
}
