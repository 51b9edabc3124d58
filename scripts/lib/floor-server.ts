/**
 * The HTTP + crypto floor: an Express endpoint that only reads a statement, parses it,
 * verifies its signature and answers. No rules, no storage. Run as a child process by
 * the benchmark so it is measured exactly as the ledger is.
 */
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
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
