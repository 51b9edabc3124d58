/**
 * The exclusivity index (issue 10.4): where the store files each standing licence so that
 * the rule "no two standing licences overlap where either is exclusive" reads only the
 * licences that could overlap a new one, however many the work already has.
 *
 * A licence is filed once per use × territory it names ('*' is a territory cell of its own)
 * and once per use in that use's ANY cell; exclusive licences again in a space of their own.
 * Within a cell, keys sort by the licence's end, so a scan from the new licence's start skips
 * every licence that ended before it. A new licence scans, per use, the cells of its own
 * territories and the world cell — or, naming the world itself, the use's ANY cell.
 */
import { concatBytes, fromHex, readUintBE, toHex, uintBE } from '../core/bytes.js';
import type { LicenceRecord, OverlapQuery } from '../core/records.js';
import { USES } from '../core/statements.js';
import { WORLD } from '../core/territories.js';
import { key, prefixRange } from './layout.js';

const WORLD_CELL = '**';
const ANY_CELL = '++';
const OPEN_END = Number.MAX_SAFE_INTEGER;

const useIndex = (use: string) => (USES as readonly string[]).indexOf(use);
const cellOf = (t: string) => (t === WORLD ? WORLD_CELL : t);

/** Every key under which a standing licence is filed, with its value. */
export function licenceEntries(l: LicenceRecord): Array<{ key: Uint8Array; value: Uint8Array }> {
  const value = concatBytes(uintBE(l.validFrom, 8), fromHex(l.id, 'licence id', 32));
  const suffix = concatBytes(uintBE(l.validUntil ?? OPEN_END, 8), uintBE(l.index, 8));
  const out: Array<{ key: Uint8Array; value: Uint8Array }> = [];
  for (const space of l.exclusive ? (['a', 'x'] as const) : (['a'] as const)) {
    for (const use of l.uses) {
      for (const t of [...l.territories.map(cellOf), ANY_CELL]) out.push({ key: concatBytes(key.cell(l.work, space, useIndex(use), t), suffix), value });
    }
  }
  return out;
}

/** The cells a query scans: the ranges of keys whose licences may meet its scope. */
export function queryRanges(q: OverlapQuery): Array<{ gte: Uint8Array; lt: Uint8Array }> {
  const space = q.exclusiveOnly ? 'x' : 'a';
  const territories = q.territories.includes(WORLD) ? [ANY_CELL] : [...q.territories, WORLD_CELL];
  return q.uses.flatMap((use) =>
    territories.map((t) => {
      const cell = key.cell(q.work, space, useIndex(use), t);
      // Licences that end after the new one starts (ends are exclusive).
      return { gte: concatBytes(cell, uintBE(q.from + 1, 8)), lt: prefixRange(cell).lt };
    }),
  );
}

/** Whether a filed entry starts before the query's end: then it overlaps in time too. */
export function entryMeets(value: Uint8Array, q: OverlapQuery): { meets: boolean; licence: string } {
  return { meets: readUintBE(value, 0, 8) < (q.until ?? Infinity), licence: toHex(value.subarray(8, 40)) };
}
