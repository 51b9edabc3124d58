/** JSON views of entries, works, licences and parties, as the API serves them. */
import { toBase64, toHex } from '../core/bytes.js';
import { parseStatement } from '../core/cose.js';
import { CartularyError } from '../core/errors.js';
import { decodeLeaf } from '../core/leaf.js';
import { hashLeaf } from '../core/merkle.js';
import { titled } from '../core/disputes.js';
import type { LedgerView, LicenceRecord, WorkRecord } from '../core/records.js';
import { licenceStanding } from '../core/rules.js';
import { payloadJson } from '../core/statements.js';
import type { LedgerStorage, StoreView } from '../store/storage.js';

export function entryView(view: StoreView, index: number) {
  const bytes = view.leaf(index);
  if (!bytes) throw new CartularyError('not-found', `no entry at index ${index}`);
  const leaf = decodeLeaf(bytes);
  // A leaf names its own index: one stored under another (a store edited behind the ledger) is damage, not an answer.
  if (leaf.index !== index) throw new CartularyError('corrupt', `the leaf stored at index ${index} is entry ${leaf.index}'s`);
  const statement = parseStatement(leaf.statement);
  return {
    index,
    id: toHex(statement.id),
    time: leaf.time,
    leaf: toBase64(bytes),
    leafHash: toHex(hashLeaf(bytes)),
    workPrev: leaf.workPrev,
    signer: toHex(statement.signer),
    type: statement.payload.type as string,
    payload: payloadJson(statement.payload) as Record<string, unknown>,
  };
}

export function licenceView(view: LedgerView, licence: LicenceRecord, now: number) {
  return { ...licence, standing: licenceStanding(view, licence, now) ?? 'standing' };
}

/** How many items of each list a work's view carries inline; the rest are paged (/v1/works/:id/licences, …/history). */
export const WORK_VIEW_LICENCES = 100;

/** Licence views for ids, with their standing at `now`. */
export function licenceViews(view: LedgerView, ids: readonly string[], now: number) {
  return ids.flatMap((id) => {
    const l = view.licence(id);
    return l ? [licenceView(view, l, now)] : [];
  });
}

/** A work's record with its status as it stands now (an award settles or supersedes it: see disputes.ts), the award and its sighting count. */
export function workSummary(view: LedgerView, work: WorkRecord) {
  return { ...titled(view, work), sightings: view.sightings(work.id) };
}

/**
 * A work with the first page of each of its lists (licences, entries, rivals): the record
 * says how many there are in all, and each list has a paged route.
 */
export async function workView(store: LedgerStorage, work: WorkRecord, now: number) {
  const limit = WORK_VIEW_LICENCES;
  const [licences, history, sameContent, lookalikes] = await Promise.all([
    store.licencesOf(work, { limit }),
    store.entriesOf(work, { limit }),
    store.registrationsOf(work.sha256, { limit: limit + 1 }),
    store.rivalsOf(work, limit),
  ]);
  const contestedBy = [...sameContent.filter((id) => id !== work.id), ...lookalikes].slice(0, limit);
  return store.read((view) => ({
    ...workSummary(view, work),
    contestedBy,
    licences: licenceViews(view, licences, now),
    history,
  }));
}
