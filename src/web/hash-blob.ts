/**
 * SHA-256 of a file in the browser, without sending it anywhere. WebCrypto is fastest but
 * has no streaming API, so it needs the whole file in memory; beyond `wholeUpTo` bytes the
 * file is streamed through @noble's incremental SHA-256 instead, so a film of several
 * gigabytes does not exhaust the tab.
 */
import { sha256 } from '@noble/hashes/sha2.js';

/** Files up to this size are read whole and hashed by WebCrypto. */
export const WEBCRYPTO_MAX_BYTES = 256 * 1024 * 1024;

export async function hashBlob(blob: Blob, onProgress: (done: number, total: number) => void = () => {}, wholeUpTo = WEBCRYPTO_MAX_BYTES): Promise<Uint8Array> {
  if (blob.size <= wholeUpTo) return new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
  const hash = sha256.create();
  const reader = blob.stream().getReader();
  let done = 0;
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    hash.update(chunk.value);
    done += chunk.value.length;
    onProgress(done, blob.size);
  }
  return hash.digest();
}
