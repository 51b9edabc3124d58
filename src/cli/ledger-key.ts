/** `--ledger-key`: the verifier key string, or a file holding it. */
import { readFile, stat } from 'node:fs/promises';
import type { LedgerClient } from './client.js';
import type { Io } from './command.js';

export async function ledgerKeyArg(value: string): Promise<string> {
  const isFile = await stat(value).then((s) => s.isFile(), () => false);
  return isFile ? (await readFile(value, 'utf8')).trim() : value.trim();
}

/** The key to verify a server's evidence against: `--ledger-key`, or else the server's own, said aloud. */
export async function keyToTrust(value: string | undefined, api: LedgerClient, io: Io): Promise<string> {
  if (value) return ledgerKeyArg(value);
  const { verifierKey } = await api.get<{ verifierKey: string }>('/v1/log');
  io.err(`note: trusting the server's own key ${verifierKey}; pass --ledger-key to pin it`);
  return verifierKey;
}
