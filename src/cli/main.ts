/**
 * `cartulary <command>`: dispatch, help, version, and turning every error into one line and
 * an exit status.
 */
import '../core/crypto-node.js'; // the CLI runs in Node: sign and verify with node:crypto
import { parseArgs } from 'node:util';
import { isCartularyError } from '../core/errors.js';
import { VERSION } from '../version.js';
import { accredit } from './accredit.js';
import { audit } from './audit.js';
import { certificate } from './certificate.js';
import { check } from './check.js';
import { claim } from './claim.js';
import { EXIT, printable, UsageError, type Command, type Io } from './command.js';
import { evidence } from './evidence.js';
import { exportTiles } from './export-tiles.js';
import { history } from './history.js';
import { sightings } from './sightings.js';
import { init } from './init.js';
import { keygen } from './keygen.js';
import { ledgerKey } from './ledger-key.js';
import { license } from './license.js';
import { profile } from './profile.js';
import { proof } from './proof.js';
import { protect } from './protect.js';
import { register } from './register.js';
import { resolve } from './resolve.js';
import { revoke } from './revoke.js';
import { serve } from './serve.js';
import { nearest } from './suggest.js';
import { transfer } from './transfer.js';
import { verify } from './verify.js';
import { witness } from './witness.js';

export const COMMANDS: Command[] = [init, serve, keygen, register, transfer, license, revoke, profile, protect, check, claim, accredit, resolve, verify, history, sightings, evidence, certificate, proof, ledgerKey, audit, exportTiles, witness];

/**
 * The process's own streams. A reader that goes away (`cartulary license … | head -1`) is
 * not an error of the command: the rest of its output is dropped and its exit status stands.
 */
function processIo(): Io {
  let stdoutOpen = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    stdoutOpen = false;
  });
  process.stderr.on('error', () => {});
  return {
    out: (line) => {
      if (stdoutOpen) process.stdout.write(`${line}\n`);
    },
    err: (line) => process.stderr.write(`${line}\n`),
    progress: process.stderr.isTTY === true,
  };
}

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `usage: cartulary <command> [options]   (cartulary <command> --help for its options and an example)`,
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'every command takes --json (one JSON document on stdout) and --help; cartulary --version prints the version.',
    'environment: CARTULARY_SERVER (--server), CARTULARY_KEYS (--keys), CARTULARY_DATA (--data); serve also HOST, PORT.',
  ].join('\n');
}

function commandHelp(c: Command): string {
  return `${c.usage}\n\n${c.summary}\n\nexample:\n  ${c.example}`;
}

/** parseArgs's message, shorter for an unknown option and with the nearest known one. */
function usageError(message: string, c: Command): string {
  const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
  if (!unknown) return `cartulary ${c.name}: ${message}`;
  const near = nearest(unknown.replace(/^-+/, ''), Object.keys(c.options));
  return `cartulary ${c.name}: unknown option ${unknown}${near ? `; did you mean --${near}?` : ''}`;
}

export async function main(argv: string[], given: Io = processIo()): Promise<number> {
  const io: Io = { ...given, out: (line) => given.out(printable(line)), err: (line) => given.err(printable(line)) };
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(help());
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.out(rest.includes('--json') ? JSON.stringify({ version: VERSION }) : `cartulary ${VERSION}`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    const near = nearest(name, COMMANDS.map((c) => c.name));
    io.err(`cartulary: unknown command "${name}"${near ? `; did you mean "${near}"?` : ''}\n\n${help()}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandHelp(command));
    return EXIT.ok;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...command.options, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (e) {
    io.err(`${usageError((e as Error).message, command)}\n\n${commandHelp(command)}`);
    return EXIT.usage;
  }
  try {
    return await command.run(parsed.values, parsed.positionals, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`cartulary ${name}: ${e.message}\n\n${commandHelp(command)}`);
      return EXIT.usage;
    }
    // Every failure is one line and an exit status; the stack only when asked for.
    const detail = isCartularyError(e) ? e.message : `unexpected error: ${(e as Error)?.message ?? String(e)}`;
    io.err(`cartulary ${name}: ${detail}`);
    if (!isCartularyError(e) && process.env.CARTULARY_DEBUG) io.err(String((e as Error)?.stack));
    return EXIT.error;
  }
}
