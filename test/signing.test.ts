/** COSE_Sign1 statements, C2SP checkpoints and RFC 8410 key files. */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, createHash, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ed from '@noble/ed25519';
import { Tagged } from 'cborg';
import { describe, expect, it } from 'vitest';
import { concatBytes, toBase64, toHex, utf8 } from '../src/core/bytes.js';
import { encodeCbor } from '../src/core/cbor.js';
import { formatVerifierKey, openCheckpoint, parseVerifierKey, signCheckpoint } from '../src/core/checkpoint.js';
import { CONTENT_TYPE, MAX_PAYLOAD_BYTES, parseStatement, signStatement, verifyStatement } from '../src/core/cose.js';
import { cryptoBackend, isStrictPublicKey, nobleBackend, randomSeed, sha256, signerFromSeed } from '../src/core/crypto.js';
import { nodeBackend } from '../src/core/crypto-node.js';
import { publicKeyFromPem, publicKeyToPem, secretKeyFromPem, secretKeyToPem } from '../src/core/keys.js';
import { loadSecretKey } from '../src/store/key-files.js';
import { party, tempDir } from './helpers.js';

const protectedFor = (kid: Uint8Array, alg = -8) => encodeCbor(new Map<number, unknown>([[1, alg], [3, CONTENT_TYPE], [4, kid]]));
const sign1 = (prot: Uint8Array, payload: Uint8Array, sig: Uint8Array, unprot = new Map()) => encodeCbor(new Tagged(18, [prot, unprot, payload, sig]));
const sigStructure = (prot: Uint8Array, payload: Uint8Array) => encodeCbor(['Signature1', prot, new Uint8Array(0), payload]);

describe('crypto backends', () => {
  it('node:crypto and @noble agree on SHA-256 and Ed25519 (RFC 8032 §7.1 test 1)', () => {
    const seed = Uint8Array.from(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'));
    const expectedPub = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
    const expectedSig =
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';
    expect(cryptoBackend()).toBe(nodeBackend);
    for (const b of [nodeBackend, nobleBackend]) {
      const s = b.signerFromSeed(seed);
      expect(toHex(s.publicKey)).toBe(expectedPub);
      expect(toHex(s.sign(new Uint8Array(0)))).toBe(expectedSig);
      expect(b.verify(s.publicKey, new Uint8Array(0), s.sign(new Uint8Array(0)))).toBe(true);
      expect(b.verify(s.publicKey, Uint8Array.of(1), s.sign(new Uint8Array(0)))).toBe(false);
      expect(toHex(b.sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    }
  });

  it('both refuse keys of small order and non-canonical keys, under which anyone can sign', () => {
    // The eight points of small order (canonical encodings), and non-canonical encodings (y ≥ p) of two of them.
    const smallOrder = [
      '0100000000000000000000000000000000000000000000000000000000000000',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0000000000000000000000000000000000000000000000000000000000000080',
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
    ];
    const nonCanonical = ['eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'];
    const message = utf8('transfer the work to me');
    // R = the identity, S = 0: [S]B = R + [k]A holds for A the identity whatever the message.
    const forged = concatBytes(Uint8Array.from(Buffer.from(smallOrder[0]!, 'hex')), new Uint8Array(32));
    const identitySpki = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(smallOrder[0]!, 'hex')]), format: 'der', type: 'spki' });
    expect(nodeVerify(null, message, identitySpki, forged)).toBe(true); // OpenSSL alone takes it: the reason for the check
    for (const hex of [...smallOrder, ...nonCanonical]) {
      const key = Uint8Array.from(Buffer.from(hex, 'hex'));
      expect(isStrictPublicKey(key), hex).toBe(false);
      for (const b of [nodeBackend, nobleBackend]) expect(b.verify(key, message, forged), `${b.name} ${hex}`).toBe(false);
    }
    const prot = protectedFor(Uint8Array.from(Buffer.from(smallOrder[0]!, 'hex')));
    const payload = encodeCbor({ type: 'party', issuedAt: 1, name: 'nobody' });
    const statement = parseStatement(sign1(prot, payload, concatBytes(Uint8Array.from(Buffer.from(smallOrder[0]!, 'hex')), new Uint8Array(32))));
    expect(() => verifyStatement(statement)).toThrow(/not a usable Ed25519 public key \(of small order, or not canonical\)/);
    // The check by y alone agrees with decoding the point, on these and on real keys.
    const decoded = (key: Uint8Array) => {
      try {
        return !ed.Point.fromBytes(key, false).isSmallOrder();
      } catch {
        return false;
      }
    };
    for (const key of [...[...smallOrder, ...nonCanonical].map((h) => Uint8Array.from(Buffer.from(h, 'hex'))), ...Array.from({ length: 200 }, () => signerFromSeed(randomSeed()).publicKey)]) {
      expect(isStrictPublicKey(key), toHex(key)).toBe(decoded(key));
    }
  });
});

describe('COSE_Sign1 statements', () => {
  const alice = party();
  const payload = { type: 'party', issuedAt: 1, name: 'Alice' };

  it('signs, parses and verifies; the id is SHA-256 of the canonical bytes it signed', () => {
    const bytes = signStatement(payload, alice);
    expect(bytes[0]).toBe(0xd2); // tag 18
    const s = parseStatement(bytes);
    verifyStatement(s);
    expect(toHex(s.id)).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(toHex(s.signer)).toBe(alice.id);
    expect(s.payload).toEqual(payload);
  });

  it('accepts the untagged form and a signature made independently with node:crypto', () => {
    const seed = randomSeed();
    const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
    const publicKey = new Uint8Array(createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(12));
    const prot = protectedFor(publicKey);
    const body = encodeCbor(payload);
    const sig = new Uint8Array(nodeSign(null, Buffer.from(sigStructure(prot, body)), key));
    const untagged = encodeCbor([prot, new Map(), body, sig]);
    const parsed = parseStatement(untagged);
    expect(() => verifyStatement(parsed)).not.toThrow();
    // The untagged form is identified by its canonical, tagged envelope (DESIGN §3).
    expect(toHex(parsed.id)).toBe(createHash('sha256').update(sign1(prot, body, sig)).digest('hex'));
  });

  it('refuses malformed structures, unknown algorithms and bad signatures, naming the problem', () => {
    const prot = protectedFor(alice.publicKey);
    const body = encodeCbor(payload);
    const sig = alice.sign(sigStructure(prot, body));
    expect(() => parseStatement(Uint8Array.of(0xff, 0x00))).toThrow(/does not decode/);
    expect(() => parseStatement(encodeCbor([prot, new Map(), body]))).toThrow(/array of 4/);
    expect(() => parseStatement(sign1(protectedFor(alice.publicKey, -7), body, sig))).toThrow(/algorithm must be -8/);
    expect(() => parseStatement(sign1(prot, body, sig.slice(1)))).toThrow(/64-byte/);
    expect(() => parseStatement(sign1(prot, encodeCbor([1, 2]), sig))).toThrow(/CBOR map/);
    expect(() => parseStatement(sign1(prot, body, sig, new Map([[4, alice.publicKey]])))).toThrow(/unprotected header must be empty/);
    expect(() => parseStatement(sign1(protectedFor(alice.publicKey.slice(1)), body, sig))).toThrow(/kid/);
    const tampered = sig.slice();
    tampered.set([tampered[10]! ^ 1], 10);
    expect(() => verifyStatement(parseStatement(sign1(prot, body, tampered)))).toThrow(/does not verify/);
    // a kid naming another key than the one that signed
    expect(() => verifyStatement(parseStatement(sign1(protectedFor(party().publicKey), body, sig)))).toThrow(/does not verify/);
  });

  it('refuses a payload over 16 KiB', () => {
    const big = signStatement({ ...payload, name: 'x'.repeat(MAX_PAYLOAD_BYTES) }, alice);
    expect(() => parseStatement(big)).toThrow(/limit/);
  });
});

describe('C2SP checkpoints', () => {
  const seed = randomSeed();
  const signer = signerFromSeed(seed);
  const origin = 'example.org/log';
  const root = sha256(utf8('root'));
  const note = signCheckpoint({ origin, size: 42, rootHash: root }, signer);
  const vkey = parseVerifierKey(formatVerifierKey(origin, signer.publicKey));

  it('has the key id and signature C2SP and RFC 8032 define, computed independently', () => {
    const body = `${origin}\n42\n${Buffer.from(root).toString('base64')}\n`;
    const id = createHash('sha256').update(Buffer.concat([Buffer.from(`${origin}\n`), Buffer.from([1]), signer.publicKey])).digest().subarray(0, 4);
    const pkcs8 = createPrivateKey({ key: Buffer.from(concatBytes(Buffer.from('302e020100300506032b657004220420', 'hex'), seed)), format: 'der', type: 'pkcs8' });
    const sig = nodeSign(null, Buffer.from(body), pkcs8);
    expect(note).toBe(`${body}\n\u2014 ${origin} ${Buffer.concat([id, sig]).toString('base64')}\n`);
    expect(formatVerifierKey(origin, signer.publicKey)).toBe(`${origin}+${id.toString('hex')}+${toBase64(concatBytes(Uint8Array.of(1), signer.publicKey))}`);
    expect(nodeVerify(null, Buffer.from(body), createPublicKey(pkcs8), sig)).toBe(true);
  });

  it('opens a good checkpoint', () => {
    expect(openCheckpoint(note, vkey)).toEqual({ origin, size: 42, rootHash: root });
  });

  it('refuses an altered size, root, origin or signature, and another key', () => {
    const lines = note.split('\n');
    const alter = (i: number, v: string) => lines.map((l, j) => (j === i ? v : l)).join('\n');
    expect(() => openCheckpoint(alter(1, '43'), vkey)).toThrow(/signature does not verify/);
    expect(() => openCheckpoint(alter(2, toBase64(sha256(utf8('other')))), vkey)).toThrow(/signature does not verify/);
    expect(() => openCheckpoint(alter(0, 'example.org/other'), vkey)).toThrow(/origin/);
    const sigLine = lines[4]!;
    const flipped = sigLine.slice(0, -3) + (sigLine.at(-3) === 'A' ? 'B' : 'A') + sigLine.slice(-2);
    expect(() => openCheckpoint(alter(4, flipped), vkey)).toThrow(/signature/);
    const other = parseVerifierKey(formatVerifierKey(origin, party().publicKey));
    expect(() => openCheckpoint(note, other)).toThrow(/no signature by key/);
    expect(() => openCheckpoint(note.slice(0, -1), vkey)).toThrow(/newline/);
    expect(() => openCheckpoint(alter(1, '042'), vkey)).toThrow(/decimal/);
  });

  it('refuses a verifier key whose key id does not match its key', () => {
    const text = formatVerifierKey(origin, signer.publicKey);
    const [name, , key] = [text.slice(0, text.indexOf('+')), '', text.slice(text.indexOf('+') + 10)];
    expect(() => parseVerifierKey(`${name}+00000000+${key}`)).toThrow(/does not match/);
  });
});

describe('RFC 8410 key files', () => {
  it('round-trips PKCS#8 and SPKI PEM', () => {
    const seed = randomSeed();
    const s = signerFromSeed(seed);
    expect(secretKeyFromPem(secretKeyToPem(seed))).toEqual(seed);
    expect(publicKeyFromPem(publicKeyToPem(s.publicKey))).toEqual(s.publicKey);
    // node:crypto reads what we write
    expect(createPrivateKey(secretKeyToPem(seed)).asymmetricKeyType).toBe('ed25519');
  });

  it('loads a key made by `openssl genpkey -algorithm ed25519`', async () => {
    const dir = await tempDir();
    const path = join(dir, 'k.key');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', path]);
    execFileSync('chmod', ['600', path]);
    const s = await loadSecretKey(path, { strict: true });
    const pub = execFileSync('openssl', ['pkey', '-in', path, '-pubout']).toString();
    expect(toHex(publicKeyFromPem(pub))).toBe(toHex(s.publicKey));
    expect(secretKeyFromPem(await readFile(path, 'utf8'))).toHaveLength(32);
  });

  it('refuses a secret key readable by others, saying how to fix it', async () => {
    const dir = await tempDir();
    const path = join(dir, 'k.key');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', path]);
    execFileSync('chmod', ['644', path]);
    await expect(loadSecretKey(path, { strict: true })).rejects.toThrow(/chmod 600/);
  });
});
