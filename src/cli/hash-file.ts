/** Streaming SHA-256 of a file, with progress on a terminal for large files. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { CartularyError } from '../core/errors.js';
import { progressLine, type Io } from './command.js';

export async function hashFile(path: string, io: Io): Promise<{ sha256: Uint8Array; size: number }> {
  const found = await stat(path).catch(() => undefined);
  if (!found) throw new CartularyError('not-found', `file ${path} does not exist`);
  if (!found.isFile()) throw new CartularyError('invalid', `${path} is ${found.isDirectory() ? 'a folder' : 'not a regular file'}: give the file itself`);
  const size = found.size;
  const hash = createHash('sha256');
  const progress = size > 64 * 1024 * 1024 ? progressLine(io, `hashing ${path}`, 'bytes') : () => {};
  let done = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    progress(done, size);
  }
  return { sha256: new Uint8Array(hash.digest()), size };
}
