/**
 * The ledger's verifier key: `--ledger-key` as given on the command line, and
 * `cartulary ledger-key`, which fetches it from a server and pins it (trust on first use).
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { formatVerifierKey, openCheckpoint, parseVerifierKey } from '../core/checkpoint.js';
import { CartularyError } from '../core/errors.js';
import { publicKeyFromPem } from '../core/keys.js';
import { client, serverOption, serverUrl, type LedgerClient } from './client.js';
import { EXIT, str, type Command, type Io } from './command.js';

/** Looks like `<origin>+<8 hex>+<base64>`: a verifier key given inline, not a file name. */
const INLINE_KEY = /^[\x21-\x2a\x2c-\x7e]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/;

/** The origin a bundle's checkpoint names (its first line), to pair with a bare public key. */
export function originOf(bundle: unknown): string | undefined {
  const checkpoint = (bundle as { checkpoint?: unknown } | null)?.checkpoint;
  return typeof checkpoint === 'string' ? checkpoint.split('\n', 1)[0] : undefined;
}

/**
 * `--ledger-key`: a verifier key, or a file holding one (ledger.vkey) or holding the
 * ledger's SPKI public key (keys/ledger.pub). A bare public key carries no origin, so it is
 * paired with the origin of the evidence being checked: the key bytes are what is pinned.
 * A name that is neither an existing file nor a verifier key is an error, never a key.
 */
export async function ledgerKeyArg(value: string, origin: string | undefined): Promise<string> {
  const isFile = await stat(value).then((s) => s.isFile(), () => false);
  if (!isFile) {
    if (INLINE_KEY.test(value.trim())) return value.trim();
    throw new CartularyError('not-found', `--ledger-key ${value}: no such file, and not a verifier key (<origin>+<key id>+<base64 key>)`);
  }
  const text = (await readFile(value, 'utf8')).trim();
  if (!text.includes('PUBLIC KEY')) {
    parseVerifierKey(text);
    return text;
  }
  if (origin === undefined) throw new CartularyError('invalid', `${value} is a bare public key; there is no checkpoint to take the ledger's origin from`);
  return formatVerifierKey(origin, publicKeyFromPem(text));
}

export const ledgerKey: Command = {
  name: 'ledger-key',
  summary: "print the ledger's verifier key, fetched from the server; with --out, pin it in a file and refuse a key that changed",
  usage: 'cartulary ledger-key [--out FILE] [--server URL] [--json]',
  example: 'cartulary ledger-key --out ledger.vkey',
  options: { ...serverOption, out: { type: 'string' } },
  async run(v, _p, io) {
    const log = await client(v).get<{ origin: string; verifierKey: string; size: number; checkpoint: string }>('/v1/log');
    // The server must at least hold the key it names: its latest checkpoint verifies under it.
    openCheckpoint(log.checkpoint, parseVerifierKey(log.verifierKey));
    const out = str(v.out);
    const pinned = out ? await readFile(out, 'utf8').then((t) => t.trim(), () => null) : null;
    if (out && pinned !== null && pinned !== log.verifierKey) {
      io.err(`cartulary ledger-key: the ledger at ${serverUrl(v)} now presents the key\n  ${log.verifierKey}\nbut ${out} pins\n  ${pinned}\nDo not trust its evidence until you know why (a new key cannot continue the same log).`);
      return EXIT.failed;
    }
    if (out && pinned === null) await writeFile(out, `${log.verifierKey}\n`, { flag: 'wx' });
    const firstUse = pinned === null;
    if (v.json) io.out(JSON.stringify({ verifierKey: log.verifierKey, origin: log.origin, size: log.size, pinnedIn: out ?? null, firstUse }, null, 2));
    else io.out(log.verifierKey);
    if (firstUse) {
      io.err(
        `warning: trust on first use — this key came from ${serverUrl(v)} itself. Compare it with the key the ledger's operator publishes elsewhere before relying on evidence it signs` +
          (out ? `; pinned in ${out}, and later runs with --out ${out} refuse a different key.` : '.'),
      );
    } else io.err(`the key matches the one pinned in ${out}`);
    return EXIT.ok;
  },
};

/** The key to verify a server's evidence against: `--ledger-key`, or else the server's own, said aloud. */
export async function keyToTrust(value: string | undefined, api: LedgerClient, io: Io, origin: string | undefined): Promise<string> {
  if (value) return ledgerKeyArg(value, origin);
  const { verifierKey } = await api.get<{ verifierKey: string }>('/v1/log');
  io.err(`note: trusting the server's own key ${verifierKey}; pass --ledger-key to pin it`);
  return verifierKey;
}
