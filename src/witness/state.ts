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
import { fromBase64, toBase64 } from '../core/bytes.js';
import { CartularyError } from '../core/errors.js';
import type { WitnessedTree } from '../core/witness.js';
import { writeFileAtomic } from '../store/atomic-file.js';

export interface LogRecord extends WitnessedTree {
  /** the checkpoint as cosigned: the log's signature and this witness's cosignature */
  note: string;
}

interface StateFile {
  version: 1;
  logs: Record<string, { size: number; rootHash: string; note: string }>;
}

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
      const file = JSON.parse(text) as StateFile;
      if (file.version !== 1 || typeof file.logs !== 'object') throw new Error('unknown layout');
      return new WitnessState(
        path,
        new Map(Object.entries(file.logs).map(([origin, r]) => [origin, { size: r.size, rootHash: fromBase64(r.rootHash, 'rootHash', 32), note: r.note }])),
      );
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
