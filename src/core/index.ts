/**
 * The portable core, as the package's main export (`import … from 'cartulary'`): signing
 * and reading statements (DESIGN §3–4), leaves and RFC 6962 proofs (§5), checkpoints and
 * verifier keys (§6), key files (§2). Pure: no I/O, and no Node built-in — in Node the
 * package's `node` entry (node.ts) installs node:crypto underneath the same functions.
 */
export { concatBytes, equalBytes, fromBase64, fromHex, toBase64, toHex, utf8 } from './bytes.js';
export { ALG_EDDSA, CONTENT_TYPE, MAX_PAYLOAD_BYTES, MAX_STATEMENT_BYTES, parseStatement, signStatement, verifyStatement, type SignedStatement } from './cose.js';
export { cryptoBackend, nobleBackend, randomSeed, sha256, signerFromSeed, useBackend, verifyEd25519, type CryptoBackend, type Signer } from './crypto.js';
export { formatVerifierKey, openCheckpoint, parseVerifierKey, signCheckpoint, type Checkpoint, type VerifierKey } from './checkpoint.js';
export { CartularyError, isCartularyError, type ErrorCode } from './errors.js';
export { publicKeyFromPem, publicKeyToPem, secretKeyFromPem, secretKeyToPem } from './keys.js';
export { decodeLeaf, type Leaf } from './leaf.js';
export { EMPTY_ROOT, hashLeaf, verifyConsistency, verifyInclusion } from './merkle.js';
export { verifyReceipt, type Receipt } from './receipt.js';
export { payloadJson, payloadShape, USES, type Payload, type StatementType, type Use } from './statements.js';
