/** `--witness-policy FILE`: a C2SP tlog-policy file. */
import { readFile } from 'node:fs/promises';
import { CartularyError } from '../core/errors.js';
import { parsePolicy, type Policy } from '../core/policy.js';

export async function policyArg(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CartularyError('not-found', `cannot read the witness policy ${path}: ${(e as Error).message}`);
  }
  return parsePolicy(text);
}
