/**
 * The lock on a PostgreSQL writer's index folder (folder-lock.ts): one holder at a time, and
 * a holder killed with SIGKILL leaves no stale lock behind.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { lockFolder } from '../src/store/folder-lock.js';
import { tempDir } from './helpers.js';

describe('folder lock', () => {
  it('refuses a second holder, and is free again once its holder is killed with SIGKILL', async () => {
    const dir = await tempDir();
    const holder = spawn(process.execPath, ['--import', 'tsx', '-e', `const { lockFolder } = await import(${JSON.stringify(new URL('../src/store/folder-lock.ts', import.meta.url).pathname)}); await lockFolder(process.argv[1], 'the folder'); console.log('held'); setInterval(() => {}, 1000);`, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(holder.stdout, 'data')) as [Buffer];
    expect(line.toString().trim()).toBe('held');
    await expect(lockFolder(dir, 'the folder')).rejects.toThrow(/the folder .* is in use by another process/);
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    const lock = await lockFolder(dir, 'the folder');
    await lock.release();
  });
});
