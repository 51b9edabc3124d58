/**
 * A lock on a folder for one process: a PostgreSQL writer's fingerprint indexes kept in a
 * local folder between starts (open-store.ts) must not be mapped by two processes, and two
 * ledgers' writers may be pointed at one folder by mistake. The PostgreSQL advisory lock
 * makes one writer per ledger, not per folder.
 *
 * It is LevelDB's own lock (an fcntl lock on `lock/LOCK`, through classic-level, already a
 * dependency), so the system releases it when the process ends however it ends — kill -9
 * included — and no stale lock file outlives its holder. Node has no flock of its own.
 */
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { CartularyError } from '../core/errors.js';

export interface FolderLock {
  release(): Promise<void>;
}

/** Takes the lock on `dir` (which must exist), or refuses with 'unavailable' while another process holds it. */
export async function lockFolder(dir: string, what: string): Promise<FolderLock> {
  const db = new ClassicLevel(join(dir, 'lock'));
  try {
    await db.open();
  } catch (e) {
    const reason = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
    if (/lock/i.test(reason)) throw new CartularyError('unavailable', `${what} ${dir} is in use by another process; give each writer a folder of its own`, { cause: e });
    throw new CartularyError('unavailable', `cannot lock ${what} ${dir}: ${reason}`, { cause: e });
  }
  return { release: () => db.close() };
}
