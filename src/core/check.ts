/**
 * The pre-publish check (DESIGN §8): may this uploader use this content this way, here, now?
 * One verdict, the works matched, the licence that allows the use if any, and why not.
 */
import type { LedgerView, LicenceRecord, WorkRecord } from './records.js';
import { licenceStanding } from './rules.js';
import { coversTerritory, coversUse } from './scope.js';

export type Verdict = 'unregistered' | 'owner' | 'licensed' | 'unlicensed' | 'contested';
export type RefusalReason = 'no-licence' | 'revoked' | 'parent-ended' | 'expired' | 'not-yet-valid' | 'wrong-use' | 'wrong-territory';

export interface CheckQuery {
  sha256: string;
  uploader: string;
  use: string;
  territory: string;
  at: number;
}

export interface CheckResult {
  verdict: Verdict;
  works: WorkRecord[];
  /** the licence that allows the use, for `licensed` */
  licence: LicenceRecord | null;
  /** for `unlicensed`: each licence the uploader holds on the work and why it does not allow the use */
  reasons: Array<{ licence: string | null; reason: RefusalReason }>;
}

export function checkUse(view: LedgerView, q: CheckQuery): CheckResult {
  const works = view.worksBySha(q.sha256).flatMap((id) => view.work(id) ?? []);
  const result = (verdict: Verdict, extra: Partial<CheckResult> = {}): CheckResult => ({ verdict, works, licence: null, reasons: [], ...extra });
  const [work] = works;
  if (!work) return result('unregistered');
  if (works.length > 1 || work.status === 'contested') return result('contested');
  if (work.owner === q.uploader) return result('owner');

  const reasons: CheckResult['reasons'] = [];
  for (const id of work.licences) {
    const licence = view.licence(id);
    if (!licence || licence.licensee !== q.uploader) continue;
    const reason: RefusalReason | null =
      licenceStanding(view, licence, q.at) ??
      (!coversUse(licence, q.use) ? 'wrong-use' : !coversTerritory(licence, q.territory) ? 'wrong-territory' : null);
    if (reason === null) return result('licensed', { licence });
    reasons.push({ licence: licence.id, reason });
  }
  return result('unlicensed', { reasons: reasons.length > 0 ? reasons : [{ licence: null, reason: 'no-licence' }] });
}
