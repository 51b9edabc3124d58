/**
 * Offline verification of an evidence bundle. Pure: it needs the bundle, the ledger's
 * verifier key (given by the caller, never taken from the bundle alone) and nothing else —
 * no server, no store, no network. Steps, each depending on the ones before:
 *   shape → key → checkpoint → attestation → leaves and inclusion proofs → statement
 *   signatures → chains (prev, workPrev) → replay of the rules → claims (owner, status,
 *   licences, verdict) → heads (no later entry of a work left out).
 * What it proves holds as of the checkpoint's tree size: a log cannot show that nothing was
 * appended since, so the result says which size it speaks for.
 */
import { openAttestation } from '../core/attestation.js';
import { equalBytes, fromBase64, fromHex, toHex } from '../core/bytes.js';
import { checkUse, type CheckQuery } from '../core/check.js';
import { openCheckpoint, parseVerifierKey, type Checkpoint } from '../core/checkpoint.js';
import { parseStatement, verifyStatement, type SignedStatement } from '../core/cose.js';
import { decodeLeaf, type Leaf } from '../core/leaf.js';
import { hashLeaf, verifyInclusion } from '../core/merkle.js';
import { titled, titleStatus, type TitledWork } from '../core/disputes.js';
import type { ClaimRecord, LicenceRecord, ResolutionRecord, WorkRecord } from '../core/records.js';
import { applyStatement, licenceStanding, type LicenceStanding } from '../core/rules.js';
import { MemoryState } from '../core/state.js';
import { bundleSchema, faultsText, firstShapeFault, type BundleClaims, type EvidenceBundle } from './bundle.js';

export type VerifyFailure =
  | 'bad-shape'
  | 'wrong-key'
  | 'bad-checkpoint'
  | 'bad-attestation'
  | 'incomplete'
  | 'bad-leaf'
  | 'bad-inclusion'
  | 'out-of-order'
  | 'bad-signature'
  | 'broken-chain'
  | 'rule-refused'
  | 'claim-mismatch'
  | 'file-mismatch'
  | 'wrong-subject';

export interface VerifyResult {
  ok: boolean;
  /** what was established, step by step, up to the first failure */
  holds: string[];
  failure?: { code: VerifyFailure; detail: string };
  checkpoint?: Checkpoint;
  /** the tree size the result speaks for: later entries, if any, are not covered */
  asOfSize?: number;
  /**
   * the state the replay derived, of the works the bundle holds whole (their every entry, as
   * the ledger attests) and their licences: this, not the claims, is what the bundle proves
   */
  works: TitledWork[];
  /** with `standingAt`, each licence's standing then (null: it stands; see licenceStanding) */
  licences: Array<LicenceRecord & { standing?: LicenceStanding | null }>;
  /** infringement claims, and mediators' decisions (each naming the accreditation it was made under) */
  claims: ClaimRecord[];
  resolutions: ResolutionRecord[];
  verdict?: string;
}

class Failed extends Error {
  constructor(
    readonly code: VerifyFailure,
    detail: string,
  ) {
    super(detail);
  }
}

export interface VerifyOptions {
  /** SHA-256 of a file the verifier holds; must be the subject work's registered content */
  fileSha256?: Uint8Array;
  /**
   * What the caller asked about: a bundle about anything else fails ('wrong-subject'), however
   * well it verifies. For a check, `at` is the instant asked about, or the range a server's
   * own clock may have chosen when none was given.
   */
  about?: { work: string } | { check: Omit<CheckQuery, 'at'> & { at: number | { from: number; to: number } } };
  /**
   * For a work's bundle: the verdict the replayed state gives this question about the work's
   * content (`verdict` in the result), as a check that found the work by its fingerprints
   * judged it.
   */
  question?: Omit<CheckQuery, 'sha256'>;
  /** the instant (ms) at which each licence's standing is given (revoked, superseded, parent ended, expired…) */
  standingAt?: number;
}

export function verifyBundle(input: unknown, trustedVerifierKey: string, opts: VerifyOptions = {}): VerifyResult {
  const holds: string[] = [];
  let state = new MemoryState();
  let checkpoint: Checkpoint | undefined;
  // What the bundle proves as things stand at its checkpoint: the works whose every entry
  // the ledger attests it holds, and their licences. Other entries it carries (a rival's
  // registration, an entry's bundle) prove that they were made, not what came of them since.
  let attested = new Set<string>();
  const result = (failure?: VerifyResult['failure'], verdict?: string): VerifyResult => ({
    ok: !failure,
    holds,
    ...(failure ? { failure } : {}),
    ...(checkpoint ? { checkpoint, asOfSize: checkpoint.size } : {}),
    works: [...state.works.values()].filter((w) => attested.has(w.id)).map((w) => titled(state, w)),
    licences: [...state.licences.values()].filter((l) => attested.has(l.work)).map((l) => (opts.standingAt === undefined ? l : { ...l, standing: licenceStanding(state, l, opts.standingAt) })),
    claims: [...state.claims.values()],
    resolutions: [...state.resolutions.values()],
    ...(verdict ? { verdict } : {}),
  });
  try {
    const fault = firstShapeFault(input);
    if (fault) throw new Failed('bad-shape', fault);
    const parsed = bundleSchema.safeParse(input);
    if (!parsed.success) {
      throw new Failed('bad-shape', faultsText(parsed.error.issues, 5, 'bundle'));
    }
    const bundle = parsed.data;
    attested = new Set(bundle.claims.works.map((w) => w.id));
    holds.push(`bundle is ${bundle.format} with ${bundle.entries.length} entries`);

    let key;
    try {
      key = parseVerifierKey(trustedVerifierKey);
    } catch (e) {
      throw new Failed('wrong-key', `the trusted verifier key does not parse: ${(e as Error).message}`);
    }
    if (bundle.verifierKey !== trustedVerifierKey.trim()) {
      throw new Failed('wrong-key', `the bundle names ledger key ${bundle.verifierKey}, not the trusted ${trustedVerifierKey.trim()}`);
    }
    try {
      checkpoint = openCheckpoint(bundle.checkpoint, key);
    } catch (e) {
      throw new Failed('bad-checkpoint', (e as Error).message);
    }
    holds.push(`checkpoint of size ${checkpoint.size} is signed by ${key.name}`);
    try {
      openAttestation(bundle.attestation, key, checkpoint.size, { subject: bundle.subject, claims: bundle.claims });
    } catch (e) {
      throw new Failed('bad-attestation', (e as Error).message);
    }
    holds.push(`the ledger attests the bundle's claims as of tree size ${checkpoint.size}`);

    // Mediators are accredited by the registrar the ledger attests; the replay checks them under it.
    state = new MemoryState(undefined, bundle.claims.registrar);
    const entries = checkEntries(bundle, checkpoint);
    holds.push(`all ${entries.length} entries are in the tree of the checkpoint, and their statements are signed by their signers`);

    let verdict = replay(bundle, entries, state);
    holds.push('every entry passes the ledger rules on replay, with an unbroken chain for each work');
    if (opts.about) checkSubject(bundle.subject, opts.about);

    // An omitted later entry is the fault to name, before the claims trip over its effects.
    for (const c of bundle.claims.works) {
      const last = state.work(c.id)?.head;
      if (last !== c.head) {
        throw new Failed('incomplete', `the ledger attests that the latest entry of work ${c.id} at tree size ${checkpoint.size} is #${c.head}; the bundle's chain of it ends at #${last}: later entries are left out`);
      }
    }
    if (bundle.claims.works.length > 0) holds.push(`as of tree size ${checkpoint.size}, the bundle holds every entry of ${bundle.claims.works.length === 1 ? 'the work' : `the ${bundle.claims.works.length} works`}, up to the latest the ledger attests`);

    checkClaims(bundle.claims, state, verdict);
    const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
    holds.push(`the claims (${count(bundle.claims.works.length, 'work')}, ${count(bundle.claims.licences.length, 'licence')}${verdict ? `, verdict ${verdict}` : ''}) match the replay`);
    for (const r of state.resolutions.values()) {
      const outcome = r.claim ? `claim ${r.claim}: ${r.decision}` : `${r.decision}: title to work ${r.award}`;
      holds.push(`entry ${r.index}: mediator ${r.mediator}, accredited by the registrar at entry ${r.accreditation}, decided ${outcome}`);
    }

    if (opts.question && 'work' in bundle.subject) {
      const work = state.work(bundle.subject.work) as WorkRecord;
      verdict = checkUse(state, { ...opts.question, sha256: work.sha256 }).verdict;
      holds.push(`for ${opts.question.uploader} to ${opts.question.use} it in ${opts.question.territory} at ${new Date(opts.question.at).toISOString()}, the replay answers ${verdict}`);
    }
    if (opts.fileSha256) {
      const subject = 'work' in bundle.subject ? state.work(bundle.subject.work) : undefined;
      const sha = subject?.sha256 ?? ('check' in bundle.subject ? bundle.subject.check.sha256 : undefined);
      if (!sha || sha !== toHex(opts.fileSha256)) {
        throw new Failed('file-mismatch', `the file's SHA-256 ${toHex(opts.fileSha256)} is not the registered content ${sha ?? '(none in this bundle)'}`);
      }
      holds.push('the file is the registered content');
    }
    return result(undefined, verdict);
  } catch (e) {
    if (e instanceof Failed) return result({ code: e.code, detail: e.message });
    throw e;
  }
}

interface CheckedEntry {
  index: number;
  bytes: Uint8Array;
  leaf: Leaf;
  statement: SignedStatement;
}

function checkEntries(bundle: EvidenceBundle, checkpoint: Checkpoint): CheckedEntry[] {
  const out: CheckedEntry[] = [];
  let previous: CheckedEntry | undefined;
  for (const e of bundle.entries) {
    const where = `entry ${e.index}`;
    if (previous && e.index <= previous.index) throw new Failed('out-of-order', `${where} comes after entry ${previous.index}; entries must be in ascending index order`);
    if (e.index >= checkpoint.size) throw new Failed('bad-inclusion', `${where} is beyond the checkpoint's size ${checkpoint.size}`);
    let bytes: Uint8Array;
    let leaf: Leaf;
    try {
      bytes = fromBase64(e.leaf, `${where} leaf`);
      leaf = decodeLeaf(bytes);
    } catch (err) {
      throw new Failed('bad-leaf', `${where}: ${(err as Error).message}`);
    }
    if (leaf.index !== e.index) throw new Failed('bad-leaf', `${where} holds the leaf of index ${leaf.index}`);
    try {
      verifyInclusion(e.index, checkpoint.size, hashLeaf(bytes), e.proof.map((h, i) => fromHex(h, `proof[${i}]`, 32)), checkpoint.rootHash);
    } catch (err) {
      throw new Failed('bad-inclusion', `${where}: ${(err as Error).message}`);
    }
    let statement: SignedStatement;
    try {
      statement = parseStatement(leaf.statement, { stored: true });
      verifyStatement(statement);
    } catch (err) {
      throw new Failed('bad-signature', `${where}: ${(err as Error).message}`);
    }
    if (previous && previous.index === e.index - 1 && !equalBytes(leaf.prev, hashLeaf(previous.bytes))) {
      throw new Failed('broken-chain', `${where}: prev is not the hash of entry ${previous.index}`);
    }
    previous = { index: e.index, bytes, leaf, statement };
    out.push(previous);
  }
  return out;
}

function replay(bundle: EvidenceBundle, entries: CheckedEntry[], state: MemoryState): string | undefined {
  const present = new Set(entries.map((e) => e.index));
  for (const { index, leaf, statement } of entries) {
    // A missing link is the fault to name, before the rules trip over its consequences.
    if (leaf.workPrev !== null && !present.has(leaf.workPrev)) {
      throw new Failed('broken-chain', `entry ${index} follows entry ${leaf.workPrev} of its work, which the bundle leaves out`);
    }
    let effects;
    try {
      effects = applyStatement(state, { statement, index, time: leaf.time });
    } catch (err) {
      throw new Failed('rule-refused', `entry ${index}: ${(err as Error).message}`);
    }
    if (effects.workPrev !== leaf.workPrev) {
      throw new Failed('broken-chain', `entry ${index} says the previous entry of its work is ${leaf.workPrev}, the replay says ${effects.workPrev}`);
    }
    state.apply(effects);
  }
  const subject = bundle.subject;
  if ('work' in subject && !state.work(subject.work)) {
    throw new Failed('claim-mismatch', `the subject work ${subject.work} is not registered by any entry of the bundle`);
  }
  if ('entry' in subject && !present.has(subject.entry)) {
    throw new Failed('claim-mismatch', `the subject entry ${subject.entry} is not in the bundle`);
  }
  if ('check' in subject) return checkUse(state, subject.check).verdict;
  return undefined;
}

/** The bundle is about what the caller asked: the work, or the very question of the check. */
function checkSubject(subject: EvidenceBundle['subject'], about: NonNullable<VerifyOptions['about']>): void {
  if ('work' in about) {
    if (!('work' in subject) || subject.work !== about.work) throw new Failed('wrong-subject', `the bundle is about ${JSON.stringify(subject)}, not work ${about.work}`);
    return;
  }
  const asked = about.check;
  const got = 'check' in subject ? subject.check : undefined;
  const at = typeof asked.at === 'number' ? { from: asked.at, to: asked.at } : asked.at;
  if (!got || got.sha256 !== asked.sha256 || got.uploader !== asked.uploader || got.use !== asked.use || got.territory !== asked.territory || got.at < at.from || got.at > at.to) {
    throw new Failed('wrong-subject', `the bundle answers ${JSON.stringify(subject)}, not the check asked (${JSON.stringify({ ...asked, at })})`);
  }
}

function checkClaims(claims: BundleClaims, state: MemoryState, verdict: string | undefined): void {
  const mismatch = (what: string) => new Failed('claim-mismatch', what);
  for (const c of claims.works) {
    const w = state.work(c.id);
    if (!w) throw mismatch(`work ${c.id} is claimed but not registered by any entry of the bundle`);
    for (const field of ['sha256', 'owner'] as const) {
      if (w[field] !== c[field]) throw mismatch(`work ${c.id}: claimed ${field} ${c[field]}, the entries give ${w[field]}`);
    }
    const status = titleStatus(state, w);
    if (status !== c.status) throw mismatch(`work ${c.id}: claimed status ${c.status}, the entries give ${status}`);
    if (JSON.stringify(w.contest) !== JSON.stringify(c.contest)) throw mismatch(`work ${c.id}: the claimed contest differs from the entries`);
  }
  for (const c of claims.licences) {
    const l = state.licence(c.id);
    if (!l) throw mismatch(`licence ${c.id} is claimed but granted by no entry of the bundle`);
    if (l.work !== c.work || l.grantor !== c.grantor || l.licensee !== c.licensee || (l.revokedAt !== null) !== c.revoked) {
      throw mismatch(`licence ${c.id}: the claim differs from the entries`);
    }
  }
  if ((claims.verdict ?? undefined) !== verdict) throw mismatch(`claimed verdict ${claims.verdict}, the replay gives ${verdict}`);
}
