/**
 * The watermark: the largest tree the ledger key has ever signed, kept beside the key and
 * outside LevelDB, so a store that lost acknowledged entries (a truncated log, a restored
 * old copy, a folder whose database vanished) is refused instead of extended into a fork
 * signed by the same key (issue 10.5). A read-only node keeps one alike in its index folder:
 * the largest tree it ever served, which no restart may serve less than (follower.ts).
 *
 * Guarantees:
 * - `advance` is durable when it resolves (written in place, then fdatasync).
 * - A crash during `advance` leaves the previous value readable: the file holds two slots,
 *   each with its own checksum, written alternately; `read` takes the valid slot with the
 *   larger size. A slot torn by a crash fails its checksum and is ignored.
 * - The sequencer advances it after the store's synced write and before answering anyone,
 *   so every acknowledged entry lies inside the watermark, and the watermark never passes
 *   what the store holds: after any crash, store size ≥ watermark size.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { concatBytes, equalBytes, readUintBE, uintBE, utf8 } from '../core/bytes.js';
import { sha256 } from '../core/crypto.js';
import { CartularyError } from '../core/errors.js';
import { syncFolder } from './atomic-file.js';

export interface Mark {
  size: number;
  rootHash: Uint8Array;
}

const MAGIC = utf8('CWM1');
const BODY = MAGIC.length + 8 + 32;
const SLOT = BODY + 16;

function encodeSlot(mark: Mark): Uint8Array {
  const body = concatBytes(MAGIC, uintBE(mark.size, 8), mark.rootHash);
  return concatBytes(body, sha256(body).subarray(0, 16));
}

function decodeSlot(bytes: Uint8Array): Mark | null {
  if (bytes.length !== SLOT || !equalBytes(bytes.subarray(0, MAGIC.length), MAGIC)) return null;
  if (!equalBytes(sha256(bytes.subarray(0, BODY)).subarray(0, 16), bytes.subarray(BODY))) return null;
  return { size: readUintBE(bytes, MAGIC.length, 8), rootHash: bytes.slice(MAGIC.length + 8, BODY) };
}

export class Watermark {
  private constructor(
    private readonly file: FileHandle,
    readonly path: string,
    private current: Mark | null,
    private nextSlot: number,
  ) {}

  /**
   * Opens (creating if missing) the watermark file. `current` is null for a key that never
   * signed. `remedy`: what a damaged file's error tells the operator to do.
   */
  static async open(path: string, remedy = 'restore it from a backup of the keys folder'): Promise<Watermark> {
    let file: FileHandle;
    try {
      file = await open(path, 'r+');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      file = await open(path, 'w+', 0o644);
      // The new name must survive a crash too, or a lost file would read as "never signed".
      await syncFolder(dirname(path));
    }
    const raw = new Uint8Array(2 * SLOT);
    const { bytesRead } = await file.read(raw, 0, raw.length, 0);
    const slots = [0, 1].map((i) => (bytesRead >= (i + 1) * SLOT ? decodeSlot(raw.subarray(i * SLOT, (i + 1) * SLOT)) : null));
    if (bytesRead > 0 && slots.every((s) => s === null)) {
      await file.close();
      throw new CartularyError('corrupt', `the watermark ${path} is damaged (no slot checks out); ${remedy}`);
    }
    const best = slots[0] && (!slots[1] || slots[0].size >= slots[1].size) ? 0 : slots[1] ? 1 : -1;
    return new Watermark(file, path, best < 0 ? null : slots[best] ?? null, best === 0 ? 1 : 0);
  }

  get mark(): Mark | null {
    return this.current;
  }

  /** Records a newly signed tree; durable when it resolves. */
  async advance(mark: Mark): Promise<void> {
    const slot = this.nextSlot;
    await this.file.write(encodeSlot(mark), 0, SLOT, slot * SLOT);
    await this.file.datasync();
    this.current = { size: mark.size, rootHash: mark.rootHash.slice() };
    this.nextSlot = 1 - slot;
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
