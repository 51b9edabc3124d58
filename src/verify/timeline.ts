/**
 * A bundle's entries as a timeline people read: what each entry did, who signed it, when
 * the ledger sequenced it. Pure, for every reader of a chain of title — `cartulary
 * history`, the explorer and the certificate. It reads the bundle as given: verify it
 * first (verifyBundle) before showing what it says.
 */
import { fromBase64, toHex } from '../core/bytes.js';
import { parseStatement } from '../core/cose.js';
import { decodeLeaf } from '../core/leaf.js';
import { payloadJson } from '../core/statements.js';
import type { EvidenceBundle } from './bundle.js';

export interface TimelineEntry {
  index: number;
  /** the ledger's clock when the entry was sequenced, ms */
  time: number;
  /** the statement's id (a registration's id is its work's id) */
  id: string;
  type: string;
  signer: string;
  /** the payload as JSON: byte strings as hex */
  payload: Record<string, unknown>;
}

export function timeline(bundle: EvidenceBundle): TimelineEntry[] {
  return bundle.entries.map((e) => {
    const leaf = decodeLeaf(fromBase64(e.leaf, `entry ${e.index} leaf`));
    const s = parseStatement(leaf.statement, { stored: true });
    const payload = payloadJson(s.payload) as Record<string, unknown>;
    return { index: e.index, time: leaf.time, id: toHex(s.id), type: String(payload.type), signer: toHex(s.signer), payload };
  });
}

/**
 * What another work's registration in a work's chain is to it: a registration of the same
 * bytes, or a lookalike (other bytes whose fingerprints matched, a re-encode or a crop), which
 * a reader must not take for a byte-identical copy. Empty for anything else.
 */
export function rivalNote(e: TimelineEntry, work: { id: string; sha256: string } | undefined): string {
  if (e.type !== 'register' || !work || e.id === work.id) return '';
  return e.payload.sha256 === work.sha256 ? ' (another registration of the same content)' : ' (a lookalike: other content, whose fingerprints matched)';
}

/** Every party a timeline names (signers, transferees, licensees), first mention first. */
export function partiesOf(entries: readonly TimelineEntry[]): string[] {
  const found = new Set<string>();
  for (const e of entries) {
    found.add(e.signer);
    for (const field of ['to', 'licensee', 'mediator'] as const) {
      const party = e.payload[field];
      if (typeof party === 'string') found.add(party);
    }
  }
  return [...found];
}

/** How a party is shown: a name when one is known, else a short id. */
export type PartyName = (party: string) => string;

export const shortId = (hex: unknown): string => (typeof hex === 'string' ? `${hex.slice(0, 12)}…` : String(hex));
const day = (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString().slice(0, 10) : 'open');
const DAY_MS = 86_400_000;
/**
 * The end of a window, which is exclusive: one ending at midnight UTC (a day given on the
 * command line, or none) reads as the last day it covers, any other end as its instant.
 */
const ending = (ms: unknown) =>
  typeof ms !== 'number' ? 'with no end' : ms % DAY_MS === 0 ? `through ${day(ms - DAY_MS)}` : `until ${new Date(ms).toISOString()}`;
const list = (v: unknown) => (Array.isArray(v) ? v.join(', ') : '');

/** The characters that reverse or reorder the text after them, as a character class's contents. */
export const BIDI_CONTROLS = '\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';
const BIDI = new RegExp(`[${BIDI_CONTROLS}]`, 'g');

/**
 * Text anyone signed, for display beside other text: without the controls that reverse or
 * reorder what follows (a name "Bob U+202E gnp.exe" showed the party id after it reversed,
 * and a title could reverse a licence's terms on the same line).
 */
export const withoutBidiControls = (text: string): string => text.replace(BIDI, '');

/** A time in a video, mm:ss. */
export const mediaClock = (ms: number): string => {
  const s = Math.round(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};

/** Where a matched segment lies: "upload 00:00–00:08 ↔ work 00:12–00:20", with its speed when not 1×. */
export const segmentText = (s: { upload: readonly [number, number]; work: readonly [number, number]; speed?: number }): string =>
  `upload ${mediaClock(s.upload[0])}–${mediaClock(s.upload[1])} ↔ work ${mediaClock(s.work[0])}–${mediaClock(s.work[1])}${s.speed === undefined || s.speed === 1 ? '' : ` at ${s.speed}×`}`;

/** The parts of a work's state its status is told from: the server's work view and the verifier's result both carry them. */
export interface TitleState {
  id: string;
  status: string;
  contest: { by: string; since: number } | null;
  award: { work: string; decision: string; index: number; since: number; reopened: number | null } | null;
}

/**
 * A work's status in words, with what made it so: the contest and since when, or the
 * mediator's decision that settled or superseded it (a work awarded title still carries the
 * contest it was once under: shown alone, it read as contested for ever).
 */
export function titleStatusText(work: TitleState, at: (ms: number) => string, id: (hex: string) => string = shortId): string {
  const { award, contest } = work;
  const decided = award ? ` (entry #${award.index}, ${at(award.since)})` : '';
  if (work.status === 'superseded' && award) return `superseded: a mediator's ${award.decision === 'award' ? 'award' : 'decision'}${decided} gave title to the registration ${id(award.work)}`;
  if (work.status === 'contested') {
    if (award && award.reopened !== null) return `contested: reopened ${at(award.reopened)} by a later registration of the same content, after a mediator's decision${decided}`;
    return contest ? `contested: since ${at(contest.since)}, by the registration ${id(contest.by)}` : 'contested';
  }
  if (award && award.work === work.id) return award.decision === 'award' ? `registered: a mediator awarded it title${decided}` : `registered: a mediator dismissed the contest${decided}`;
  return work.status;
}

/** One line saying what the entry did, with parties named by `name`. */
export function describeEntry(e: TimelineEntry, name: PartyName = shortId): string {
  return withoutBidiControls(entryText(e, name));
}

function entryText(e: TimelineEntry, name: PartyName): string {
  const p = e.payload;
  const by = name(e.signer);
  switch (e.type) {
    case 'register':
      return `registered "${p.title}" (${p.mediaType}, ${p.size} bytes, sha256 ${shortId(p.sha256)}) by ${by}`;
    case 'transfer':
      return `transferred by ${by} to ${name(String(p.to))}`;
    case 'license':
      return `licensed by ${by} to ${name(String(p.licensee))} (licence ${shortId(e.id)}): ${list(p.uses)} in ${list(p.territories)}, ${p.validFrom === undefined ? '' : `from ${day(p.validFrom)}, `}${ending(p.validUntil)}${p.exclusive ? ', exclusive' : ''}${p.parent ? `, under ${shortId(p.parent)}` : ''}`;
    case 'revoke':
      return `licence ${shortId(p.license)} revoked by ${by}${p.reason ? `: ${p.reason}` : ''}`;
    case 'party':
      return `profile of ${by}: "${p.name}"`;
    case 'protect':
      return `protected by ${by} ${ending(p.until)}${Array.isArray(p.territories) ? ` in ${list(p.territories)}` : ''}`;
    case 'claim': {
      const subject = p.subject as Record<string, unknown>;
      const capture = p.capture as Record<string, unknown>;
      const where = [subject.url, subject.platform, subject.reference].filter(Boolean).join(', ') || `a copy with sha256 ${shortId(subject.sha256)}`;
      // The claim's id is what a mediator's `resolve --claim` names.
      return `infringement claimed by ${by} (claim ${e.id}): ${where}, as ${list(p.uses)}; capture ${capture.mediaType}, ${capture.size} bytes, sha256 ${shortId(capture.sha256)}, captured ${new Date(capture.capturedAt as number).toISOString()}${p.text ? `; "${p.text}"` : ''}`;
    }
    case 'accredit':
      return `${name(String(p.mediator))} accredited as a mediator by the registrar ${by}${p.until ? ` ${ending(p.until)}` : ''}`;
    case 'resolve': {
      const decided = p.claim
        ? `claim ${shortId(p.claim)} ${p.decision === 'uphold' ? 'upheld' : p.decision === 'settle' ? 'settled' : 'dismissed'}`
        : p.decision === 'award'
          ? `title awarded to work ${shortId(p.award)}`
          : 'contest dismissed (title stays where it was)';
      return `${decided} by mediator ${by}${p.reason ? `: ${p.reason}` : ''}`;
    }
    default:
      return `${e.type} by ${by}`;
  }
}

/** A GET of the ledger's JSON API (the CLI's client, or fetch in the explorer). */
export type GetJson = <T>(path: string) => Promise<T>;

/**
 * The profile names of `parties`, from the ledger's /v1/parties: signed by each party, but
 * not part of the evidence. A party without a profile (or that the ledger does not know)
 * is left out; beyond `max` parties, one request each, the rest are shown by id.
 */
export async function profileNames(parties: readonly string[], get: GetJson, max = 50): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  await Promise.all(
    [...new Set(parties)].filter((p) => /^[0-9a-f]{64}$/.test(p)).slice(0, max).map(async (p) => {
      const found = await get<{ profile: { name: string } | null }>(`/v1/parties/${p}`).catch(() => null);
      if (found?.profile) names.set(p, withoutBidiControls(found.profile.name));
    }),
  );
  return names;
}
