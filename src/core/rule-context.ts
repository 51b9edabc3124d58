/** What every rule of the ledger reads about the entry being sequenced, and the lookups they share. */
import { toHex } from './bytes.js';
import { isStrictPublicKey } from './crypto.js';
import { CartularyError } from './errors.js';
import type { LedgerView, LicenceRecord, WorkRecord } from './records.js';
import { statementRulesAt } from './statement-rules.js';

export interface Context {
  view: LedgerView;
  signer: string;
  id: string;
  index: number;
  time: number;
}

export function existingWork(view: LedgerView, id: string, field: string): WorkRecord {
  const work = view.work(id);
  if (!work) throw new CartularyError('not-found', `${field}: work ${id} is not in the ledger`, { field, info: { work: id } });
  return work;
}

export function existingLicence(view: LedgerView, id: string, field: string): LicenceRecord {
  const licence = view.licence(id);
  if (!licence) throw new CartularyError('not-found', `${field}: licence ${id} is not in the ledger`, { field, info: { licence: id } });
  return licence;
}

/** This entry is the work's latest: the previous latest is its workPrev. */
export function touch(work: WorkRecord, ctx: Context): WorkRecord {
  return { ...work, entries: work.entries + 1, head: ctx.index };
}

/**
 * A party a statement hands something to (title, a licence, an accreditation), as hex. From
 * rules 2 it must be a key one holder alone can sign for: not of small order, canonical
 * (crypto.ts), or anyone could act as the new owner, licensee or mediator.
 */
export function namedParty(key: Uint8Array, field: string, time: number): string {
  if (statementRulesAt(time) >= 2 && !isStrictPublicKey(key)) {
    throw new CartularyError('invalid', `${field}: not a usable Ed25519 public key (of small order, or not canonical): anyone could act as it`, { field });
  }
  return toHex(key);
}
