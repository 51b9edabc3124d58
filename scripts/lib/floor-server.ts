/**
 * The floors the benchmark measures the ledger against, run as a child process exactly as
 * the ledger is: POST /v1/statements only reads a statement, parses it, verifies its
 * signature and answers (the HTTP + crypto floor for writes); GET /v1/proofs/inclusion
 * answers a proof-sized JSON from memory (the HTTP floor for reads). No rules, no storage.
 */
import '../../src/core/crypto-node.js'; // the floor verifies with node:crypto, as the ledger does
import express from 'express';
import { toHex } from '../../src/core/bytes.js';
import { parseStatement, verifyStatementAsync } from '../../src/core/cose.js';

const app = express();
app.post('/v1/statements', express.raw({ type: 'application/cose', limit: 32 * 1024 }), async (req, res) => {
  try {
    const s = parseStatement(new Uint8Array(req.body as Buffer));
    await verifyStatementAsync(s);
    res.status(201).json({ id: toHex(s.id) });
  } catch (e) {
    res.status(400).json({ detail: (e as Error).message });
  }
});
const proof = { index: 1, size: 1_000_000, hashes: Array.from({ length: 20 }, (_, i) => i.toString(16).padStart(64, '0')) };
app.get('/v1/proofs/inclusion', (_req, res) => {
  res.json(proof);
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
