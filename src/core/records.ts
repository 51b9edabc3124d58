/**
 * The ledger's derived state: what a replay of the log through the rules produces.
 * Ids, parties and hashes are lowercase hex; times are the ledger's ms.
 */
import type { FrameHash } from './fingerprint.js';
import type { MatchingRules, Probe } from './similarity.js';
import type { Decision, Use } from './statements.js';

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
  /** the index of its registration */
  registeredIndex: number;
  /**
   * The first registration by another party that contested this one (the same content, or a
   * lookalike by fingerprints) and from when; null while none does. One record per work,
   * whatever the number of rivals: the rest are listed from the store's indexes (issue 10.4).
   */
  contest: { by: string; since: number } | null;
  status: WorkStatus;
  /** earlier works of other parties whose frames this registration matched (at most MAX_LOOKALIKES) */
  lookalikes: string[];
  /** how many licences have been granted on this work (the store lists them, paged) */
  licenceCount: number;
  /** how many of them are exclusive and unrevoked: while none is, a non-exclusive licence's overlap check reads nothing */
  exclusives: number;
  /** how many entries are about this work (the store lists them, paged) */
  entries: number;
  /** the index of the latest entry about this work: the next entry's workPrev */
  head: number;
  /** other titles of the work, as registered (for the title match of the check) */
  aliases?: string[];
  /** the latest protection window its owner declared (DESIGN §4 `protect`), if any */
  protection?: Protection;
  /** for a registration with fingerprints: the version of the matching rules that decided its contests */
  matching?: number;
}

/** A protection window: from its entry until `until` (ledger ms), in `territories` (null: everywhere). */
export interface Protection {
  since: number;
  until: number;
  territories: string[] | null;
  /** the protect entry */
  index: number;
}

/**
 * One content (SHA-256): its earliest registration and how many there are, and, once a
 * mediator has ended its contest, which registration holds title. The award is stored here
 * once: every other registration of the content is `superseded`, derived when read, so an
 * award rewrites no rival's record however many there are (issue 10.4).
 */
export interface ContentRecord {
  sha256: string;
  first: string;
  count: number;
  /** absent until a mediator ends the contest */
  award?: Award;
}

export interface Award {
  /** the registration that holds title (for `dismiss`, the earliest: nothing changes hands) */
  work: string;
  decision: 'award' | 'dismiss';
  /** the resolve entry, and when it was sequenced */
  index: number;
  since: number;
  /** a registration by another party after the award reopens the contest from then */
  reopened: number | null;
}

/** An infringement claim (`claim`), open until a mediator resolves it. */
export interface ClaimRecord {
  id: string;
  work: string;
  claimant: string;
  index: number;
  time: number;
  status: 'open' | 'upheld' | 'settled' | 'dismissed';
  /** the resolve entry that closed it */
  resolvedIndex: number | null;
}

/** A mediator's accreditation by the registrar; the latest `accredit` stands. */
export interface MediatorRecord {
  party: string;
  /** the accredit entry */
  index: number;
  from: number;
  until: number | null;
}

/** One `resolve`: who decided what, under which accreditation. */
export interface ResolutionRecord {
  id: string;
  work: string;
  mediator: string;
  /** the accredit entry in force when it was sequenced: evidence cites it */
  accreditation: number;
  decision: Decision;
  award: string | null;
  claim: string | null;
  index: number;
  time: number;
}

/**
 * What one party holds of one content: the work it registered with it, if any, and how many
 * works with it the party owns now. The rule "the same party may not register a content
 * twice" reads this one record, not every registration of the content.
 */
export interface HoldingRecord {
  sha256: string;
  party: string;
  registered: string | null;
  owned: number;
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
  content(sha256: string): ContentRecord | undefined;
  holding(sha256: string, party: string): HoldingRecord | undefined;
  party(party: string): PartyRecord | undefined;
  claim(id: string): ClaimRecord | undefined;
  mediator(party: string): MediatorRecord | undefined;
  /** how many sightings of the work have been recorded */
  sightings(work: string): number;
  /** the ledger's registrar (fixed at init), who alone accredits mediators; undefined if none is known */
  registrar(): string | undefined;
  /**
   * What each index of registered works' frames (the store's, a batch's overlay) finds of the
   * given frames under `rules`, for `probeHits` to decide on together (see similarity.ts)
   */
  frameProbes(frames: readonly FrameHash[], rules: MatchingRules): Probe[];
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
  content?: ContentRecord;
  holdings?: HoldingRecord[];
  party?: PartyRecord;
  /** the licences a licensee now holds on a work, when a licence is granted */
  held?: { work: string; licensee: string; licences: string[] };
  /** a registration's fingerprint frames, as signed, for the similarity index */
  frames?: { work: string; bytes: Uint8Array };
  /** a registration's soundtrack fingerprint, as signed, for the sound index (a check's evidence, never a rule's) */
  sound?: { work: string; bytes: Uint8Array };
  /** a registration's keypoint patches, as signed, for the patch index (likewise) */
  patches?: { work: string; bytes: Uint8Array };
  claim?: ClaimRecord;
  mediator?: MediatorRecord;
  resolution?: ResolutionRecord;
  /** a sighting, listed under its work (out of the work's chain) with the work's new count */
  sighting?: { work: string; index: number; count: number };
}

/** An entry listed under a work: in its chain of title, or among its sightings (kept out of the chain). */
export interface ListedEntry {
  list: 'chain' | 'sightings';
  work: string;
  index: number;
}

/**
 * Where this statement's entry is listed: under each work whose head it moves, and under the
 * work it is a sighting of. One listing per entry, so they cannot be rebuilt from final
 * records (audit collects them while it replays).
 */
export function listedEntries(effects: Effects): ListedEntry[] {
  return [
    ...effects.works.filter(({ before, after }) => before?.head !== after.head).map(({ after }) => ({ list: 'chain' as const, work: after.id, index: after.head })),
    ...(effects.sighting ? [{ list: 'sightings' as const, work: effects.sighting.work, index: effects.sighting.index }] : []),
  ];
}
