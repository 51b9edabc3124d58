import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { toHex } from '../core/bytes.js';
import { signStatement } from '../core/cose.js';
import { encodeFrames, FINGERPRINT_KIND, PATCH_KIND } from '../core/fingerprint.js';
import { decimate, encodeSound, ITEM_MS, SOUND_KIND } from '../core/soundtrack.js';
import { fingerprintOrNote, probeMedia, soundOf } from './media.js';
import { client, printReceipt, signingKey, signingOptions, listArg } from './client.js';
import { str, UsageError, type Command } from './command.js';
import { hashFile } from './hash-file.js';


const soundSeconds = (values: Uint32Array) => Math.round((values.length * ITEM_MS) / 1000);

export const register: Command = {
  name: 'register',
  summary: 'register a file as an original work; saves the receipt and evidence as FILE.cartulary.json',
  usage: 'cartulary register FILE --key K [--title T] [--alias TITLE]… [--media-type M] [--creator NAME]… [--no-fingerprint] [--server URL] [--json]',
  example: 'cartulary register film.mp4 --key alice --title "My film"',
  options: {
    ...signingOptions,
    title: { type: 'string' },
    'media-type': { type: 'string' },
    creator: { type: 'string', multiple: true },
    alias: { type: 'string', multiple: true },
    'no-fingerprint': { type: 'boolean' },
  },
  async run(v, [file], io) {
    if (!file) throw new UsageError('FILE is required');
    const signer = await signingKey(v);
    const { sha256, size } = await hashFile(file, io);
    const creators = listArg(v.creator);
    const { mediaType, kind, sound: hasSound } = await probeMedia(file, str(v['media-type']), 'register', io);
    // Video and images carry perceptual fingerprints in the signed claim, so re-encodes,
    // clips and compilations of the work can be recognised later; a soundtrack its own.
    const sound = hasSound && !v['no-fingerprint'] ? await soundOf(file, 'register', io) : null;
    const { frames, patches } = kind && !v['no-fingerprint'] ? await fingerprintOrNote(file, kind, 'register', io, sound !== null) : { frames: [], patches: [] };
    const fingerprints = [
      ...(frames.length ? [{ kind: FINGERPRINT_KIND, value: encodeFrames(frames) }] : []),
      ...(patches.length ? [{ kind: PATCH_KIND, value: encodeFrames(patches) }] : []),
      ...(sound ? [{ kind: SOUND_KIND, value: encodeSound(decimate(sound)) }] : []),
    ];
    const statement = signStatement(
      {
        type: 'register',
        issuedAt: Date.now(),
        sha256,
        size,
        mediaType,
        title: str(v.title) ?? basename(file),
        ...(creators.length ? { creators } : {}),
        ...(listArg(v.alias).length ? { aliases: listArg(v.alias) } : {}),
        ...(fingerprints.length ? { fingerprints } : {}),
      },
      signer,
    );
    const api = client(v);
    const result = await api.submit(statement);
    const id = result.receipt.id;
    const evidence = await api.get(`/v1/works/${id}/evidence`);
    // A registration is contested from its first moment when another party registered the same content, or a lookalike, first.
    const work = (await api.get(`/v1/works/${id}`)) as { status: string; contest: { by: string } | null; lookalikes: string[] };
    const out = `${file}.cartulary.json`;
    // The file beside FILE names its latest registration; an earlier one's receipt stays in the ledger (cartulary evidence WORK).
    const replaced = await readFile(out, 'utf8').then((text) => (JSON.parse(text) as { receipt?: { id?: unknown } }).receipt?.id, () => undefined);
    await writeFile(out, `${JSON.stringify({ receipt: result.receipt, evidence }, null, 2)}\n`);
    const contestedBy = work.status === 'contested' ? (work.contest?.by ?? null) : null;
    printReceipt(io, v, `registered ${file} as work`, result, { work: id, title: str(v.title) ?? basename(file), sha256: toHex(sha256), size, fingerprintFrames: frames.length, soundtrackSeconds: sound ? soundSeconds(sound) : 0, status: work.status, contestedBy, saved: out });
    if (v.json) return 0;
    if (contestedBy) {
      const why = work.lookalikes.includes(contestedBy) ? 'whose frames this file matches' : 'of the same content';
      io.out(`  contested: work ${contestedBy} was registered earlier by another party, ${why}; checks of this content answer contested until a mediator decides (see "Disputes" in the README)`);
    }
    if (typeof replaced === 'string' && replaced !== id) io.out(`  replaced the receipt of work ${replaced} in ${out} (the ledger still holds it: cartulary evidence ${replaced})`);
    const sampled = new Set(frames.map((f) => f.timeMs)).size;
    if (frames.length) io.out(`  fingerprinted: ${sampled} frames${frames.length > sampled ? `, ${frames.length - sampled} region hashes` : ''}${patches.length ? `, ${patches.length} keypoint patches` : ''}`);
    if (sound) io.out(`  soundtrack fingerprinted: ${soundSeconds(sound)} s`);
    io.out(`  receipt and evidence saved to ${out}`);
    return 0;
  },
};
