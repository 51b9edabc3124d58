/**
 * `cartulary certificate WORK --out FILE.html|FILE.pdf`: the work's evidence certificate,
 * made only from evidence that verifies against the key the user trusts; a PDF is printed
 * by Debian's Chromium.
 */
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { certificateHtml } from '../certificate/html.js';
import { CartularyError } from '../core/errors.js';
import type { EvidenceBundle } from '../verify/bundle.js';
import { partiesOf, profileNames, timeline } from '../verify/timeline.js';
import { verifyBundle } from '../verify/verify-bundle.js';
import { client, serverOption } from './client.js';
import { EXIT, str, type Command } from './command.js';
import { keyToTrust } from './ledger-key.js';

export const certificate: Command = {
  name: 'certificate',
  summary: "a work's evidence certificate (HTML or PDF) for a court or a mediator, with the evidence embedded",
  usage: 'cartulary certificate WORK --out FILE.html|FILE.pdf [--ledger-key VKEY] [--server URL]',
  example: 'cartulary certificate 3f2a…c9 --out film-certificate.pdf --ledger-key ledger.vkey',
  options: { ...serverOption, 'ledger-key': { type: 'string' }, out: { type: 'string' } },
  async run(v, [work], io) {
    if (!work || !/^[0-9a-f]{64}$/.test(work)) throw new CartularyError('invalid', 'WORK must be a work id (64 hex characters)');
    const out = str(v.out);
    const format = out ? extname(out).toLowerCase() : '';
    if (!out || (format !== '.html' && format !== '.pdf')) throw new CartularyError('invalid', '--out is required: a file name ending in .html or .pdf');
    const api = client(v);
    const path = `/v1/works/${work}/evidence`;
    const bundle = await api.get<EvidenceBundle>(path);
    const ledgerKey = await keyToTrust(str(v['ledger-key']), api, io);
    const result = verifyBundle(bundle, ledgerKey);
    if (!result.ok) {
      io.err(`no certificate: the evidence does NOT verify: ${result.failure?.code}: ${result.failure?.detail}`);
      return EXIT.failed;
    }
    const names = await profileNames(partiesOf(timeline(bundle)), (p) => api.get(p));
    const html = certificateHtml({ work, bundle, result, ledgerKey, names, source: new URL(path, api.server).href, generatedAt: Date.now() });
    if (format === '.pdf') {
      const { printPdf } = await import('../certificate/chromium.js');
      await writeFile(out, await printPdf(html).catch((e: Error) => {
        throw new CartularyError('unavailable', `could not print the PDF with Chromium (apt-get install chromium, or set CHROMIUM_PATH): ${e.message.split('\n')[0]}`);
      }));
    } else {
      await writeFile(out, html);
    }
    const title = result.works.find((w) => w.id === work)?.title;
    io.out(`certificate of "${title}" written to ${out} (evidence verified as of tree size ${result.asOfSize})`);
    return EXIT.ok;
  },
};
