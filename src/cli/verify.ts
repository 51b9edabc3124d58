/**
 * `cartulary verify FILE`: offline, against keys you trust. FILE is an evidence bundle
 * (JSON), a C2SP tlog-proof (text), or a COSE Receipt (CBOR, with the leaf beside it);
 * `--witness-policy` also demands the policy's quorum of cosignatures on the checkpoint.
 */
import { readFile } from 'node:fs/promises';
import { toHex } from '../core/bytes.js';
import { formatVerifierKey, parseVerifierKey } from '../core/checkpoint.js';
import { verifyCoseReceipt } from '../core/cose-receipt.js';
import { CartularyError } from '../core/errors.js';
import { hashLeaf } from '../core/merkle.js';
import { checkCosignedCheckpoint, type Policy } from '../core/policy.js';
import { checkLeafAt, TLOG_PROOF_HEADER, verifyTlogProof } from '../core/tlog-proof.js';
import { jsonNestsAtMost, MAX_BUNDLE_DEPTH } from '../verify/bundle.js';
import { titleStatusText } from '../verify/timeline.js';
import { verifyBundle } from '../verify/verify-bundle.js';
import { EXIT, str, UsageError, type Command, type Io } from './command.js';
import { hashFile } from './hash-file.js';
import { ledgerKeyArg, originOf } from './ledger-key.js';
import { policyArg } from './policy-file.js';

const readOr = (path: string) => readFile(path).catch((e: Error) => Promise.reject(new CartularyError('not-found', `cannot read ${path}: ${e.message}`)));

/** Prints what holds; on failure prints why and returns the failed exit status. */
function reporter(io: Io) {
  return {
    ok: (line: string) => io.out(`  ok   ${line}`),
    failed(detail: string) {
      io.out(`  FAIL ${detail}`);
      io.err('NOT verified');
      return EXIT.failed;
    },
  };
}

/** Each cosignature of the policy's witnesses on `note`, and whether they meet its quorum. */
function checkQuorum(note: string, policy: Policy, trusted: string, io: Io): number | null {
  const r = reporter(io);
  let check;
  try {
    check = checkCosignedCheckpoint(note, policy, parseVerifierKey(trusted));
  } catch (e) {
    return r.failed(`witness policy: ${(e as Error).message}`);
  }
  for (const c of check.cosignatures) {
    r.ok(`witness ${c.name} (${c.witness}) had seen this tree of size ${check.checkpoint.size} by ${new Date(c.time * 1000).toISOString()}`);
  }
  if (!check.quorum) return r.failed(`witness policy: the checkpoint's ${check.cosignatures.length} valid cosignature(s) do not meet the quorum "${policy.quorum}"`);
  r.ok(`the witness quorum "${policy.quorum}" is met`);
  return null;
}

export const verify: Command = {
  name: 'verify',
  summary: 'verify an evidence bundle, a tlog-proof or a COSE receipt offline against the ledger key you trust (no server needed)',
  usage: "cartulary verify FILE --ledger-key VKEY|FILE [--file FILE] [--witness-policy FILE] [--leaf FILE] [--json]   (--ledger-key FILE: ledger.vkey, or the ledger's ledger.pub)",
  example: 'cartulary verify film.mp4.cartulary.json --file film.mp4 --ledger-key "cartulary.local/ledger+1a2b3c4d+AT…"',
  options: { 'ledger-key': { type: 'string' }, file: { type: 'string' }, 'witness-policy': { type: 'string' }, leaf: { type: 'string' } },
  async run(v, [path], io) {
    if (!path) throw new UsageError('FILE is required');
    const policy = str(v['witness-policy']) ? await policyArg(str(v['witness-policy']) as string) : null;
    // The policy's log line may stand in for --ledger-key (the first one, when it lists several).
    const policyLog = policy?.logs[0]?.key;
    const key = str(v['ledger-key']) ?? (policyLog ? formatVerifierKey(policyLog.name, policyLog.publicKey) : undefined);
    if (!key) throw new UsageError('--ledger-key is required: a proof proves nothing without a key you trust');
    const bytes = await readOr(path);
    const r = reporter(io);
    const text = bytes.toString('utf8');
    // Parsed once, and only once its nesting is known to be a bundle's (a few levels).
    let parsed: { json: unknown } | undefined;
    const jsonOf = (): unknown => {
      if (!parsed) {
        if (!jsonNestsAtMost(text, MAX_BUNDLE_DEPTH)) throw new CartularyError('malformed', `${path} nests deeper than ${MAX_BUNDLE_DEPTH} levels: no evidence bundle does`);
        parsed = { json: JSON.parse(text) as unknown };
      }
      return parsed.json;
    };
    // A bare public key (ledger.pub) takes its origin from the checkpoint the FILE cites.
    const checkpointOrigin = () => {
      if (text.startsWith(`${TLOG_PROOF_HEADER}\n`)) return text.split('\n\n', 2)[1]?.split('\n', 1)[0];
      try {
        const json = jsonOf();
        return originOf(json && typeof json === 'object' && 'evidence' in json ? (json as { evidence: unknown }).evidence : json);
      } catch {
        return undefined;
      }
    };
    const trusted = await ledgerKeyArg(key, checkpointOrigin());

    if (text.startsWith(`${TLOG_PROOF_HEADER}\n`)) {
      let proven;
      try {
        proven = verifyTlogProof(text, parseVerifierKey(trusted));
      } catch (e) {
        return r.failed(`tlog-proof: ${(e as Error).message}`);
      }
      r.ok(`checkpoint of size ${proven.checkpoint.size} signed by ${trusted}`);
      r.ok(`entry ${proven.leaf.index} (statement ${toHex(proven.statement.id)}, ${String(proven.statement.payload.type)} by ${toHex(proven.statement.signer)}) is in that tree, logged at ${new Date(proven.leaf.time).toISOString()}`);
      if (policy) {
        const failed = checkQuorum(proven.proof.checkpoint, policy, trusted, io);
        if (failed !== null) return failed;
      }
      io.out('verified');
      return EXIT.ok;
    }

    if (bytes[0] === 0xd2 || bytes[0] === 0x84) {
      // A COSE_Sign1, tagged or not: a receipt, proven against the leaf it is for.
      if (policy) throw new CartularyError('invalid', 'a COSE receipt carries no witness cosignatures; use a tlog-proof with --witness-policy');
      const leafBytes = new Uint8Array(await readOr(str(v.leaf) ?? `${path}.leaf`));
      let proven;
      try {
        proven = verifyCoseReceipt(new Uint8Array(bytes), hashLeaf(leafBytes), parseVerifierKey(trusted).publicKey);
        const { leaf, statement } = checkLeafAt(leafBytes, proven.index);
        // The signature covers the root alone: the size in the receipt's proof is unsigned, and
        // any size whose proof has the same shape leads to the same root.
        r.ok(`receipt signed by ${trusted} over the root ${toHex(proven.rootHash)} (the receipt says of ${proven.size} entries; its signature does not cover the size: a tlog-proof's checkpoint names it)`);
        r.ok(`entry ${leaf.index} (statement ${toHex(statement.id)}, ${String(statement.payload.type)} by ${toHex(statement.signer)}) is in that tree, logged at ${new Date(leaf.time).toISOString()}`);
      } catch (e) {
        return r.failed(`COSE receipt: ${(e as Error).message}`);
      }
      io.out('verified');
      return EXIT.ok;
    }

    let json: unknown;
    try {
      json = jsonOf();
    } catch (e) {
      if (e instanceof CartularyError) throw e;
      throw new CartularyError('malformed', `${path} is neither an evidence bundle (JSON), a tlog-proof nor a COSE receipt: ${(e as Error).message}`);
    }
    // `register` saves {receipt, evidence}; a bare bundle is accepted too.
    const bundle = json && typeof json === 'object' && 'evidence' in json ? (json as { evidence: unknown }).evidence : json;
    const file = str(v.file);
    const result = verifyBundle(bundle, trusted, { standingAt: Date.now(), ...(file ? { fileSha256: (await hashFile(file, io)).sha256 } : {}) });
    if (v.json) {
      io.out(JSON.stringify(result, null, 2));
      return result.ok ? EXIT.ok : EXIT.failed;
    }
    for (const line of result.holds) r.ok(line);
    if (!result.ok) return r.failed(`${result.failure?.code}: ${result.failure?.detail}`);
    if (policy) {
      const failed = checkQuorum((bundle as { checkpoint: string }).checkpoint, policy, trusted, io);
      if (failed !== null) return failed;
    }
    const when = (ms: number) => new Date(ms).toISOString();
    for (const w of result.works) io.out(`work ${w.id}: owner ${w.owner}, ${titleStatusText(w, when, (id) => id)}`);
    for (const l of result.licences) {
      const window = `from ${when(l.validFrom)}${l.validUntil === null ? ', with no end' : ` until just before ${when(l.validUntil)}`}`;
      io.out(`licence ${l.id}: ${l.licensee} may${l.exclusive ? ' exclusively' : ''} ${l.uses.join(', ')} in ${l.territories.join(', ')}, ${window}${l.revokedAt !== null ? `; revoked at ${when(l.revokedAt)}` : ''} — now ${l.standing ?? 'standing'}`);
    }
    if (result.works.length === 0) io.out(`the bundle proves that its entries are in the ledger as of tree size ${result.asOfSize}, not what became of any work since`);
    if (result.verdict) io.out(`verdict: ${result.verdict}`);
    io.out('verified');
    return EXIT.ok;
  },
};
