/**
 * An in-memory LedgerView that applies Effects, optionally layered over another view.
 * It is the whole state for the offline verifier and for tests, and the per-batch overlay
 * on top of the store in the sequencer (reads fall through to the base).
 */
import { decodeFrames, type FrameHash } from './fingerprint.js';
import type {
  ClaimRecord,
  ContentRecord,
  Effects,
  HoldingRecord,
  LedgerView,
  LicenceRecord,
  MediatorRecord,
  OverlapQuery,
  PartyRecord,
  ResolutionRecord,
  WorkRecord,
} from './records.js';
import { scopesOverlap } from './scope.js';
import type { Use } from './statements.js';
import { perBucketOf, SimilarityIndex, type MatchingRules, type Probe } from './similarity.js';

/** A registered work's fingerprints as signed: its frames, its soundtrack and its keypoint patches, each optional. */
export interface Prints {
  frames?: Uint8Array;
  sound?: Uint8Array;
  patches?: Uint8Array;
}
/** Every kind of Prints: each is an Effects field, a record of the store and a key of its own. */
export const PRINT_KINDS = ['frames', 'sound', 'patches'] as const satisfies ReadonlyArray<keyof Prints>;

/** The fingerprints an entry's effects carry (a registration's: every kind is of its one work), if any. */
export function printsIn(effects: Effects): { work: string; prints: Prints } | undefined {
  let work: string | undefined;
  const prints: Prints = {};
  for (const kind of PRINT_KINDS) {
    const print = effects[kind];
    if (!print) continue;
    prints[kind] = print.bytes;
    work = print.work;
  }
  return work === undefined ? undefined : { work, prints };
}

export class MemoryState implements LedgerView {
  readonly works = new Map<string, WorkRecord>();
  readonly licences = new Map<string, LicenceRecord>();
  readonly contents = new Map<string, ContentRecord>();
  /** `${sha256}/${party}` → holding; an emptied holding stays as null so it hides the base's */
  readonly holdings = new Map<string, HoldingRecord | null>();
  readonly parties = new Map<string, PartyRecord>();
  /** the fingerprints (as signed) of the works registered in this state, for the store's indexes once durable */
  readonly prints = new Map<string, Prints>();
  /** `${work}/${licensee}` → the licences held, as the store keeps them */
  readonly held = new Map<string, string[]>();
  readonly claims = new Map<string, ClaimRecord>();
  readonly mediators = new Map<string, MediatorRecord>();
  readonly resolutions = new Map<string, ResolutionRecord>();
  /** work → how many sightings of it */
  readonly sightingCounts = new Map<string, number>();
  /** the licences granted in this state (not the base), by work */
  private readonly byWork = new Map<string, string[]>();
  private readonly similarity = new SimilarityIndex();

  /**
   * `registrar`: the ledger's registrar, for a state that has no base (the verifier takes it
   * from the bundle's attested claims, audit from the store's metadata).
   */
  constructor(
    private readonly base?: LedgerView,
    private readonly registrarParty?: string,
  ) {}

  work(id: string): WorkRecord | undefined {
    return this.works.get(id) ?? this.base?.work(id);
  }
  licence(id: string): LicenceRecord | undefined {
    return this.licences.get(id) ?? this.base?.licence(id);
  }
  content(sha256: string): ContentRecord | undefined {
    return this.contents.get(sha256) ?? this.base?.content(sha256);
  }
  holding(sha256: string, party: string): HoldingRecord | undefined {
    const own = this.holdings.get(`${sha256}/${party}`);
    return own === null ? undefined : (own ?? this.base?.holding(sha256, party));
  }
  party(party: string): PartyRecord | undefined {
    return this.parties.get(party) ?? this.base?.party(party);
  }

  claim(id: string): ClaimRecord | undefined {
    return this.claims.get(id) ?? this.base?.claim(id);
  }
  mediator(party: string): MediatorRecord | undefined {
    return this.mediators.get(party) ?? this.base?.mediator(party);
  }
  sightings(work: string): number {
    return this.sightingCounts.get(work) ?? this.base?.sightings(work) ?? 0;
  }
  registrar(): string | undefined {
    return this.registrarParty ?? this.base?.registrar();
  }

  frameProbes(frames: readonly FrameHash[], rules: MatchingRules): Probe[] {
    return [...(this.base?.frameProbes(frames, rules) ?? []), this.similarity.probe(frames, { rules })];
  }

  licencesHeld(work: string, licensee: string): readonly string[] {
    return this.held.get(`${work}/${licensee}`) ?? this.base?.licencesHeld(work, licensee) ?? [];
  }

  // The licences granted here are scanned whole: an overlay holds one batch, and the offline
  // verifier only the entries of one bundle.
  overlapCandidates(q: OverlapQuery): readonly string[] {
    const own = (this.byWork.get(q.work) ?? []).filter((id) => {
      const l = this.licences.get(id) as LicenceRecord;
      return (!q.exclusiveOnly || l.exclusive) && scopesOverlap(l, { uses: q.uses as Use[], territories: q.territories as string[], validFrom: q.from, validUntil: q.until });
    });
    return [...(this.base?.overlapCandidates(q) ?? []), ...own];
  }

  apply(effects: Effects): void {
    const registered = printsIn(effects);
    if (registered) this.prints.set(registered.work, { ...this.prints.get(registered.work), ...registered.prints });
    if (effects.frames) {
      const registration = effects.works.find((w) => w.after.id === effects.frames?.work)?.after ?? { registeredIndex: 0, matching: undefined };
      this.similarity.add(effects.frames.work, registration.registeredIndex, decodeFrames(effects.frames.bytes), perBucketOf(registration.matching));
    }
    for (const { after } of effects.works) this.works.set(after.id, after);
    for (const { before, after } of effects.licences) {
      this.licences.set(after.id, after);
      if (!before) (this.byWork.get(after.work) ?? this.byWork.set(after.work, []).get(after.work)!).push(after.id);
    }
    if (effects.held) this.held.set(`${effects.held.work}/${effects.held.licensee}`, effects.held.licences);
    if (effects.content) this.contents.set(effects.content.sha256, effects.content);
    for (const h of effects.holdings ?? []) this.holdings.set(`${h.sha256}/${h.party}`, isEmptyHolding(h) ? null : h);
    if (effects.party) this.parties.set(effects.party.party, effects.party);
    if (effects.claim) this.claims.set(effects.claim.id, effects.claim);
    if (effects.mediator) this.mediators.set(effects.mediator.party, effects.mediator);
    if (effects.resolution) this.resolutions.set(effects.resolution.id, effects.resolution);
    if (effects.sighting) this.sightingCounts.set(effects.sighting.work, effects.sighting.count);
  }
}

/** A holding with nothing in it is not kept: it reads as absent. */
export const isEmptyHolding = (h: HoldingRecord): boolean => h.registered === null && h.owned === 0;
