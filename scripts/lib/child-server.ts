/**
 * The real server as a child process (from source, through tsx), for tests and scripts that
 * must kill it, restart it, or watch what it writes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

export interface ChildServer {
  url: string;
  child: ChildProcess;
  /** everything the process wrote to stdout and stderr so far */
  output(): string;
  exited: Promise<number | null>;
}

export const CLI = [resolve('src/cli/run.ts')];

export interface ChildOptions {
  /** extra `serve` arguments */
  args?: string[];
  env?: Record<string, string>;
  /** arguments for node itself (--cpu-prof…) */
  nodeArgs?: string[];
  /** keep the request log (stdout); a benchmark discards it so the client does not pay for it */
  captureStdout?: boolean;
}

export function startChildServer(dataDir: string, keysDir: string, opts: ChildOptions = {}): Promise<ChildServer> {
  return startChildCommand(['serve', '--port', '0', '--data', dataDir, '--keys', keysDir, ...(opts.args ?? [])], opts);
}

/** Any long-running CLI command (serve, witness) that prints "listening on URL" (or, with --json, {"url": URL}) once ready. */
export async function startChildCommand(args: string[], opts: Omit<ChildOptions, 'args'> = {}): Promise<ChildServer> {
  const capture = opts.captureStdout ?? true;
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', ...CLI, ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', capture ? 'pipe' : 'ignore', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await new Promise<string>((ok, fail) => {
    const onData = () => {
      const m = /listening on (http:\/\/\S+)|"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) ok((m[1] ?? m[2])!);
    };
    child.stdout?.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => fail(new Error(`server exited with ${code} before listening:\n${out}`)));
  });
  return { url, child, output: () => out, exited };
}

/** Runs a CLI command to completion; resolves with its exit code and output. */
export function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => ok({ code, output }));
  });
}

/**
 * Resident memory of a process, MB: `anon` is its own memory (heap, buffers); `file` is the
 * pages of files it has mapped and touched (LevelDB maps its tables), which the kernel
 * reclaims at will and which grow with whatever part of the data was read.
 */
export async function memoryOf(pid: number): Promise<{ anon: number; file: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
}
