/**
 * LevelDB key layout. Keys are bytes: a one-letter prefix, then fixed-width parts, with
 * numbers big-endian so that keys sort in numeric order.
 *
 *   L index            → leaf bytes                       (the log)
 *   N level index      → 32-byte hash of a perfect subtree (the Merkle tree)
 *   I id               → index, for statement id → entry  (GET /v1/statements/:id)
 *   H signed hash      → index, SHA-256 of Sig_structure → entry (repeats: DESIGN §3)
 *   C size             → signed checkpoint note            (every one ever signed)
 *   W work             → WorkRecord (JSON)                 ┐
 *   X licence          → LicenceRecord (JSON)              │ derived state,
 *   S sha256           → ContentRecord: first work, count  │ written in the same
 *   R sha256 index     → work id: registrations of content │
 *   D sha256 party     → HoldingRecord                     │
 *   Y work index       → '': the entries about a work      │
 *   V work rival       → '': lookalike rivals, both ways   │
 *   P party            → PartyRecord (JSON)                │ batch as the leaves
 *   O party work       → ''  works a party owns            │
 *   G party licence    → ''  licences a party holds        │
 *   F work             → fingerprint frames as signed      │ (rebuilt into memory at open)
 *   s work             → soundtrack fingerprint as signed  │ (likewise; the letters ran out)
 *   p work             → keypoint patches as signed        │ (likewise)
 *   K work index       → licence id: a work's licences     │
 *   J work licensee    → [licence ids] held on the work    │
 *   E work space use territory until index                 │ the exclusivity index: standing
 *                      → from ‖ licence id                 │ licences by cell, by end time
 *   Q claim            → ClaimRecord (JSON)                │
 *   A party            → MediatorRecord: accreditation     │
 *   B resolve id       → ResolutionRecord (JSON)           │
 *   T work index       → '': a work's sightings            │ (out of its chain; listed newest first)
 *   U work             → sighting count (JSON)             │
 *   Z digest index n   → hash ‖ work ‖ title: a title, by  ┘ (the check's keyword match,
 *                        its normalised prefix               core/titles.ts)
 *   M name             → metadata (the origin, the registrar)
 */
import { concatBytes, fromHex, uintBE, utf8 } from '../core/bytes.js';

const P = (letter: string) => utf8(letter);
const u64 = (n: number) => uintBE(n, 8);
const id32 = (hex: string) => fromHex(hex, 'id', 32);

/**
 * `prefix ‖ id ‖ id? ‖ u64?` in one allocation: the derived-state keys of every entry are
 * built on the sequencer's hot path. Ids are 64 hex characters: a shorter write means one
 * was not, and gets the usual error.
 */
function idKey(prefix: Uint8Array, id: string, second?: string, index?: number): Uint8Array {
  const key = Buffer.allocUnsafe(1 + 32 + (second === undefined ? 0 : 32) + (index === undefined ? 0 : 8));
  key[0] = prefix[0] as number;
  let at = 1;
  for (const hex of second === undefined ? [id] : [id, second]) {
    if (hex.length !== 64 || key.write(hex, at, 'hex') !== 32) fromHex(hex, 'id', 32);
    at += 32;
  }
  if (index !== undefined) {
    key.writeUInt32BE(Math.floor(index / 2 ** 32), at);
    key.writeUInt32BE(index >>> 0, at + 4);
  }
  return key;
}

export const PREFIX = {
  leaf: P('L'),
  node: P('N'),
  id: P('I'),
  signed: P('H'),
  checkpoint: P('C'),
  work: P('W'),
  licence: P('X'),
  sha: P('S'),
  registration: P('R'),
  holding: P('D'),
  workEntry: P('Y'),
  rival: P('V'),
  party: P('P'),
  owned: P('O'),
  held: P('G'),
  frames: P('F'),
  sound: P('s'),
  patches: P('p'),
  workLicence: P('K'),
  heldOnWork: P('J'),
  cell: P('E'),
  claim: P('Q'),
  mediator: P('A'),
  resolution: P('B'),
  sighting: P('T'),
  sightingCount: P('U'),
  title: P('Z'),
  meta: P('M'),
} as const;

export const key = {
  leaf: (index: number) => concatBytes(PREFIX.leaf, u64(index)),
  node: (level: number, index: number) => concatBytes(PREFIX.node, Uint8Array.of(level), u64(index)),
  id: (id: Uint8Array) => concatBytes(PREFIX.id, id),
  signed: (signedHash: Uint8Array) => concatBytes(PREFIX.signed, signedHash),
  checkpoint: (size: number) => concatBytes(PREFIX.checkpoint, u64(size)),
  work: (work: string) => idKey(PREFIX.work, work),
  licence: (licence: string) => idKey(PREFIX.licence, licence),
  sha: (sha256: string) => idKey(PREFIX.sha, sha256),
  registration: (sha256: string, index: number) => idKey(PREFIX.registration, sha256, undefined, index),
  holding: (sha256: string, party: string) => idKey(PREFIX.holding, sha256, party),
  workEntry: (work: string, index: number) => idKey(PREFIX.workEntry, work, undefined, index),
  rival: (work: string, rival: string) => idKey(PREFIX.rival, work, rival),
  party: (party: string) => idKey(PREFIX.party, party),
  owned: (party: string, work: string) => idKey(PREFIX.owned, party, work),
  held: (party: string, licence: string) => idKey(PREFIX.held, party, licence),
  frames: (work: string) => idKey(PREFIX.frames, work),
  sound: (work: string) => idKey(PREFIX.sound, work),
  patches: (work: string) => idKey(PREFIX.patches, work),
  workLicence: (work: string, index: number) => idKey(PREFIX.workLicence, work, undefined, index),
  heldOnWork: (work: string, licensee: string) => idKey(PREFIX.heldOnWork, work, licensee),
  /** a cell of the exclusivity index: every (or, in space 'x', every exclusive) standing licence of one use in one territory */
  cell: (work: string, space: 'a' | 'x', use: number, territory: string) => concatBytes(PREFIX.cell, id32(work), utf8(space), Uint8Array.of(use), utf8(territory)),
  claim: (claim: string) => idKey(PREFIX.claim, claim),
  mediator: (party: string) => idKey(PREFIX.mediator, party),
  resolution: (id: string) => idKey(PREFIX.resolution, id),
  sighting: (work: string, index: number) => idKey(PREFIX.sighting, work, undefined, index),
  sightingCount: (work: string) => idKey(PREFIX.sightingCount, work),
  /** the `ordinal`th distinct title of the work registered at `index`, under its prefix's digest */
  title: (digest: Uint8Array, index: number, ordinal: number) => concatBytes(PREFIX.title, digest, u64(index), Uint8Array.of(ordinal)),
  meta: (name: string) => concatBytes(PREFIX.meta, utf8(name)),
};

/** The key range of everything under a prefix (and optional further bytes). */
export function prefixRange(...parts: Uint8Array[]): { gte: Uint8Array; lt: Uint8Array } {
  const gte = concatBytes(...parts);
  const lt = gte.slice();
  // The smallest key greater than every key with this prefix: increment the last byte that is not 0xff.
  let i = lt.length - 1;
  while (i >= 0 && lt[i] === 0xff) i--;
  lt[i] = (lt[i] as number) + 1;
  return { gte, lt: lt.slice(0, i + 1) };
}

