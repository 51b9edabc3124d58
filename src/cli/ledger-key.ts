/** `--ledger-key`: the verifier key string, or a file holding it. */
import { readFile, stat } from 'node:fs/promises';

export async function ledgerKeyArg(value: string): Promise<string> {
  const isFile = await stat(value).then((s) => s.isFile(), () => false);
  return isFile ? (await readFile(value, 'utf8')).trim() : value.trim();
}
