import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { toHex } from '../core/bytes.js';
import { signStatement } from '../core/cose.js';
import { client, dateArg, idArg, printReceipt, signingKey, signingOptions, usesArg } from './client.js';
import { str, UsageError, type Command } from './command.js';
import { hashFile } from './hash-file.js';
import { MEDIA_TYPES } from './media.js';

export const claim: Command = {
  name: 'claim',
  summary: 'record an infringement of a work (by its owner or an exclusive licensee) with the SHA-256 of the captured evidence; the capture stays with you',
  usage:
    'cartulary claim WORK --capture FILE (--url URL | --reference REF | --copy-sha256 H) [--platform NAME] [--use U[,U]] [--captured-at DATE] [--media-type M] [--text T] --key K [--json] [--server URL]',
  example: 'cartulary claim 3f2a…c9 --capture recording.webm --url https://video.example/v/123 --platform VideoSite --key alice',
  options: {
    ...signingOptions,
    capture: { type: 'string' },
    url: { type: 'string' },
    platform: { type: 'string' },
    reference: { type: 'string' },
    'copy-sha256': { type: 'string' },
    use: { type: 'string', multiple: true },
    'captured-at': { type: 'string' },
    'media-type': { type: 'string' },
    text: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(v, [work], io) {
    const capture = str(v.capture);
    if (!capture) throw new UsageError('--capture FILE is required: the screen recording or page archive you captured');
    const signer = await signingKey(v);
    const { sha256, size } = await hashFile(capture, io);
    // When it was captured: as given, else the file's modification time.
    const capturedAt = dateArg(str(v['captured-at']), '--captured-at', 'instant') ?? Math.floor((await stat(capture)).mtimeMs);
    const uses = usesArg(v.use, '--use');
    const statement = signStatement(
      {
        type: 'claim',
        issuedAt: Date.now(),
        work: idArg(work, 'work'),
        subject: {
          ...(str(v.url) ? { url: str(v.url) } : {}),
          ...(str(v.platform) ? { platform: str(v.platform) } : {}),
          ...(str(v.reference) ? { reference: str(v.reference) } : {}),
          ...(str(v['copy-sha256']) ? { sha256: idArg(str(v['copy-sha256']), 'copy sha256') } : {}),
        },
        capture: { sha256, mediaType: str(v['media-type']) ?? MEDIA_TYPES[extname(capture).toLowerCase()] ?? 'application/octet-stream', size, capturedAt },
        uses: uses.length ? uses : ['publish'],
        ...(str(v.text) ? { text: str(v.text) } : {}),
      },
      signer,
    );
    const result = await client(v).submit(statement);
    printReceipt(io, v, `infringement claimed; claim`, result, { capture: { sha256: toHex(sha256), size, capturedAt } });
    if (!v.json) io.out(`  capture: sha256 ${toHex(sha256)}, ${size} bytes, captured ${new Date(capturedAt).toISOString()} (keep the file: the ledger holds only its hash)`);
    return 0;
  },
};
