/**
 * The evidence certificate (issue 15): one self-contained HTML document a court or a
 * mediator reads — the work, its content hash, registrant and owner by name and id, the
 * chain of title, the licences, what the verifier checked, the checkpoint — with the
 * evidence bundle embedded so anyone can re-verify it. Pure (a string out), so the CLI
 * and the explorer render the same document; the CLI prints it to PDF.
 *
 * Everything from the bundle or the ledger is untrusted text: it is escaped, never markup.
 */
import { toHex, utf8 } from '../core/bytes.js';
import { sha256 } from '../core/crypto.js';
import type { EvidenceBundle } from '../verify/bundle.js';
import { describeEntry, rivalNote, segmentText, shortId, timeline, titleStatusText, withoutBidiControls } from '../verify/timeline.js';
import type { VerifyResult } from '../verify/verify-bundle.js';

export interface CertificateInput {
  work: string;
  bundle: EvidenceBundle;
  /** verifyBundle's answer for `bundle` against the key the reader pinned */
  result: VerifyResult;
  /** the key the bundle was verified against */
  ledgerKey: string;
  /** profile names by party, as the ledger serves them (a party without one is shown by id) */
  names: ReadonlyMap<string, string>;
  /** where the bundle can be fetched again */
  source: string;
  /** when the certificate was made, ms */
  generatedAt: number;
  /** when it comes from a pre-publish check: what was asked and found */
  check?: CheckSection;
  /** printed to PDF, the bundle is attached to the file as EVIDENCE_ATTACHMENT (the page says so); HTML carries it in an element */
  format?: 'html' | 'pdf';
}

/** The name of the bundle attached to a certificate printed to PDF. */
export const EVIDENCE_ATTACHMENT = 'evidence.json';

export interface CheckSection {
  uploader: string;
  use: string;
  territory: string;
  /** the instant the check judged, ms */
  at: number;
  verdict: string;
  /**
   * The segments matched by fingerprints, as the ledger answered (the bundle proves the
   * work's chain of title, not the match); empty for an exact match of the content.
   */
  segments: ReadonlyArray<{ upload: [number, number]; work: [number, number]; frames: number; distance: number; strength: string; by?: 'frames' | 'patches' }>;
  /** the stretches of the work's soundtrack matched, likewise as answered */
  sound: ReadonlyArray<{ upload: [number, number]; work: [number, number]; ber: number; values: number; strength: string }>;
  /** the check's answer over every work it found, when it found more than this one (else `verdict`) */
  overall?: string;
  /** the other works the check found, as it answered for each: this certificate's evidence covers none of them */
  others?: ReadonlyArray<{ work: string; title: string; use: string; verdict: string; strength: string }>;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (v: unknown) => withoutBidiControls(String(v)).replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
const utc = (ms: number | null | undefined) => (typeof ms === 'number' ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : 'open');

/** A note after an entry's text, in italics, or nothing. */
const emphasised = (note: string) => (note ? ` <em>${esc(note.trim())}</em>` : '');

/** JSON safe inside a <script> element: no "</script", no HTML comment openers. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

const STYLE = `
  @page { size: A4; margin: 16mm 14mm; }
  body { font: 10.5pt/1.45 "DejaVu Serif", Georgia, serif; color: #111; max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; }
  h1 { font-size: 18pt; margin: 0 0 .2rem; } h2 { font-size: 12.5pt; margin: 1.4rem 0 .4rem; border-bottom: 1px solid #999; }
  .lede { color: #333; margin-top: 0; }
  table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #bbb; padding: .25rem .4rem; text-align: left; vertical-align: top; }
  th { background: #f0f0f0; } tr { break-inside: avoid; }
  .kv th { width: 11rem; } code, .id, pre { font-family: "DejaVu Sans Mono", monospace; font-size: 8.5pt; overflow-wrap: anywhere; }
  pre { white-space: pre-wrap; background: #f7f7f7; border: 1px solid #ddd; padding: .5rem; }
  .ok { color: #0a6b2d; } .fail { color: #b00020; font-weight: bold; } .verdict { font-size: 12pt; }
`;

function checkSection(k: CheckSection, names: ReadonlyMap<string, string>): string {
  const rows = [
    ...k.segments.map((g) => `<tr><td>${g.by === 'patches' ? 'picture (keypoint patches)' : 'picture'}</td><td>${esc(segmentText(g))}</td><td>${esc(g.frames)} frames, mean distance ${esc(g.distance)} bits</td><td>${esc(g.strength)}</td></tr>`),
    ...k.sound.map((g) => `<tr><td>soundtrack</td><td>${esc(segmentText(g))}</td><td>${esc(g.values)} sub-fingerprints, bit error rate ${esc(g.ber)}</td><td>${esc(g.strength)}</td></tr>`),
  ];
  const matched = rows.length
    ? `<p>The upload contains parts of this work, matched by perceptual fingerprints (as the ledger answered the check; recompute them from the upload to confirm):</p>
<table>
<tr><th>Signal</th><th>Where</th><th>Closeness</th><th>Strength</th></tr>
${rows.join('\n')}
</table>`
    : '<p>The upload is the registered content itself: its SHA-256 matched exactly.</p>';
  // A check that found several works answers for all of them; the evidence below is one
  // work's: the others are named with what the ledger answered for each, not certified.
  const others = k.others?.length
    ? `<p>The check also found these works; this certificate's evidence covers none of them (certify each from its own evidence):</p>
<table>
<tr><th>Work</th><th>Use</th><th>Verdict</th><th>Strength</th></tr>
${k.others.map((o) => `<tr><td>${esc(o.title)}<br><span class="id">${esc(o.work)}</span></td><td>${esc(o.use)}</td><td>${esc(o.verdict)}</td><td>${esc(o.strength)}</td></tr>`).join('\n')}
</table>`
    : '';
  const overall = k.overall !== undefined && (k.overall !== k.verdict || Boolean(k.others?.length)) ? `<tr><th>The check's answer</th><td><strong>${esc(k.overall)}</strong> (over every work it found)</td></tr>\n` : '';
  return `<h2>The pre-publish check</h2>
<table class="kv">
<tr><th>Uploader</th><td>${party(names, k.uploader)}</td></tr>
<tr><th>Use, territory</th><td>${esc(k.use)} in ${esc(k.territory)}</td></tr>
<tr><th>As of</th><td>${esc(utc(k.at))}</td></tr>
${overall}<tr><th>Verdict${overall ? ' on this work' : ''}</th><td><strong>${esc(k.verdict)}</strong></td></tr>
</table>
${matched}
${others}`;
}

function party(names: ReadonlyMap<string, string>, id: string): string {
  const name = names.get(id);
  return `${name ? `<strong>${esc(name)}</strong><br>` : ''}<span class="id">${esc(id)}</span>`;
}

export function certificateHtml(c: CertificateInput): string {
  const { result, bundle, names } = c;
  const work = result.works.find((w) => w.id === c.work);
  const entries = timeline(bundle);
  const nameOf = (id: string) => names.get(id) ?? shortId(id);
  // Each licence's standing on the day the certificate is made, as the verifier replayed it.
  if (result.licences.some((l) => l.standing === undefined)) throw new Error('certificateHtml needs a result verified with standingAt: the generation time');
  const bundleJson = JSON.stringify(bundle);
  const title = work ? work.title : c.work;

  const workTable = work
    ? `<table class="kv">
<tr><th>Title</th><td>${esc(work.title)}</td></tr>
<tr><th>Work id</th><td class="id">${esc(work.id)}</td></tr>
<tr><th>Content SHA-256</th><td class="id">${esc(work.sha256)}</td></tr>
<tr><th>Media type, size</th><td>${esc(work.mediaType)}, ${esc(work.size)} bytes</td></tr>
<tr><th>Registered</th><td>${esc(utc(work.registeredAt))} (ledger entry #${esc(work.registeredIndex)})</td></tr>
<tr><th>Registrant</th><td>${party(names, work.registrant)}</td></tr>
<tr><th>Current owner</th><td>${party(names, work.owner)}</td></tr>
<tr><th>Status</th><td>${esc(titleStatusText(work, utc, (id) => id))}</td></tr>
</table>`
    : `<p class="fail">The evidence does not establish this work: nothing below may be relied on.</p>`;

  const chain = `<table>
<tr><th>#</th><th>Sequenced</th><th>Entry</th><th>Signed by</th></tr>
${entries.map((e) => `<tr><td>${e.index}</td><td>${esc(utc(e.time))}</td><td>${esc(describeEntry(e, nameOf))}${emphasised(rivalNote(e, work))}</td><td>${party(names, e.signer)}</td></tr>`).join('\n')}
</table>`;

  const licences = result.licences.length
    ? `<table>
<tr><th>Licence</th><th>Granted by</th><th>Licensee</th><th>Uses</th><th>Territories</th><th>Valid</th><th>Standing on ${esc(utc(c.generatedAt).slice(0, 10))}</th></tr>
${result.licences.map((l) => `<tr><td class="id">${esc(shortId(l.id))}</td><td>${party(names, l.grantor)}</td><td>${party(names, l.licensee)}</td><td>${esc(l.uses.join(', '))}${l.exclusive ? ' (exclusive)' : ''}</td><td>${esc(l.territories.join(', '))}</td><td>${esc(utc(l.validFrom))} → ${esc(utc(l.validUntil))}</td><td>${esc(l.standing === 'revoked' && l.revokedAt !== null ? `revoked ${utc(l.revokedAt)}` : (l.standing ?? 'standing'))}</td></tr>`).join('\n')}
</table>`
    : '<p>No licences.</p>';

  const checks = `<p class="verdict ${result.ok ? 'ok' : 'fail'}">${result.ok ? '✓ The evidence verifies' : '✗ The evidence does NOT verify'} against the ledger key <code>${esc(c.ledgerKey)}</code>${result.asOfSize !== undefined ? `, as of tree size ${result.asOfSize}` : ''}.</p>
<ul>
${result.holds.map((h) => `<li class="ok">✓ ${esc(h)}</li>`).join('\n')}
${result.failure ? `<li class="fail">✗ ${esc(result.failure.code)}: ${esc(result.failure.detail)}</li>` : ''}
</ul>
<p>A log proves what it holds as of a checkpoint; entries appended after tree size ${esc(result.asOfSize ?? '?')} are not covered.</p>`;

  const signatures = bundle.checkpoint.split('\n').filter((l) => l.startsWith('— ')).length;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Evidence certificate — ${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Evidence certificate</h1>
<p class="lede">${esc(title)} — what the Cartulary ledger holds about this work, and the proofs to check it without trusting the ledger. Made ${esc(utc(c.generatedAt))}.</p>
<h2>The work</h2>
${workTable}
<p>Parties are named by the profiles they signed, as the ledger serves them; the evidence proves their ids.</p>
${c.check ? checkSection(c.check, names) : ''}
<h2>Chain of title</h2>
${chain}
<h2>Licences</h2>
${licences}
<h2>What the verifier checked</h2>
${checks}
<h2>Checkpoint</h2>
<p>The signed tree head the proofs lead to (${signatures} signature${signatures === 1 ? '' : 's'}: the ledger's${signatures > 1 ? ' and its witnesses\'' : ''}).</p>
<pre>${esc(bundle.checkpoint)}</pre>
<h2>Evidence bundle</h2>
<p>The bundle (${esc(bundle.format)}, ${bundle.entries.length} entries, SHA-256 <code>${toHex(sha256(utf8(bundleJson)))}</code>) ${c.format === 'pdf' ? `is attached to this PDF as the file <code>${EVIDENCE_ATTACHMENT}</code> (a PDF reader's attachments, or <code>pdfdetach -saveall</code>)` : 'is embedded in this file as the element <code>cartulary-evidence</code>'}, and can be fetched again from <code>${esc(c.source)}</code>. Save it as evidence.json and run <code>cartulary verify evidence.json --ledger-key KEY</code>, or open it in the explorer, to check it again.</p>
<script type="application/json" id="cartulary-evidence">${scriptJson(bundle)}</script>
</body>
</html>
`;
}
