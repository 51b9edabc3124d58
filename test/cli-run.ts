/** Runs the CLI in-process, as `cartulary ARGV…` would, capturing what it prints. */
import type { Io } from '../src/cli/command.js';
import { main } from '../src/cli/main.js';

export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), progress: false };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}
