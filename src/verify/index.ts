/**
 * The standalone verifier: everything needed to check receipts and evidence bundles
 * offline. It imports only the pure core — no server, no LevelDB, no network.
 */
export { verifyBundle, type VerifyFailure, type VerifyOptions, type VerifyResult } from './verify-bundle.js';
export { BUNDLE_FORMAT, bundleSchema, type EvidenceBundle } from './bundle.js';
export { verifyReceipt, type Receipt } from '../core/receipt.js';
export { openCheckpoint, parseVerifierKey } from '../core/checkpoint.js';
export { verifyInclusion, verifyConsistency } from '../core/merkle.js';
export { checkCosignedCheckpoint, parsePolicy, quorumMet, type Policy, type PolicyCheck } from '../core/policy.js';
export { findCosignature, parseWitnessKey, type Cosignature } from '../core/cosignature.js';
