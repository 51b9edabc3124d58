/**
 * Key files on disk: NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (SPKI PEM).
 */
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex } from '../core/bytes.js';
import { randomSeed, signerFromSeed, type Signer } from '../core/crypto.js';
import { CartularyError } from '../core/errors.js';
import { publicKeyFromPem, publicKeyToPem, secretKeyFromPem, secretKeyToPem } from '../core/keys.js';

const exists = (path: string) => stat(path).then(() => true, () => false);

/** Writes a new key pair; refuses to overwrite an existing secret key. Returns the signer. */
export async function createKeyPair(dir: string, name: string): Promise<Signer> {
  await mkdir(dir, { recursive: true });
  const secretPath = join(dir, `${name}.key`);
  if (await exists(secretPath)) throw new CartularyError('conflict', `${secretPath} already exists; not overwriting a secret key`);
  const seed = randomSeed();
  const signer = signerFromSeed(seed);
  await writeFile(secretPath, secretKeyToPem(seed), { mode: 0o600, flag: 'wx' });
  await chmod(secretPath, 0o600); // the umask may have narrowed, never widened, but be exact
  await writeFile(join(dir, `${name}.pub`), publicKeyToPem(signer.publicKey), { mode: 0o644 });
  return signer;
}

/**
 * Loads a secret key file. With `strict`, refuses one readable by group or others, as ssh
 * does, saying how to fix it (the ledger's own key is loaded this way).
 */
export async function loadSecretKey(path: string, { strict = false } = {}): Promise<Signer> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new CartularyError('not-found', `secret key file ${path} does not exist`);
  }
  if (strict && (info.mode & 0o077) !== 0) {
    throw new CartularyError(
      'unauthorised',
      `secret key ${path} is readable by others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
    );
  }
  const pem = await readFile(path, 'utf8');
  if (pem.includes('-----BEGIN PUBLIC KEY-----')) {
    throw new CartularyError('invalid', `${path} is a public key: sign with the secret key beside it${path.endsWith('.pub') ? ` (${path.slice(0, -4)}.key)` : ''}`);
  }
  try {
    return signerFromSeed(secretKeyFromPem(pem));
  } catch (e) {
    throw new CartularyError('malformed', `${path} is not a secret key: ${(e as Error).message}`, { cause: e });
  }
}

export async function loadPublicKey(path: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CartularyError('not-found', `public key file ${path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  return publicKeyFromPem(text);
}

/** Loads NAME.key from `dir` (strictly: not readable by others), creating the pair on first use. */
export async function loadOrCreateKey(dir: string, name: string): Promise<{ signer: Signer; created: boolean }> {
  try {
    return { signer: await loadSecretKey(join(dir, `${name}.key`), { strict: true }), created: false };
  } catch (e) {
    if (!(e instanceof CartularyError) || e.code !== 'not-found') throw e;
    return { signer: await createKeyPair(dir, name), created: true };
  }
}

/** A party given on the command line: 64 hex characters, or a .pub / .key file. */
export async function resolveParty(value: string): Promise<string> {
  if (/^[0-9a-f]{64}$/.test(value)) return value;
  if (await exists(value)) {
    const text = await readFile(value, 'utf8');
    return toHex(text.includes('PRIVATE KEY') ? signerFromSeed(secretKeyFromPem(text)).publicKey : publicKeyFromPem(text));
  }
  throw new CartularyError('malformed', `"${value}" is neither a party (64 hex characters) nor a key file`);
}
