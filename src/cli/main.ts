/**
 * `cartulary <command>`: dispatch, help, and turning errors into one line and an exit status.
 */
import { parseArgs } from 'node:util';
import { isCartularyError } from '../core/errors.js';
import { accredit } from './accredit.js';
import { audit } from './audit.js';
import { check } from './check.js';
import { claim } from './claim.js';
import { EXIT, type Command, type Io } from './command.js';
import { history } from './history.js';
import { init } from './init.js';
import { keygen } from './keygen.js';
import { license } from './license.js';
import { profile } from './profile.js';
import { register } from './register.js';
import { resolve } from './resolve.js';
import { revoke } from './revoke.js';
import { serve } from './serve.js';
import { transfer } from './transfer.js';
import { verify } from './verify.js';

export const COMMANDS: Command[] = [init, serve, keygen, register, transfer, license, revoke, profile, check, claim, accredit, resolve, verify, history, audit];

const defaultIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  progress: process.stderr.isTTY === true,
};

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: cartulary <command> [options]   (cartulary <command> --help for its options and an example)',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

function commandHelp(c: Command): string {
  return `${c.usage}\n\n${c.summary}\n\nexample:\n  ${c.example}`;
}

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(help());
    return name ? EXIT.ok : EXIT.usage;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`cartulary: unknown command "${name}"\n\n${help()}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandHelp(command));
    return EXIT.ok;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
  } catch (e) {
    io.err(`cartulary ${name}: ${(e as Error).message}\n\n${commandHelp(command)}`);
    return EXIT.usage;
  }
  try {
    return await command.run(parsed.values, parsed.positionals, io);
  } catch (e) {
    if (isCartularyError(e)) {
      io.err(`cartulary ${name}: ${e.message}`);
      return EXIT.error;
    }
    throw e;
  }
}
