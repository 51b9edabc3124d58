/** The explorer's file hash: WebCrypto for a file read whole, @noble streaming beyond that; the same digest either way. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashBlob } from '../src/web/hash-blob.js';

describe('hashBlob', () => {
  const bytes = new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => (i * 31) % 251);
  const expected = createHash('sha256').update(bytes).digest('hex');
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

  it('hashes a file read whole with WebCrypto', async () => {
    expect(hex(await hashBlob(new Blob([bytes])))).toBe(expected);
  });

  it('streams a file larger than the limit, reporting progress up to its size', async () => {
    const progress: number[] = [];
    const parts = [0, 1, 2, 3].map((i) => bytes.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
    expect(hex(await hashBlob(new Blob(parts), (done) => progress.push(done), 1024))).toBe(expected);
    // Only the streaming path reports progress: WebCrypto hashes in one call.
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(bytes.length);
  });
});
