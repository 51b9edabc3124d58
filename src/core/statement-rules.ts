/**
 * The versions of the statement rules, each in force for the entries sequenced from its
 * instant (the leaf's `time`), as the matching rules' are (similarity.ts): an entry keeps the
 * meaning it was accepted under, and a replay (audit, the offline verifier) judges each entry
 * by the rules of its time, so a tightened rule never turns an earlier entry into a fault.
 *
 * - 1: the rules as first published.
 * - 2: a licensee holds at most MAX_HELD_LICENCES licences of one work (each licence rewrote
 *   the list of those held, so the n-th cost n, and a check read them all); an exclusive
 *   licensee's claim needs its licence standing, its parents' included; a superseded
 *   registration can no longer be protected, and its protection no longer answers checks
 *   judged from then; the party a transfer, licence or accreditation names must be a key
 *   one holder alone can sign for (not of small order, canonical).
 * - 3: a licence granted by a work's owner is revoked by whoever owns the work at the time
 *   (a successor in title steps into the licensor's place): a seller could revoke the
 *   licences on the work it had sold, and the buyer could not revoke them at all. A
 *   sublicence is still revoked by its grantor, the licensee it was granted under.
 */
export const STATEMENT_RULES = [
  { version: 1, from: 0 },
  { version: 2, from: Date.UTC(2026, 11, 5, 23) },
  { version: 3, from: Date.UTC(2026, 11, 6, 1) },
] as const;

export function statementRulesAt(time: number): number {
  let version = 1;
  for (const r of STATEMENT_RULES) if (time >= r.from) version = r.version;
  return version;
}

/** From rules 2: the licences one licensee may hold of one work, standing or not. */
export const MAX_HELD_LICENCES = 256;
