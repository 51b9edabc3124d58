/**
 * The ledger's derived state: what a replay of the log through the rules produces.
 * Ids, parties and hashes are lowercase hex; times are the ledger's ms.
 */
import type { FrameHash } from './fingerprint.js';
import type { FrameHit } from './similarity.js';
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
  /** licence ids granted on this work, in ledger order */
  licences: string[];
  /** indices of every leaf about this work, in order; the last is the next entry's workPrev */
  history: number[];
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

/** What the rules read; the store, a batch overlay and the offline verifier each provide one. */
export interface LedgerView {
  work(id: string): WorkRecord | undefined;
  licence(id: string): LicenceRecord | undefined;
  /** ids of the works registered with this content, earliest first */
  worksBySha(sha256: string): readonly string[];
  party(party: string): PartyRecord | undefined;
  /** indexed frames of registered works near the given frames (see similarity.ts) */
  frameHits(frames: readonly FrameHash[]): FrameHit[];
}

/** The state changes of one accepted statement, for the store to write in its batch. */
export interface Effects {
  workPrev: number | null;
  works: Array<{ before: WorkRecord | undefined; after: WorkRecord }>;
  licences: Array<{ before: LicenceRecord | undefined; after: LicenceRecord }>;
  sha?: { sha256: string; works: string[] };
  party?: PartyRecord;
  /** a registration's fingerprint frames, as signed, for the similarity index */
  frames?: { work: string; bytes: Uint8Array };
}
