/**
 * `cartulary certificate WORK --out FILE.html|FILE.pdf`, and `check … --certificate FILE`:
 * an evidence certificate made only from evidence that verifies against the key the user
 * trusts; a PDF is printed by Debian's Chromium.
 */
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { certificateHtml, EVIDENCE_ATTACHMENT, type CertificateInput, type CheckSection } from '../certificate/html.js';
import { positive } from '../core/check.js';
import { CartularyError } from '../core/errors.js';
import type { EvidenceBundle } from '../verify/bundle.js';
import { partiesOf, profileNames, timeline } from '../verify/timeline.js';
import { verifyBundle, type VerifyOptions } from '../verify/verify-bundle.js';
import { aboutCheck, client, type LedgerClient, serverOption } from './client.js';
import { EXIT, str, type Command, type Io, type Values } from './command.js';
import { keyToTrust, originOf } from './ledger-key.js';

/** The file a certificate goes to, checked before any work: .html or .pdf. */
export function certificateFile(out: string | undefined, option: string): string {
  const format = out ? extname(out).toLowerCase() : '';
  if (!out || (format !== '.html' && format !== '.pdf')) throw new CartularyError('invalid', `${option} needs a file name ending in .html or .pdf`);
  return out;
}

/**
 * Verifies `bundle` against the key the user trusts, then writes the certificate of `work`
 * to `out`; refuses (verification-failed) rather than certify evidence that does not verify.
 */
/** What a certificate run made: printed as a line, or as JSON with --json. */
export interface Certified {
  work: string;
  title: string | null;
  out: string;
  asOfSize: number | null;
}

export const certifiedLine = (c: Certified): string => `certificate of "${c.title}" written to ${c.out} (evidence verified as of tree size ${c.asOfSize})`;

/** `about`: what the evidence must be about (the work, by default), and the question it must answer. */
async function certify(api: LedgerClient, v: Values, io: Io, out: string, work: string, bundle: EvidenceBundle, source: string, check?: CheckSection, about: VerifyOptions = { about: { work } }): Promise<Certified> {
  const ledgerKey = await keyToTrust(str(v['ledger-key']), api, io, originOf(bundle));
  const generatedAt = Date.now();
  const result = verifyBundle(bundle, ledgerKey, { ...about, standingAt: generatedAt });
  if (!result.ok) throw new CartularyError('verification-failed', `no certificate: the evidence does NOT verify: ${result.failure?.code}: ${result.failure?.detail}`);
  // A check's own evidence replays its verdict: the certificate states it only if they agree.
  if (check && result.verdict !== undefined && result.verdict !== check.verdict) {
    throw new CartularyError('verification-failed', `no certificate: the ledger answered ${check.verdict}, its evidence replays to ${result.verdict}`);
  }
  const parties = [...partiesOf(timeline(bundle)), ...(check ? [check.uploader] : [])];
  const format = extname(out).toLowerCase() === '.pdf' ? 'pdf' : 'html';
  const input: CertificateInput = { work, bundle, result, ledgerKey, names: await profileNames(parties, (p) => api.get(p)), source, generatedAt, format, ...(check ? { check } : {}) };
  const html = certificateHtml(input);
  if (format === 'pdf') {
    const [{ printPdf }, { attachJson }] = await Promise.all([import('../certificate/chromium.js'), import('../certificate/attach.js')]);
    const pdf = await printPdf(html).catch((e: Error) => {
      throw new CartularyError('unavailable', `could not print the PDF with Chromium (apt-get install chromium, or set CHROMIUM_PATH): ${e.message.split('\n')[0]}`);
    });
    await writeFile(out, await attachJson(pdf, EVIDENCE_ATTACHMENT, JSON.stringify(bundle), `the evidence bundle this certificate was made from: cartulary verify ${EVIDENCE_ATTACHMENT}`, new Date(generatedAt)));
  } else {
    await writeFile(out, html);
  }
  return { work, title: result.works.find((w) => w.id === work)?.title ?? null, out, asOfSize: result.asOfSize ?? null };
}

/** What `POST /v1/check` answers, as far as a certificate needs it. */
export interface CheckForCertificate {
  verdict: string;
  works: Array<{ id: string }>;
  evidence: unknown;
  matches: Array<{ work: { id: string; title: string }; segments: CheckSection['segments']; sound: CheckSection['sound']; strength: string; use: string; verdict: string; evidence: unknown }>;
}

/**
 * The certificate of a check: for an exact match, the verdict's own evidence (the verifier
 * replays the verdict); for a match by fingerprints, one work matched — the first the
 * uploader may not use when the answer is no, else the first — with its segments (picture
 * and soundtrack) and its chain of title. The check's answer over all the works it found,
 * and the others with what it answered for each, are stated beside it, uncertified.
 */
export async function certifyCheck(
  answer: CheckForCertificate,
  query: { sha256: string; uploader: string; use?: string; territory: string; at?: number },
  out: string,
  v: Values,
  io: Io,
): Promise<Certified> {
  const api = client(v);
  const at = query.at ?? Date.now();
  const base = { uploader: query.uploader, territory: query.territory, at };
  const work = answer.works[0];
  const strong = answer.matches.filter((x) => x.strength === 'match');
  const others = (certified: string) =>
    answer.matches.filter((x) => x.work.id !== certified).map((x) => ({ work: x.work.id, title: x.work.title, use: x.use, verdict: x.verdict, strength: x.strength }));
  if (answer.evidence && work) {
    const use = query.use ?? 'publish';
    // The exact work's evidence replays its own verdict; the answer may be another (a protection, a match of another work).
    const exact = (answer.evidence as EvidenceBundle).claims.verdict ?? answer.verdict;
    return certify(api, v, io, out, work.id, answer.evidence as EvidenceBundle, new URL('/v1/check', api.server).href, { ...base, use, verdict: exact, overall: answer.verdict, others: others(work.id), segments: [], sound: [] }, aboutCheck(query, at));
  }
  const m = (positive(answer.verdict) ? undefined : strong.find((x) => !positive(x.verdict))) ?? strong[0] ?? answer.matches[0];
  if (!m) throw new CartularyError('not-found', 'no certificate: the check matched no registered work');
  const source = new URL(`/v1/works/${m.work.id}/evidence`, api.server).href;
  const about = { about: { work: m.work.id }, question: { uploader: query.uploader, use: m.use, territory: query.territory, at } };
  return certify(api, v, io, out, m.work.id, m.evidence as EvidenceBundle, source, { ...base, use: m.use, verdict: m.verdict, overall: answer.verdict, others: others(m.work.id), segments: m.segments, sound: m.sound }, about);
}

export const certificate: Command = {
  name: 'certificate',
  summary: "a work's evidence certificate (HTML or PDF) for a court or a mediator, with the evidence embedded",
  usage: 'cartulary certificate WORK --out FILE.html|FILE.pdf [--ledger-key VKEY] [--server URL] [--json]',
  example: 'cartulary certificate 3f2a…c9 --out film-certificate.pdf --ledger-key ledger.vkey',
  options: { ...serverOption, 'ledger-key': { type: 'string' }, out: { type: 'string' } },
  async run(v, [work], io) {
    if (!work || !/^[0-9a-f]{64}$/.test(work)) throw new CartularyError('invalid', 'WORK must be a work id (64 hex characters)');
    const out = certificateFile(str(v.out), '--out');
    const api = client(v);
    const path = `/v1/works/${work}/evidence`;
    const made = await certify(api, v, io, out, work, await api.get<EvidenceBundle>(path), new URL(path, api.server).href);
    io.out(v.json ? JSON.stringify(made) : certifiedLine(made));
    return EXIT.ok;
  },
};
