/**
 * Proofs in standard formats from a real server: a C2SP tlog-proof and a COSE Receipt
 * (RFC 9942, RFC9162_SHA256) of an entry verify offline — in code and through
 * `cartulary verify` — and stop verifying when any bit of them, or of the leaf, flips.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { decode } from 'cborg';
import { afterEach, describe, expect, it } from 'vitest';
import { fromBase64, toBase64, toHex } from '../src/core/bytes.js';
import { openCheckpoint, parseVerifierKey } from '../src/core/checkpoint.js';
import { verifyCoseReceipt } from '../src/core/cose-receipt.js';
import { hashLeaf } from '../src/core/merkle.js';
import { formatTlogProof, parseTlogProof, verifyTlogProof } from '../src/core/tlog-proof.js';
import { main } from '../src/cli/main.js';
import { party, stmt, tempDir } from './helpers.js';
import { serverFixture, type ServerFixture } from './server-fixture.js';

const flip = (bytes: Uint8Array, bit: number) => {
  const copy = bytes.slice();
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
};

describe('tlog-proof and COSE receipt of a real entry', () => {
  let server: ServerFixture | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('verify, through the CLI too, and fail when a bit flips anywhere that matters', async () => {
    server = await serverFixture();
    const alice = party();
    for (let i = 0; i < 10; i++) expect((await server.submit(stmt.register(alice))).status).toBe(201);
    const key = parseVerifierKey(server.verifierKey);
    const dir = await tempDir();
    const cli = async (...args: string[]) => {
      const lines: string[] = [];
      const code = await main(args, { out: (l) => lines.push(l), err: (l) => lines.push(l), progress: false });
      return { code, output: lines.join('\n') };
    };

    // tlog-proof
    const res = await server.get('/v1/entries/3/tlog-proof');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const text = await res.text();
    expect(text.split('\n').slice(0, 3)).toEqual(['c2sp.org/tlog-proof@v1', expect.stringMatching(/^extra [A-Za-z0-9+/=]+$/), 'index 3']);
    const proven = verifyTlogProof(text, key);
    expect(proven.checkpoint.size).toBe(10);
    expect(proven.leaf.index).toBe(3);
    const parsed = parseTlogProof(text);
    expect(formatTlogProof(parsed)).toBe(text);
    await writeFile(`${dir}/p.tlog-proof`, text);
    const good = await cli('verify', `${dir}/p.tlog-proof`, '--ledger-key', server.verifierKey);
    expect(good.code, good.output).toBe(0);
    expect(good.output).toMatch(/entry 3 \(statement [0-9a-f]{64}, register by [0-9a-f]{64}\) is in that tree/);
    expect((await cli('proof', '3', '--server', server.url)).output).toBe(text.trimEnd());

    const cp = openCheckpoint(parsed.checkpoint, key);
    const variants: Array<[string, string]> = [
      ['a proof hash', formatTlogProof({ ...parsed, proof: parsed.proof.map((h, i) => (i === 1 ? flip(h, 77) : h)) })],
      ['the leaf', formatTlogProof({ ...parsed, extra: flip(parsed.extra, 8 * 40 + 2) })],
      ['the index', formatTlogProof({ ...parsed, index: 2 })],
      ['the checkpoint root', formatTlogProof({ ...parsed, checkpoint: parsed.checkpoint.replace(toBase64(cp.rootHash), toBase64(flip(cp.rootHash, 5))) })],
      ['the checkpoint signature', parsed.checkpoint.split('\n\n')[0] + '\n\n' + parsed.checkpoint.split('\n\n')[1]!.replace(/ (\S+)\n$/, (_m, sig: string) => ` ${toBase64(flip(fromBase64(sig, 's'), 300))}\n`)],
    ];
    variants[4]![1] = formatTlogProof({ ...parsed, checkpoint: variants[4]![1] });
    for (const [what, bad] of variants) {
      expect(() => verifyTlogProof(bad, key), what).toThrow();
      await writeFile(`${dir}/bad.tlog-proof`, bad);
      expect((await cli('verify', `${dir}/bad.tlog-proof`, '--ledger-key', server.verifierKey)).code, what).toBe(1);
    }

    // COSE receipt
    const r = await server.get('/v1/entries/3/receipt');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/cose');
    const receipt = new Uint8Array(await r.arrayBuffer());
    // Read with a plain CBOR decoder, as any SCITT verifier would: tag 18, vds 1, one inclusion proof.
    const [protectedBytes, unprotected, payload] = decode(receipt, { useMaps: true, tags: Object.assign([], { 18: (content: () => unknown) => content() }) }) as [Uint8Array, Map<number, Map<number, Uint8Array[]>>, null];
    expect(decode(protectedBytes, { useMaps: true })).toEqual(new Map<number, unknown>([[1, -8], [4, key.keyId], [395, 1]]));
    expect(payload).toBeNull();
    const [size, index, path] = decode(unprotected.get(396)!.get(-1)![0]!) as [number, number, Uint8Array[]];
    expect([size, index, path.length]).toEqual([10, 3, parsed.proof.length]);
    const leaf = parsed.extra;
    const ok = verifyCoseReceipt(receipt, hashLeaf(leaf), key.publicKey);
    expect(toHex(ok.rootHash)).toBe(toHex(cp.rootHash));
    // Every flipped bit fails, except in the tree size: RFC 9942 leaves it in the unprotected
    // header, and a size with the same path shape (10 → 11, 14 here) implies the same root.
    // Such a flip still proves the same entry under the same signed root, never another.
    const passed: Array<{ size: number; index: number; root: string }> = [];
    for (let bit = 0; bit < receipt.length * 8; bit++) {
      try {
        const p = verifyCoseReceipt(flip(receipt, bit), hashLeaf(leaf), key.publicKey);
        passed.push({ size: p.size, index: p.index, root: toHex(p.rootHash) });
      } catch {
        // refused, as it should be
      }
    }
    expect(passed.length).toBeLessThanOrEqual(2);
    for (const p of passed) {
      expect(p.size).not.toBe(10);
      expect([p.index, p.root]).toEqual([3, toHex(cp.rootHash)]);
    }
    expect(() => verifyCoseReceipt(receipt, hashLeaf(flip(leaf, 100)), key.publicKey)).toThrow('does not verify');

    expect((await cli('proof', '3', '--receipt', '--out', `${dir}/r.cose`, '--server', server.url)).code).toBe(0);
    expect(toHex(new Uint8Array(await readFile(`${dir}/r.cose`)))).toBe(toHex(receipt));
    const viaCli = await cli('verify', `${dir}/r.cose`, '--ledger-key', server.verifierKey);
    expect(viaCli.code, viaCli.output).toBe(0);
    // The size it prints is the receipt's word, not something the signature proves.
    expect(viaCli.output).toMatch(/over the root [0-9a-f]{64} \(the receipt says of 10 entries; its signature does not cover the size/);
    await writeFile(`${dir}/r.cose.leaf`, flip(leaf, 200));
    expect((await cli('verify', `${dir}/r.cose`, '--ledger-key', server.verifierKey)).code).toBe(1);

    for (const [path, status] of [['/v1/entries/10/tlog-proof', 404], ['/v1/entries/x/receipt', 400], ['/v1/entries/99/receipt', 404]] as const) {
      expect((await server.get(path)).status, path).toBe(status);
    }
  }, 60_000);
});
