/**
 * C2SP tlog-policy: which logs and witnesses a verifier trusts, and the quorum of
 * cosignatures a checkpoint needs.
 *
 *   log <vkey> [<url>]
 *   witness <name> <vkey> [<url>]
 *   group <name> all|any|<k> <member>…     (members defined on earlier lines, each once)
 *   quorum <name>                          (exactly one; `none` needs no cosignature)
 *
 * Names are opaque octets; witnesses and groups share one namespace; `none` is reserved.
 */
import { equalBytes } from './bytes.js';
import { findCosignature, parseWitnessKey, type Cosignature } from './cosignature.js';
import { openCheckpoint, parseVerifierKey, type Checkpoint, type VerifierKey } from './checkpoint.js';
import { CartularyError } from './errors.js';

export interface PolicyWitness {
  name: string;
  key: VerifierKey;
  url?: string;
}

export interface PolicyGroup {
  name: string;
  threshold: number;
  members: string[];
}

export interface Policy {
  logs: Array<{ key: VerifierKey; url?: string }>;
  witnesses: PolicyWitness[];
  groups: PolicyGroup[];
  /** a witness or group name, or 'none' */
  quorum: string;
}

/** Bounds on what a policy may hold (the spec asks for at least 32 of each). */
const MAX_ENTRIES = 256;
const NONE = 'none';

/** Parses a policy file, refusing (as 'invalid', naming the line) anything the spec does not allow. */
export function parsePolicy(text: string): Policy {
  // Only tab, newline, printable ASCII and high-bit octets (tlog-policy "Character set").
  const badChar = /[\x00-\x08\x0b-\x1f\x7f]/.exec(text);
  if (badChar) throw new CartularyError('invalid', `policy: control character 0x${badChar[0].charCodeAt(0).toString(16)} is not allowed`);
  const policy: Policy = { logs: [], witnesses: [], groups: [], quorum: '' };
  const names = new Set<string>();
  let quorumLines = 0;
  text.split('\n').forEach((raw, i) => {
    const fail = (why: string) => new CartularyError('invalid', `policy line ${i + 1}: ${why}`);
    const words = raw.trim().split(/[ \t]+/);
    if (words[0] === '' || words[0]?.startsWith('#')) return;
    const [kind, ...args] = words as [string, ...string[]];
    const parseKey = (vkey: string, asWitness: boolean) => {
      try {
        return asWitness ? parseWitnessKey(vkey) : parseVerifierKey(vkey);
      } catch (e) {
        throw fail((e as Error).message);
      }
    };
    const defined = (name: string) => {
      if (!names.has(name)) throw fail(`"${name}" is not defined on an earlier line`);
    };
    const newName = (name: string) => {
      if (name === NONE) throw fail('"none" is reserved');
      if (names.has(name)) throw fail(`"${name}" is defined twice`);
      names.add(name);
    };
    if (policy.logs.length + policy.witnesses.length + policy.groups.length >= 3 * MAX_ENTRIES) throw fail('too many entries');
    switch (kind) {
      case 'log': {
        if (args.length < 1 || args.length > 2) throw fail('must be "log <vkey> [<url>]"');
        const key = parseKey(args[0] as string, false);
        if (policy.logs.some((l) => equalBytes(l.key.publicKey, key.publicKey))) throw fail('duplicate log key');
        policy.logs.push({ key, ...(args[1] ? { url: args[1] } : {}) });
        return;
      }
      case 'witness': {
        if (args.length < 2 || args.length > 3) throw fail('must be "witness <name> <vkey> [<url>]"');
        const key = parseKey(args[1] as string, true);
        if (policy.witnesses.some((w) => equalBytes(w.key.publicKey, key.publicKey))) throw fail('duplicate witness key');
        newName(args[0] as string);
        policy.witnesses.push({ name: args[0] as string, key, ...(args[2] ? { url: args[2] } : {}) });
        return;
      }
      case 'group': {
        if (args.length < 3) throw fail('must be "group <name> all|any|<k> <member>…"');
        const [name, k, ...members] = args as [string, string, ...string[]];
        members.forEach(defined);
        if (new Set(members).size !== members.length) throw fail('a member is listed twice');
        const threshold = k === 'all' ? members.length : k === 'any' ? 1 : /^[1-9][0-9]*$/.test(k) ? Number(k) : NaN;
        if (!(threshold >= 1 && threshold <= members.length)) throw fail(`threshold "${k}" must be all, any, or 1 to ${members.length}`);
        newName(name);
        policy.groups.push({ name, threshold, members });
        return;
      }
      case 'quorum': {
        if (args.length !== 1) throw fail('must be "quorum <name>"');
        if (args[0] !== NONE) defined(args[0] as string);
        quorumLines++;
        policy.quorum = args[0] as string;
        return;
      }
      default:
        throw fail(`unknown keyword "${kind.slice(0, 20)}"`);
    }
  });
  if (quorumLines !== 1) throw new CartularyError('invalid', `policy: needs exactly one quorum line, has ${quorumLines}`);
  return policy;
}

/** Whether the witnesses named in `cosigned` satisfy the policy's quorum. */
export function quorumMet(policy: Policy, cosigned: ReadonlySet<string>): boolean {
  const groups = new Map(policy.groups.map((g) => [g.name, g]));
  // Each group is judged once: groups may share members, and a policy of n groups each
  // naming the two before it took 2^n steps (a 1.8 KB file ran for minutes).
  const judged = new Map<string, boolean>();
  const met = (name: string): boolean => {
    if (name === NONE) return true;
    const group = groups.get(name);
    if (!group) return cosigned.has(name);
    let result = judged.get(name);
    if (result === undefined) {
      result = group.members.filter(met).length >= group.threshold;
      judged.set(name, result);
    }
    return result;
  };
  return met(policy.quorum);
}

export interface PolicyCheck {
  checkpoint: Checkpoint;
  /** every valid cosignature by a witness of the policy, with its policy name */
  cosignatures: Array<Cosignature & { name: string }>;
  quorum: boolean;
}

/**
 * Checks a cosigned checkpoint against a policy: signed by one of its logs (or by
 * `logKey`, when the policy lists none), and which of its witnesses cosigned it.
 * Throws 'verification-failed' when no trusted log signed it or a cosignature line of a
 * policy witness is forged.
 */
export function checkCosignedCheckpoint(note: string, policy: Policy, logKey?: VerifierKey): PolicyCheck {
  const keys = policy.logs.length > 0 ? policy.logs.map((l) => l.key) : logKey ? [logKey] : [];
  if (keys.length === 0) throw new CartularyError('invalid', 'the policy lists no log and no ledger key was given');
  let checkpoint: Checkpoint | undefined;
  let lastError: unknown;
  for (const key of keys) {
    try {
      checkpoint = openCheckpoint(note, key);
      break;
    } catch (e) {
      lastError = e;
    }
  }
  if (!checkpoint) throw lastError;
  const cosignatures = policy.witnesses.flatMap((w) => {
    const found = findCosignature(note, w.key);
    return found ? [{ ...found, name: w.name }] : [];
  });
  return { checkpoint, cosignatures, quorum: quorumMet(policy, new Set(cosignatures.map((c) => c.name))) };
}
