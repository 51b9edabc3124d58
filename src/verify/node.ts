/** The verifier in Node (the package's `node` condition): the same API over node:crypto. */
import '../core/crypto-node.js';

export * from './index.js';
