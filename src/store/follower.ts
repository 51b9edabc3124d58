/**
 * A read-only node's head of the log (`serve --read-only`): it serves what the writer has
 * committed to a shared store, and never signs anything of the log.
 *
 * Every `intervalMs` it reads the store's latest checkpoint. It moves to a new one only when
 * the checkpoint verifies under the ledger key, its tree is larger, the store's nodes give
 * its root, and a consistency proof from those nodes leads from the checkpoint it served
 * before to the new one (RFC 9162 §2.1.4). Anything else — a checkpoint that shrank, forged,
 * or of a different history — is refused: the node keeps serving the last good checkpoint,
 * reports the failure on /healthz and /readyz (503), and stops following; a restart starts
 * over from the store after the operator looked (and, where it keeps its indexes, after it
 * removed them: they name the checkpoint it last served). Between checkpoints it indexes the
 * titles and fingerprints of the works the new entries registered, so checks see them.
 */
import { toHex } from '../core/bytes.js';
import { parseVerifierKey, type VerifierKey } from '../core/checkpoint.js';
import { parseStatement } from '../core/cose.js';
import { CartularyError } from '../core/errors.js';
import { decodeLeaf } from '../core/leaf.js';
import { consistencyPlan, rootHash, verifyConsistency } from '../core/merkle.js';
import type { LedgerStore } from './ledger-store.js';
import { checkStoredRoot, openLatestCheckpoint, type LogHead } from './log-head.js';
import type { BatchCommitted, SubmitResult } from './sequencer.js';

/** Where the writer says it takes writes (stored by `serve` on the writer; see WRITER_META). */
export const WRITER_META = 'writer';

export interface FollowerOptions {
  /** how often the store's latest checkpoint is read, ms */
  intervalMs?: number;
  /** told once, when a checkpoint is refused */
  log?: (message: string) => void;
}

export class Follower implements LogHead {
  private served: { size: number; root: Uint8Array; note: string };
  private refused: Error | null = null;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private readonly listeners: Array<(batch: BatchCommitted) => void> = [];
  private readonly key: VerifierKey;

  private constructor(
    private readonly store: LedgerStore,
    readonly verifierKey: string,
    first: { size: number; root: Uint8Array; note: string },
    private readonly intervalMs: number,
    private readonly log: (message: string) => void,
  ) {
    this.key = parseVerifierKey(verifierKey);
    this.served = first;
  }

  /**
   * Starts from the checkpoint the store's indexes hold every registration through (its
   * latest when they were built at open, or the one this node served when it saved them at
   * its last shutdown), checked against the store's own nodes, then moves to the latest as
   * it moves to every later one: a node restarted over a history rewritten since it last
   * served refuses it, and keeps serving what it served.
   */
  static async open(store: LedgerStore, verifierKey: string, { intervalMs = 200, log = () => undefined }: FollowerOptions = {}): Promise<Follower> {
    const start = store.indexedThrough ?? (await store.latestCheckpoint());
    if (!start) throw new CartularyError('not-found', `${store.description} holds no checkpoint yet: start the writer first`);
    const follower = new Follower(store, verifierKey, { size: 0, root: new Uint8Array(32), note: '' }, intervalMs, log);
    const cp = openLatestCheckpoint(start, follower.key);
    try {
      checkStoredRoot(await store.read((view) => rootHash(cp.size, view.readNodes)), cp);
    } catch (e) {
      if (store.indexesSavedAt === undefined) throw e;
      throw new CartularyError('corrupt', `${(e as Error).message}: the store no longer holds the tree this node served when it last stopped. To start over from the store as it is now, remove this node's index folder`, { cause: e });
    }
    follower.served = { size: cp.size, root: cp.rootHash, note: start.note };
    await follower.poll().catch(() => undefined); // a refusal is reported as any later one is
    // Noted once caught up: the node cache's first fill reads the tree as it is served.
    void store.noteTreeSize(follower.size);
    follower.schedule();
    return follower;
  }

  get size(): number {
    return this.served.size;
  }
  get rootHash(): Uint8Array {
    return this.served.root;
  }
  get checkpoint(): string {
    return this.served.note;
  }
  get accepting(): boolean {
    return false;
  }
  get ready(): boolean {
    return !this.refused && !this.closed;
  }
  get failure(): Error | null {
    return this.refused;
  }

  onCommit(listener: (batch: BatchCommitted) => void): void {
    this.listeners.push(listener);
  }

  async writable(): Promise<never> {
    const writer = await this.store.meta(WRITER_META);
    throw new CartularyError('unavailable', `this node is read-only; send writes to the ledger's writer${writer ? ` at ${writer}` : ''}`);
  }

  submit(): Promise<SubmitResult> {
    return this.writable();
  }

  /** Reads the latest checkpoint now, and moves to it if it checks out (see above). */
  poll(): Promise<void> {
    this.polling ??= this.advance().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private schedule(): void {
    if (this.closed || this.refused) return;
    this.timer = setTimeout(() => {
      this.poll().then(
        () => this.schedule(),
        () => this.schedule(),
      );
    }, this.intervalMs);
  }

  private async advance(): Promise<void> {
    if (this.refused || this.closed) return;
    const latest = await this.store.latestCheckpoint(); // a store that cannot answer now may answer later: not refused
    if (!latest || latest.note === this.served.note) return;
    const from = this.served;
    try {
      if (latest.size < from.size) throw new CartularyError('corrupt', `the store's latest checkpoint has size ${latest.size}, smaller than the ${from.size} this node served`);
      const cp = openLatestCheckpoint(latest, this.key);
      if (latest.size === from.size) throw new CartularyError('corrupt', `a second checkpoint of size ${cp.size} with a different root: a fork`);
      const { root, proof } = await this.store.read((view) => ({
        root: rootHash(cp.size, view.readNodes),
        proof: from.size === 0 ? [] : view.hashRanges(consistencyPlan(from.size, cp.size)),
      }));
      checkStoredRoot(root, cp);
      if (from.size > 0) verifyConsistency(from.size, cp.size, from.root, cp.rootHash, proof);
      await this.store.indexEntries(from.size, latest);
      this.served = { size: cp.size, root: cp.rootHash, note: latest.note };
      void this.store.noteTreeSize(cp.size);
      for (const listener of this.listeners) listener({ statements: cp.size - from.size, appended: cp.size - from.size, writeSeconds: 0, size: cp.size });
    } catch (e) {
      this.refused = new CartularyError('corrupt', `refused the store's checkpoint of size ${latest.size}: ${(e as Error).message}; still serving size ${from.size}`, { cause: e });
      this.log(this.refused.message);
      throw this.refused;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling?.catch(() => undefined);
  }
}
