/**
 * Licence scope: uses × territories × time. Overlap decides exclusivity conflicts; "lies
 * within" decides whether a sublicence fits inside its parent (DESIGN §4).
 */
import type { LicenceRecord } from './records.js';
import { WORLD } from './territories.js';

type Scope = Pick<LicenceRecord, 'uses' | 'territories' | 'validFrom' | 'validUntil'>;

const until = (s: Scope) => s.validUntil ?? Infinity;

const territoriesMeet = (a: readonly string[], b: readonly string[]) =>
  a.includes(WORLD) || b.includes(WORLD) || a.some((t) => b.includes(t));

export function scopesOverlap(a: Scope, b: Scope): boolean {
  return (
    a.uses.some((u) => b.uses.includes(u)) &&
    territoriesMeet(a.territories, b.territories) &&
    a.validFrom < until(b) &&
    b.validFrom < until(a)
  );
}

/** Why `child` does not lie within `parent`, or null when it does. */
export function outsideScope(child: Scope, parent: Scope): string | null {
  const extraUses = child.uses.filter((u) => !parent.uses.includes(u));
  if (extraUses.length > 0) return `uses ${extraUses.join(', ')} are not in the parent licence`;
  if (!parent.territories.includes(WORLD)) {
    const extra = child.territories.filter((t) => !parent.territories.includes(t));
    if (extra.length > 0) return `territories ${extra.join(', ')} are not in the parent licence`;
  }
  if (child.validFrom < parent.validFrom) return 'it starts before the parent licence';
  if (until(child) > until(parent)) return 'it ends after the parent licence';
  return null;
}

/** Whether a licence covers one use in one territory (a request for "*" needs a world licence). */
export const coversUse = (s: Scope, use: string): boolean => (s.uses as readonly string[]).includes(use);
export const coversTerritory = (s: Scope, territory: string): boolean =>
  s.territories.includes(WORLD) || (territory !== WORLD && s.territories.includes(territory));
export const activeAt = (s: Scope, at: number): 'not-yet-valid' | 'expired' | null =>
  at < s.validFrom ? 'not-yet-valid' : at >= until(s) ? 'expired' : null;
