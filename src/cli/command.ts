/**
 * What every CLI command is: a name, its help (with an example), its options, and a run
 * function returning the exit status. Errors are CartularyErrors; main.ts prints them.
 */
import type { ParseArgsConfig } from 'node:util';
import { BIDI_CONTROLS } from '../verify/timeline.js';

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

/**
 * Resolves once a SIGTERM or SIGINT has been answered by `close` (a failure to close is
 * reported, not thrown). Call it before saying the service is ready: whoever started it may
 * stop it as soon as it reads that, and a signal with no listener kills the process on the
 * spot, before anything is saved (a SIGTERM sent on reading `serve`'s "listening" line did,
 * 28 times in 40). A second signal kills it, for a stop that hangs.
 */
export function closedOnSignal(close: () => Promise<void>, io: Io): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      io.err(`${signal}: draining and closing`);
      close().then(resolve, (e: unknown) => {
        io.err(`error while closing: ${(e as Error).message}`);
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/**
 * A command line that cannot mean anything (a required option or operand missing, a value
 * no statement could carry): reported with the command's help and exit 64, before any file
 * is read or anything is asked of a server.
 */
export class UsageError extends Error {}

// Terminal controls (C0 but tab and newline, DEL, C1) and bidirectional overrides and isolates.
const UNPRINTABLE = new RegExp(`[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f${BIDI_CONTROLS}]`, 'g');

/**
 * A line as it may reach a terminal: titles, reasons and names come from anyone who signs a
 * statement, and an escape sequence in one could clear the screen, forge an "ok" line, or
 * reverse a party's id on display. Each such character is shown as its \u escape, which is
 * also the same string to a JSON reader.
 */
export const printable = (line: string): string => line.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Exit statuses shared by every command (`check` also uses 0/1/2 for its verdicts). */
export const EXIT = { ok: 0, failed: 1, error: 3, usage: 64 } as const;

export const str = (v: Values[string]): string | undefined => (typeof v === 'string' ? v : undefined);

/** The keys folder: --keys, else $CARTULARY_KEYS, else ./keys. */
export const keysDir = (v: Values): string => str(v.keys) ?? process.env.CARTULARY_KEYS ?? 'keys';
/** The ledger's data folder: --data, else $CARTULARY_DATA, else ./data. */
export const dataDir = (v: Values): string => str(v.data) ?? process.env.CARTULARY_DATA ?? 'data';

/** A PostgreSQL URL to keep the ledger in: --store, else $CARTULARY_STORE; none means LevelDB in the data folder. */
export const storeUrl = (v: Values): string | undefined => str(v.store) ?? (process.env.CARTULARY_STORE || undefined);

/** Shared options for commands that touch a local ledger. */
export const ledgerFolders: Options = {
  data: { type: 'string' },
  store: { type: 'string' },
  keys: { type: 'string' },
  origin: { type: 'string' },
  registrar: { type: 'string' },
};

const MiB = 1024 * 1024;

function amount(n: number, unit: 'bytes' | 'items'): string {
  return unit === 'bytes' ? `${(n / MiB).toFixed(1)} MiB` : String(n);
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** "label: 45% 120.0/265.3 MiB, 85.2 MiB/s, ETA 2s" */
export function progressText(label: string, done: number, total: number, seconds: number, unit: 'bytes' | 'items'): string {
  const rate = seconds > 0 ? done / seconds : 0;
  const pct = total > 0 ? Math.floor((done / total) * 100) : 0;
  const eta = rate > 0 ? duration((total - done) / rate) : '?';
  return `${label}: ${pct}% ${unit === 'bytes' ? `${(done / MiB).toFixed(1)}/${amount(total, unit)}` : `${done}/${total}`}, ${amount(Math.round(rate * 10) / 10, unit)}/s, ETA ${eta}`;
}

/**
 * Progress of long work on stderr. On a terminal: one line redrawn at most ten times a
 * second, with rate and time left, erased when the work is done. Elsewhere (a log, CI): a
 * plain line at each tenth of the way, so a pipe is not flooded with carriage returns.
 */
export function progressLine(io: Io, given: string, unit: 'bytes' | 'items' = 'items'): (done: number, total: number) => void {
  // drawn straight to the terminal, past io: a file's name is anyone's text too
  const label = printable(given);
  const started = performance.now();
  let lastDraw = 0;
  let lastTenth = 0;
  return (done, total) => {
    const now = performance.now();
    const seconds = (now - started) / 1000;
    if (!io.progress) {
      const tenth = total > 0 ? Math.floor((done / total) * 10) : 0;
      if (tenth > lastTenth) {
        lastTenth = tenth;
        io.err(progressText(label, done, total, seconds, unit));
      }
      return;
    }
    if (done >= total) {
      process.stderr.write('\r\x1b[K');
      return;
    }
    if (now - lastDraw < 100) return;
    lastDraw = now;
    process.stderr.write(`\r${progressText(label, done, total, seconds, unit)}\x1b[K`);
  };
}
