/**
 * Replacing a small file atomically and durably: after `writeFileAtomic` resolves, a crash
 * or power loss leaves the new bytes; a crash before leaves the old ones; never a mix.
 * Order: write a temporary file → fsync it → rename over the target → fsync the folder
 * (so the rename itself survives).
 */
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const file = await open(tmp, 'w', 0o644);
  try {
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  await syncFolder(dir);
}

/** Makes the folder's entries (a rename, a removal) survive a crash. */
export async function syncFolder(dir: string): Promise<void> {
  const folder = await open(dir, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
