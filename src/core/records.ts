/**
 * The ledger's derived state: what a replay of the log through the rules produces.
 * Ids, parties and hashes are lowercase hex; times are the ledger's ms.
 */
import type { FrameHash } from './fingerprint.js';
import type { FrameHit, MatchingRules } from './similarity.js';
import type { Use } from './statements.js';

export type WorkStatus = 'registered' | 'contested';

export interface WorkRecord {
  id: string;
  sha256: string;
  title: string;
  mediaType: string;
  size: number;
  owner: string;
  registrant: string;
  registeredAt: number;
  /** who held title from when (ledger ms), oldest first; the last is `owner` (checks judge `at` by it) */
  owners: Array<{ party: string; from: number }>;
  /** works registered with the same content by other parties, earliest first */
  contestedBy: string[];
  status: WorkStatus;
  /** how many licences have been granted on this work (the store lists them, paged) */
  licenceCount: number;
  /** indices of every leaf about this work, in order; the last is the next entry's workPrev */
  history: number[];
  /** other titles of the work, as registered (for the title match of the check) */
  aliases?: string[];
  /** for a registration with fingerprints: the version of the matching rules that decided its contests */
  matching?: number;
}

export interface LicenceRecord {
  id: string;
  work: string;
  grantor: string;
  licensee: string;
  uses: Use[];
  territories: string[];
  /** effective start: `validFrom` as signed, or the time the licence was sequenced */
  validFrom: number;
  /** null: no end */
  validUntil: number | null;
  exclusive: boolean;
  sublicensable: boolean;
  parent: string | null;
  terms: string | null;
  index: number;
  grantedAt: number;
  revokedAt: number | null;
  revokedIndex: number | null;
}

export interface PartyRecord {
  party: string;
  name: string;
  url: string | null;
  index: number;
  updatedAt: number;
}

/**
 * The licences of a work that may overlap a scope, for the exclusivity rule: every standing
 * licence of `work` that shares a use and a territory with it and whose window meets
 * [from, until), or with `exclusiveOnly` only the exclusive ones. A superset is allowed (the
 * rules check each candidate exactly); answering from indexes keeps the cost of a new licence
 * independent of how many the work already has (issue 10.4).
 */
export interface OverlapQuery {
  work: string;
  uses: readonly string[];
  territories: readonly string[];
  from: number;
  until: number | null;
  exclusiveOnly: boolean;
}

/**
 * What the rules read; the store, a batch overlay and the offline verifier each provide one.
 * Every method answers synchronously from memory or a point read: range reads a store needs
 * are planned and fetched before the rules run (see Sequencer.prepare).
 */
export interface LedgerView {
  work(id: string): WorkRecord | undefined;
  licence(id: string): LicenceRecord | undefined;
  /** ids of the works registered with this content, earliest first */
  worksBySha(sha256: string): readonly string[];
  party(party: string): PartyRecord | undefined;
  /** indexed frames of registered works near the given frames, capped by `rules` (see similarity.ts) */
  frameHits(frames: readonly FrameHash[], rules?: MatchingRules): FrameHit[];
  /** ids of the licences `licensee` holds on `work`, in grant order */
  licencesHeld(work: string, licensee: string): readonly string[];
  /** candidates for the exclusivity rule (see OverlapQuery) */
  overlapCandidates(q: OverlapQuery): readonly string[];
}

/** The state changes of one accepted statement, for the store to write in its batch. */
export interface Effects {
  workPrev: number | null;
  works: Array<{ before: WorkRecord | undefined; after: WorkRecord }>;
  licences: Array<{ before: LicenceRecord | undefined; after: LicenceRecord }>;
  sha?: { sha256: string; works: string[] };
  party?: PartyRecord;
  /** the licences a licensee now holds on a work, when a licence is granted */
  held?: { work: string; licensee: string; licences: string[] };
  /** a registration's fingerprint frames, as signed, for the similarity index */
  frames?: { work: string; bytes: Uint8Array };
}
