/**
 * What every CLI command is: a name, its help (with an example), its options, and a run
 * function returning the exit status. Errors are CartularyErrors; main.ts prints them.
 */
import type { ParseArgsConfig } from 'node:util';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | Array<string | boolean> | undefined>;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  /** true when stderr is a terminal, so progress may be drawn */
  progress: boolean;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  example: string;
  options: Options;
  run(values: Values, positionals: string[], io: Io): Promise<number>;
}

/** Exit statuses shared by every command (`check` also uses 0/1/2 for its verdicts). */
export const EXIT = { ok: 0, failed: 1, error: 3, usage: 64 } as const;

export const str = (v: Values[string]): string | undefined => (typeof v === 'string' ? v : undefined);

/** Shared options for commands that touch a local ledger. */
export const ledgerFolders: Options = {
  data: { type: 'string', default: 'data' },
  keys: { type: 'string', default: 'keys' },
  origin: { type: 'string' },
  registrar: { type: 'string' },
};

/** Draws "label: done/total" on one terminal line; silent when not a terminal. */
export function progressLine(io: Io, label: string): (done: number, total: number) => void {
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (!io.progress || (now - last < 100 && done < total)) return;
    last = now;
    const pct = total > 0 ? ` ${Math.floor((done / total) * 100)}%` : '';
    process.stderr.write(`\r${label}: ${done}/${total}${pct}${done >= total ? '\n' : ''}`);
  };
}
