/**
 * The head of the log as the HTTP edge, evidence and witnesses see it: the latest signed
 * checkpoint and its tree. The writer's is the sequencer (sequencer.ts); a read-only node's
 * is a follower of the writer's checkpoints (follower.ts).
 */
import { equalBytes, toHex } from '../core/bytes.js';
import { openCheckpoint, type Checkpoint, type VerifierKey } from '../core/checkpoint.js';
import { CartularyError } from '../core/errors.js';
import { rootHash } from '../core/merkle.js';
import type { BatchCommitted, SubmitResult } from './sequencer.js';
import type { LedgerStorage, StoredCheckpoint } from './storage.js';

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
  /**
   * Resolves once this node serves a tree of at least `size` entries: the store shows a
   * commit's records a moment before the writer's head moves to its checkpoint, and more
   * than a moment before a follower has checked it. Rejects ('unavailable') when it will
   * not: the writer stopped, or the follower has not checked such a tree, or refused it.
   */
  reach(size: number): Promise<void>;
  /** after each new checkpoint: appended by this writer, or seen and checked by a follower */
  onCommit(listener: (batch: BatchCommitted) => void): void;
  /** resolves when it takes writes now; rejects with the reason it does not (draining, stopped, read-only) */
  writable(): Promise<void>;
  submit(bytes: Uint8Array): Promise<SubmitResult>;
  close(): Promise<void>;
}

/** The store's latest checkpoint, opened: signed by the ledger key and stored under its own size, or 'corrupt'. */
export function openLatestCheckpoint(stored: StoredCheckpoint, key: VerifierKey): Checkpoint {
  let cp;
  try {
    cp = openCheckpoint(stored.note, key);
  } catch (e) {
    throw new CartularyError('corrupt', `the latest checkpoint (stored under size ${stored.size}) does not verify under the ledger key: ${(e as Error).message}`, { cause: e });
  }
  if (cp.size !== stored.size) throw new CartularyError('corrupt', `the latest checkpoint, stored under size ${stored.size}, says size ${cp.size}`);
  return cp;
}

/** 'corrupt' unless the root the stored nodes give is the checkpoint's. */
export function checkStoredRoot(root: Uint8Array, cp: Checkpoint): void {
  if (!equalBytes(root, cp.rootHash)) throw new CartularyError('corrupt', `the stored Merkle nodes give root ${toHex(root)} for size ${cp.size}, its checkpoint says ${toHex(cp.rootHash)}`);
}

/** 'corrupt' unless the store's nodes give the root of `cp`'s tree (one read of the store). */
export async function checkRootInStore(store: Pick<LedgerStorage, 'read'>, cp: Checkpoint): Promise<void> {
  checkStoredRoot(await store.read((view) => rootHash(cp.size, view.readNodes)), cp);
}
