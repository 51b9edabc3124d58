/**
 * A read-only node's head of the log (`serve --read-only`): it serves what the writer has
 * committed to a shared store, and never signs anything of the log.
 *
 * Every `intervalMs` it reads the store's latest checkpoint. It moves to a new one only when
 * the checkpoint verifies under the ledger key, its tree is larger, the store's nodes give
 * its root, and a consistency proof from those nodes leads from the checkpoint it served
 * before to the new one (RFC 9162 §2.1.4). Anything else — a checkpoint that shrank, forged,
 * or of a different history — is refused: the node keeps serving the last good checkpoint,
 * reports the failure on /healthz and /readyz (503), and stops following. A store that cannot
 * answer (the database down) is not a refusal: the next poll tries again.
 *
 * With a watermark (a node with an index folder), the refusal outlives a restart or
 * a crash: every tree is recorded there, durably, before it is served, and a start refuses a
 * store whose tree is smaller than the one recorded or does not extend it. Without one, a
 * restart starts over from the store as it is (after the operator looked).
 * Between checkpoints it indexes the titles and fingerprints of the works the new entries
 * registered, so checks see them.
 */
import { equalBytes } from '../core/bytes.js';
import { parseVerifierKey, type Checkpoint, type VerifierKey } from '../core/checkpoint.js';
import { CartularyError } from '../core/errors.js';
import { consistencyPlan, rootHash, verifyConsistency } from '../core/merkle.js';
import type { LedgerStore } from './ledger-store.js';
import { checkStoredRoot, openLatestCheckpoint, type LogHead } from './log-head.js';
import type { BatchCommitted, SubmitResult } from './sequencer.js';
import type { Mark, Watermark } from './watermark.js';

/** Where the writer says it takes writes (stored by `serve` on the writer; see WRITER_META). */
export const WRITER_META = 'writer';

export interface FollowerOptions {
  /** how often the store's latest checkpoint is read, ms */
  intervalMs?: number;
  /** told once, when a checkpoint is refused */
  log?: (message: string) => void;
  /** where the largest tree this node served is kept across its restarts (watermark.ts) */
  watermark?: Watermark;
}

/** Refusals at a start: the operator may start over by removing the node's index folder. */
const START_OVER = "To start over from the store as it is now, remove this node's index folder";

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
    private readonly watermark: Watermark | undefined,
  ) {
    this.key = parseVerifierKey(verifierKey);
    this.served = first;
  }

  /**
   * Starts from the checkpoint the store's indexes hold every registration through (its
   * latest when they were built at open, or the one this node served when it saved them at
   * its last shutdown), checked against the store's own nodes and against the watermark of
   * what it served before, then moves to the latest as it moves to every later one.
   */
  static async open(store: LedgerStore, verifierKey: string, { intervalMs = 200, log = () => undefined, watermark }: FollowerOptions = {}): Promise<Follower> {
    const start = store.indexedThrough ?? (await store.latestCheckpoint());
    if (!start) throw new CartularyError('not-found', `${store.description} holds no checkpoint yet: start the writer first`);
    const follower = new Follower(store, verifierKey, { size: 0, root: new Uint8Array(32), note: '' }, intervalMs, log, watermark);
    const cp = openLatestCheckpoint(start, follower.key);
    try {
      await follower.check(cp, watermark?.mark ?? undefined, 'the tree this node served before it stopped');
    } catch (e) {
      // A store that cannot answer says so as it is; what it answered is judged against what this node served.
      const unavailable = e instanceof CartularyError && e.code === 'unavailable';
      if (unavailable || (store.indexesSavedAt === undefined && !watermark?.mark)) throw e;
      throw new CartularyError('corrupt', `${(e as Error).message}: the store no longer holds the tree this node served when it last stopped. ${START_OVER}`, { cause: e });
    }
    await follower.serve(start, cp);
    await follower.poll().catch(() => undefined); // a refusal is reported as any later one is
    // Noted once caught up: the node cache's first fill reads the tree as it is served.
    void store.noteTreeSize(follower.size);
    follower.schedule();
    return follower;
  }

  /**
   * Throws ('corrupt') unless the store's nodes give the checkpoint's root and, given `from`,
   * its tree extends `from`: no smaller, the same root at the same size, else a consistency
   * proof from those nodes leads from one to the other (RFC 9162 §2.1.4). One read of the
   * store; a read that fails is the store's error ('unavailable' when it cannot answer).
   */
  private async check(cp: Checkpoint, from: Mark | undefined, what: string): Promise<void> {
    const proving = from !== undefined && from.size > 0 && from.size < cp.size;
    const { root, proof } = await this.store.read((view) => ({
      root: rootHash(cp.size, view.readNodes),
      proof: proving ? view.hashRanges(consistencyPlan(from.size, cp.size)) : [],
    }));
    checkStoredRoot(root, cp);
    if (!from) return;
    if (cp.size < from.size) throw new CartularyError('corrupt', `the store's tree has size ${cp.size}, smaller than the ${from.size} of ${what}`);
    if (cp.size === from.size && !equalBytes(cp.rootHash, from.rootHash)) throw new CartularyError('corrupt', `a second tree of size ${cp.size} with a different root than ${what}: a fork`);
    if (!proving) return;
    try {
      verifyConsistency(from.size, cp.size, from.rootHash, cp.rootHash, proof);
    } catch (e) {
      throw new CartularyError('corrupt', `the store's tree of size ${cp.size} does not extend ${what} (size ${from.size}): ${(e as Error).message}`, { cause: e });
    }
  }

  /** Serves a checked checkpoint: recorded in the watermark first, durably, so no restart serves less. */
  private async serve(stored: { size: number; note: string }, cp: Checkpoint): Promise<void> {
    const before = this.watermark?.mark;
    if (this.watermark && (!before || cp.size > before.size)) await this.watermark.advance({ size: cp.size, rootHash: cp.rootHash });
    this.served = { size: cp.size, root: cp.rootHash, note: stored.note };
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

  /** Checks the store's latest checkpoint now, rather than at the next poll, when the tree served is smaller. */
  async reach(size: number): Promise<void> {
    if (this.size >= size) return;
    await this.poll().catch(() => undefined);
    // The poll joined may have read the store's latest before it held `size`: one of our own.
    if (this.size < size && !this.refused) await this.poll().catch(() => undefined);
    if (this.size >= size) return;
    throw new CartularyError('unavailable', this.refused ? this.refused.message : `this node has not yet checked the store's tree of ${size} entries (it serves ${this.size}); retry`);
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
    let cp: Checkpoint;
    try {
      cp = openLatestCheckpoint(latest, this.key);
      await this.check(cp, { size: from.size, rootHash: from.root }, 'the checkpoint this node served');
      await this.store.indexEntries(from.size, latest);
    } catch (e) {
      if (e instanceof CartularyError && e.code === 'unavailable') throw e; // tried again at the next poll
      this.refused = new CartularyError('corrupt', `refused the store's checkpoint of size ${latest.size}: ${(e as Error).message}; still serving size ${from.size}`, { cause: e });
      this.log(this.refused.message);
      throw this.refused;
    }
    // Not served until recorded: a watermark that cannot be written now is tried again at the next poll.
    await this.serve(latest, cp);
    void this.store.noteTreeSize(cp.size);
    for (const listener of this.listeners) listener({ statements: cp.size - from.size, appended: cp.size - from.size, writeSeconds: 0, size: cp.size });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling?.catch(() => undefined);
  }
}
