/**
 * The witness's memory: per log origin, the latest checkpoint it cosigned (with its own
 * cosignature), in one JSON file replaced atomically (atomic-file.ts).
 *
 * Guarantees: `record` is durable when it resolves; `withLock` runs one judgement-and-record
 * at a time, so a request can never roll the state back past one answered before it
 * (tlog-witness: checking the old size and persisting must be atomic).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { equalBytes, fromBase64, toBase64 } from '../core/bytes.js';
import { parseCheckpoint } from '../core/checkpoint.js';
import { faultsText } from '../verify/bundle.js';
import { CartularyError } from '../core/errors.js';
import type { WitnessedTree } from '../core/witness.js';
import { writeFileAtomic } from '../store/atomic-file.js';

export interface LogRecord extends WitnessedTree {
  /** the checkpoint as cosigned: the log's signature and this witness's cosignature */
  note: string;
}

const stateFile = z.strictObject({
  version: z.literal(1),
  logs: z.record(z.string(), z.strictObject({ size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), rootHash: z.string(), note: z.string() })),
});
type StateFile = z.infer<typeof stateFile>;

export class WitnessState {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly logs: Map<string, LogRecord>,
  ) {}

  static async open(dataDir: string): Promise<WitnessState> {
    const path = join(dataDir, 'witness-state.json');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new WitnessState(path, new Map());
      throw new CartularyError('unavailable', `cannot read ${path}: ${(e as Error).message}`);
    }
    try {
      const parsed = stateFile.safeParse(JSON.parse(text));
      if (!parsed.success) throw new Error(faultsText(parsed.error.issues, 3, 'file'));
      const logs = new Map<string, LogRecord>();
      for (const [origin, r] of Object.entries(parsed.data.logs)) {
        const rootHash = fromBase64(r.rootHash, 'rootHash', 32);
        // The checkpoint kept beside the tree must be that tree: either may be the damaged one.
        const cp = parseCheckpoint(r.note);
        if (cp.origin !== origin || cp.size !== r.size || !equalBytes(cp.rootHash, rootHash)) throw new Error(`the checkpoint kept for ${origin} is not its tree of size ${r.size}`);
        logs.set(origin, { size: r.size, rootHash, note: r.note });
      }
      return new WitnessState(path, logs);
    } catch (e) {
      // Starting afresh would let a fork through: refuse, as the ledger does with a damaged store.
      throw new CartularyError('corrupt', `the witness state ${path} is damaged (${(e as Error).message}); restore it from a backup`);
    }
  }

  get(origin: string): LogRecord | undefined {
    return this.logs.get(origin);
  }

  /** Runs `fn` after every earlier one has finished. */
  withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Records a newly cosigned checkpoint; durable on return. Memory changes only once the disk has. */
  async record(origin: string, rec: LogRecord): Promise<void> {
    const next = new Map(this.logs).set(origin, rec);
    const file: StateFile = {
      version: 1,
      logs: Object.fromEntries([...next].map(([o, r]) => [o, { size: r.size, rootHash: toBase64(r.rootHash), note: r.note }])),
    };
    await writeFileAtomic(this.path, JSON.stringify(file, null, 1));
    this.logs.set(origin, rec);
  }
}
