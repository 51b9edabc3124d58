/**
 * The head of the log as the HTTP edge, evidence and witnesses see it: the latest signed
 * checkpoint and its tree. The writer's is the sequencer (sequencer.ts); a read-only node's
 * is a follower of the writer's checkpoints (follower.ts).
 */
import type { BatchCommitted, SubmitResult } from './sequencer.js';

export interface LogHead {
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** the latest checkpoint this node serves */
  readonly checkpoint: string;
  readonly verifierKey: string;
  /** true while it takes submissions (never, on a read-only node) */
  readonly accepting: boolean;
  /** true while it serves: not stopped by a storage failure or a checkpoint it refused */
  readonly ready: boolean;
  /** why it stopped, if it did */
  readonly failure: Error | null;
  /** after each new checkpoint: appended by this writer, or seen and checked by a follower */
  onCommit(listener: (batch: BatchCommitted) => void): void;
  /** resolves when it takes writes now; rejects with the reason it does not (draining, stopped, read-only) */
  writable(): Promise<void>;
  submit(bytes: Uint8Array): Promise<SubmitResult>;
  close(): Promise<void>;
}
