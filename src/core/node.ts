/** The core in Node (the package's `node` condition): the same API over node:crypto. */
import './crypto-node.js';

export * from './index.js';
