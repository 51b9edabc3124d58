/**
 * The sequencer: the only writer of the ledger. Submissions are parsed and their signatures
 * verified concurrently (off the event loop), then queued; one batch at a time is taken from
 * the queue, checked by the rules, given indices, leaves and tree nodes, sealed by one new
 * signed checkpoint and written in ONE atomic, durable store append (storage.ts). Only then is each submitter
 * answered, with a receipt whose inclusion proof leads to that checkpoint.
 *
 * Crash points, and why recovery is clean at each:
 *  - before the batch write: nothing of the batch is on disk and nobody was answered;
 *    the clients see a dropped connection and may resubmit (idempotent).
 *  - during the batch write: the store applies an append whole or not at all, so after restart
 *    the store ends at either the previous checkpoint or this one; nobody was answered yet.
 *  - after the write, before the answers: the entries are durable; a resubmission returns
 *    the same receipt (the checkpoint it was first issued with is kept).
 * Startup (`open`) reads the latest checkpoint, checks it against the ledger's own key, the
 * tree rebuilt from stored nodes and the key's watermark (see watermark.ts), and carries on
 * from there: the same state the normal path leaves after every commit. A new ledger signs
 * the empty tree at once (DESIGN §6).
 *
 * Failures are of two kinds, as in Sunlight: a statement the rules refuse is answered with
 * its error and the batch goes on; a write that failed (or may have landed) stops the ledger
 * taking writes, because memory no longer knows what is on disk. Anything else that throws
 * while a batch is prepared refuses that batch, nothing of which was written.
 */
import { equalBytes, toHex } from '../core/bytes.js';
import { parseVerifierKey, formatVerifierKey, signCheckpoint } from '../core/checkpoint.js';
import { parseStatement, verifyStatementAsync, type SignedStatement } from '../core/cose.js';
import { sha256, type Signer } from '../core/crypto.js';
import { CartularyError } from '../core/errors.js';
import { decodeLeaf, encodeLeaf, ZERO_HASH } from '../core/leaf.js';
import { CompactRange, EMPTY_ROOT, hashLeaf, hashRanges, inclusionPlan, rootHash, type NodeId, type NodeReader } from '../core/merkle.js';
import type { Receipt } from '../core/receipt.js';
import { applyStatement, plannedFrameSearch, plannedOverlapQuery } from '../core/rules.js';
import { matchingRulesAt } from '../core/similarity.js';
import { validatePayload } from '../core/statements.js';
import { MemoryState } from '../core/state.js';
import type { AppendBatch, AppendedEntry, LedgerStorage, StoreView } from './storage.js';
import { checkStoredRoot, openLatestCheckpoint, type LogHead } from './log-head.js';
import type { Watermark } from './watermark.js';

export interface SequencerOptions {
  origin: string;
  signer: Signer;
  /** most statements in one batch (one checkpoint, one synced write) */
  maxBatch?: number;
  /** how long the first statement of an idle ledger waits for others to join its batch */
  maxDelayMs?: number;
  /** the ledger's clock; tests may pin it */
  clock?: () => number;
  /** the largest tree this key ever signed: stores behind it are refused, and every commit advances it */
  watermark?: Watermark;
}

export interface BatchCommitted {
  /** statements taken from the queue, repeats and refusals included */
  statements: number;
  /** entries the batch appended */
  appended: number;
  /** the synced write, in seconds */
  writeSeconds: number;
  size: number;
}

export interface SubmitResult {
  receipt: Receipt;
  /** true when the same bytes were already in the ledger: this is the first receipt again */
  repeat: boolean;
}

/** A node's place as one number (a tree of up to 2^40 leaves, 64 levels), for the batch's map of nodes. */
const nodeKey = (id: NodeId) => id.level * 2 ** 40 + id.index;

type Outcome = { index: number; repeat: boolean } | { error: unknown };

interface Pending {
  statement: SignedStatement;
  resolve: (r: SubmitResult) => void;
  reject: (e: unknown) => void;
}

export class Sequencer implements LogHead {
  private queue: Pending[] = [];
  private running: Promise<void> | null = null;
  /** cancels the wait before the next batch starts, while one is pending */
  private timer: (() => void) | null = null;
  private closing = false;
  private fatal: Error | null = null;
  private readonly committed: Array<(batch: BatchCommitted) => void> = [];
  /** those waiting for the tree to reach a size (`reach`), answered as commits land */
  private waiting: Array<{ size: number; resolve: () => void; reject: (e: unknown) => void }> = [];
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;
  private readonly clock: () => number;
  readonly verifierKey: string;

  private constructor(
    readonly store: LedgerStorage,
    private readonly opts: SequencerOptions,
    private tree: CompactRange,
    private prevHash: Uint8Array,
    private lastTime: number,
    private latest: string,
  ) {
    this.maxBatch = opts.maxBatch ?? 1000;
    void store.noteTreeSize(tree.size);
    this.maxDelayMs = opts.maxDelayMs ?? 1;
    this.clock = opts.clock ?? Date.now;
    this.verifierKey = formatVerifierKey(opts.origin, opts.signer.publicKey);
  }

  /** Recovers from the store's latest checkpoint; refuses a store that does not check out. */
  static async open(store: LedgerStorage, opts: SequencerOptions): Promise<Sequencer> {
    const ledgerKey = parseVerifierKey(formatVerifierKey(opts.origin, opts.signer.publicKey));
    const mark = opts.watermark?.mark ?? null;
    const behind = (size: number, what: string) =>
      new CartularyError(
        'corrupt',
        `${what} ends at tree size ${size}, but this ledger's key has signed a checkpoint of size ${mark?.size}` +
          ` (watermark ${opts.watermark?.path}): acknowledged entries are missing. Refusing to start rather than sign a fork;` +
          ' restore the data folder from a backup',
      );
    let latest = await store.latestCheckpoint();
    if (!latest) {
      if (mark && mark.size > 0) throw behind(0, 'the data folder is empty: it');
      // A new ledger signs the empty tree at once (DESIGN §6), so /checkpoint always answers.
      const note = signCheckpoint({ origin: opts.origin, size: 0, rootHash: EMPTY_ROOT }, opts.signer);
      await store.append({ entries: [], nodes: [], checkpoint: { size: 0, note }, extends: null });
      latest = { size: 0, note };
    }
    const cp = openLatestCheckpoint(latest, ledgerKey);
    const size = cp.size;
    const found = await store.read((view) => ({
      tree: CompactRange.fromStore(size, view.readNodes),
      // a store behind the watermark is refused below, before its missing nodes are asked for
      marked: mark && mark.size <= size ? rootHash(mark.size, view.readNodes) : undefined,
      lastLeaf: size > 0 ? view.leaf(size - 1) : undefined,
      beyond: view.leaf(size) !== undefined,
    }));
    const { tree, lastLeaf } = found;
    checkStoredRoot(tree.root(), cp);
    if (mark) {
      if (cp.size < mark.size) throw behind(cp.size, 'the store');
      if (!equalBytes(found.marked as Uint8Array, mark.rootHash)) {
        throw new CartularyError('corrupt', `the store's tree of size ${mark.size} is not the one this key signed (watermark ${opts.watermark?.path}): this store is a fork; refusing to start`);
      }
    }
    // A crash between the store's write and the watermark's leaves the store ahead: catch up.
    if (opts.watermark && (!mark || mark.size < cp.size)) await opts.watermark.advance({ size: cp.size, rootHash: cp.rootHash });
    if (cp.size > 0 && !lastLeaf) throw new CartularyError('corrupt', `leaf ${cp.size - 1} is missing`);
    if (found.beyond) throw new CartularyError('corrupt', `leaf ${cp.size} exists beyond the latest checkpoint`);
    const prev = lastLeaf ? hashLeaf(lastLeaf) : ZERO_HASH;
    const lastTime = lastLeaf ? decodeLeaf(lastLeaf).time : 0;
    return new Sequencer(store, opts, tree, prev, lastTime, latest.note);
  }

  get size(): number {
    return this.tree.size;
  }

  /** The root of the tree of `size` entries. */
  get rootHash(): Uint8Array {
    return this.tree.root();
  }

  /** The latest signed checkpoint (of the empty tree, for a new ledger). */
  get checkpoint(): string {
    return this.latest;
  }

  reach(size: number): Promise<void> {
    if (this.tree.size >= size) return Promise.resolve();
    if (this.fatal || size > this.tree.size + this.maxBatch) return Promise.reject(new CartularyError('unavailable', `the ledger's tree has ${this.tree.size} entries, not ${size}; retry`));
    return new Promise((resolve, reject) => this.waiting.push({ size, resolve, reject }));
  }

  /** Calls `listener` after each commit that signed a new checkpoint, once it is durable (it must not throw). */
  onCommit(listener: (batch: BatchCommitted) => void): void {
    this.committed.push(listener);
  }

  /** true while it takes submissions: not closing, not stopped by a storage failure */
  get accepting(): boolean {
    return !this.closing && !this.fatal;
  }

  get ready(): boolean {
    return this.accepting;
  }

  get failure(): Error | null {
    return this.fatal;
  }

  /**
   * Parses, verifies and sequences one statement; resolves once it is durable. Everything
   * that needs no ledger state (envelope, payload shape, clock, signature) is checked here,
   * concurrently, so the single writer only runs the rules.
   */
  async submit(bytes: Uint8Array): Promise<SubmitResult> {
    this.assertOpen();
    const statement = parseStatement(bytes);
    validatePayload(statement.payload, Math.max(this.clock(), this.lastTime));
    await verifyStatementAsync(statement);
    return this.enqueue(statement);
  }

  /** For statements whose signature the caller has already checked (bulk loading). */
  enqueue(statement: SignedStatement): Promise<SubmitResult> {
    this.assertOpen();
    return new Promise<SubmitResult>((resolve, reject) => {
      this.queue.push({ statement, resolve, reject });
      this.schedule();
    });
  }

  async writable(): Promise<void> {
    this.assertOpen();
  }

  private assertOpen(): void {
    if (this.fatal) throw new CartularyError('unavailable', 'the ledger stopped accepting writes after a storage failure; restart it', { cause: this.fatal });
    if (this.closing) throw new CartularyError('unavailable', 'the ledger is shutting down');
  }

  private schedule(): void {
    if (this.running || this.timer) return;
    if (this.queue.length >= this.maxBatch) {
      this.running = this.runLoop();
      return;
    }
    const start = () => {
      this.timer = null;
      if (!this.running) this.running = this.runLoop();
    };
    // With no delay, statements enqueued in the same turn of the event loop (a bulk caller's
    // loop) still share one batch: one checkpoint and one synced write, not two.
    if (this.maxDelayMs === 0) {
      const waiting = setImmediate(start);
      this.timer = () => clearImmediate(waiting);
    } else {
      const waiting = setTimeout(start, this.maxDelayMs);
      this.timer = () => clearTimeout(waiting);
    }
  }

  /** Commits batches until the queue is empty; while one commits, the next one gathers. */
  private async runLoop(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.fatal) {
        const batch = this.queue.splice(0, this.maxBatch);
        await this.commit(batch);
      }
    } finally {
      this.running = null;
    }
    if (this.queue.length > 0 && !this.fatal) this.schedule();
  }

  /** Stops taking writes after a write that failed or may have landed, refusing everyone waiting. */
  private stop(cause: unknown, waiting: Pending[]): void {
    this.fatal = cause instanceof Error ? cause : new Error(String(cause));
    const err = new CartularyError('unavailable', 'the ledger could not write to disk and stopped accepting writes; restart it', { cause });
    for (const p of [...waiting, ...this.queue.splice(0), ...this.waiting.splice(0)]) p.reject(err);
  }

  private async commit(batch: Pending[]): Promise<void> {
    let prepared;
    try {
      prepared = await this.prepare(batch);
    } catch (e) {
      // Nothing of this batch was written and memory is unchanged: refuse it, carry on.
      for (const p of batch) p.reject(e);
      return;
    }
    const { tree, entries, nodes, outcomes, leaves, batchNodes, prev, time } = prepared;
    let note = this.latest;
    if (tree.size > this.tree.size) {
      note = signCheckpoint({ origin: this.opts.origin, size: tree.size, rootHash: tree.root() }, this.opts.signer);
      const appended = tree.size - this.tree.size;
      const started = performance.now();
      try {
        // Crash point: before or during this append, nothing of the batch is visible after a
        // restart (the store's append is atomic) and nobody has been answered.
        await this.store.append({ entries, nodes, checkpoint: { size: tree.size, note }, extends: this.tree.size });
        // Crash point: the batch is durable but the watermark names the previous tree; the
        // restart finds the store ahead of it and catches up. Nobody has been answered.
        await this.opts.watermark?.advance({ size: tree.size, rootHash: tree.root() });
        // Crash point: durable and marked, nobody answered: a resubmission gets the first receipt.
      } catch (e) {
        // The write may or may not have landed; memory no longer knows which. A restart
        // recovers from whatever is on disk through `open`.
        this.stop(e, batch);
        return;
      }
      this.tree = tree;
      void this.store.noteTreeSize(tree.size);
      this.prevHash = prev;
      this.lastTime = time;
      this.latest = note;
      const reached = this.waiting.filter((w) => w.size <= tree.size);
      this.waiting = this.waiting.filter((w) => w.size > tree.size);
      for (const w of reached) w.resolve();
      const committed = { statements: batch.length, appended, writeSeconds: (performance.now() - started) / 1000, size: tree.size };
      for (const listener of this.committed) listener(committed);
    }

    const fromBatch: NodeReader = (ids) =>
      ids.map((id) => {
        const hash = batchNodes.get(nodeKey(id));
        if (!hash) throw new Error(`node ${id.level}/${id.index} of a new leaf's path is neither on the tree's edge nor new`);
        return hash;
      });
    // A batch's receipts share most of their proof hashes (memo) and so their hex.
    const memo = new Map<string, Uint8Array>();
    const hex = new Map<Uint8Array, string>();
    for (const [i, p] of batch.entries()) {
      const outcome = outcomes[i] as Outcome;
      try {
        if ('error' in outcome) p.reject(outcome.error);
        else if (outcome.repeat) this.receiptFor(outcome.index).then((receipt) => p.resolve({ receipt, repeat: true }), p.reject);
        else {
          const leaf = leaves.get(outcome.index) as { hash: Uint8Array; id: Uint8Array };
          p.resolve({ receipt: this.receipt(outcome.index, leaf, time, note, tree.size, fromBatch, memo, hex), repeat: false });
        }
      } catch (e) {
        p.reject(e); // durable all the same: a resubmission gets its receipt
      }
    }
  }

  /**
   * Runs the rules over a batch in memory: its leaves, nodes and records, and each
   * statement's outcome. The range reads the rules will need are planned from the payloads
   * and fetched first, concurrently; the rules then run on that snapshot, with the batch's
   * own effects layered on top.
   */
  private async prepare(batch: Pending[]) {
    const time = Math.max(this.clock(), this.lastTime);
    const queries = batch.flatMap(({ statement }) => plannedOverlapQuery(statement.payload, time) ?? []);
    const frames = batch.flatMap(({ statement }) => plannedFrameSearch(statement.payload) ?? []);
    const planned = await this.store.plan(queries, { frames, rules: matchingRulesAt(time) });
    return this.store.read((base) => this.runRules(batch, base, time), planned);
  }

  /** The rules over a batch, on one view of the store; pure, so a store may run it again (storage.ts). */
  private runRules(batch: Pending[], base: StoreView, time: number) {
    const tree = this.tree.clone();
    const state = new MemoryState(base);
    const entries: AppendedEntry[] = [];
    const nodes: AppendBatch['nodes'] = [];
    const seen = new Map<string, number>();
    // Every node an inclusion proof of a new leaf needs is on the old tree's edge or is
    // completed by this batch (RFC 6962 paths go left only through the edge), so the
    // receipts are proven from memory.
    const batchNodes = new Map<number, Uint8Array>(this.tree.edge().map(({ id, hash }) => [nodeKey(id), hash]));
    let prev = this.prevHash;
    const outcomes: Outcome[] = [];
    const leaves = new Map<number, { hash: Uint8Array; id: Uint8Array }>();

    for (const { statement } of batch) {
      // A repeat is the same signed content, however enveloped or signed (DESIGN §3).
      const signedHex = toHex(statement.signedHash);
      const known = seen.get(signedHex) ?? base.indexOfSigned(statement.signedHash);
      if (known !== undefined) {
        outcomes.push({ index: known, repeat: true });
        continue;
      }
      const index = tree.size;
      let effects;
      try {
        effects = applyStatement(state, { statement, index, time });
      } catch (error) {
        outcomes.push({ error });
        continue;
      }
      const leaf = encodeLeaf({ index, time, prev, workPrev: effects.workPrev, statement: statement.bytes });
      const leafHash = hashLeaf(leaf);
      leaves.set(index, { hash: leafHash, id: statement.id });
      entries.push({ index, leaf, id: statement.id, signedHash: statement.signedHash, effects });
      for (const { id, hash } of tree.append(leafHash)) {
        nodes.push({ level: id.level, index: id.index, hash });
        batchNodes.set(nodeKey(id), hash);
      }
      state.apply(effects);
      seen.set(signedHex, index);
      prev = leafHash;
      outcomes.push({ index, repeat: false });
    }

    return { tree, entries, nodes, outcomes, leaves, batchNodes, prev, time };
  }

  private receipt(
    index: number,
    leaf: { hash: Uint8Array; id: Uint8Array },
    time: number,
    checkpoint: string,
    size: number,
    read: NodeReader,
    memo?: Map<string, Uint8Array>,
    hex?: Map<Uint8Array, string>,
  ): Receipt {
    const hexOf = (h: Uint8Array) => {
      let s = hex?.get(h);
      if (s === undefined) {
        s = toHex(h);
        hex?.set(h, s);
      }
      return s;
    };
    return {
      id: toHex(leaf.id),
      index,
      leafHash: toHex(leaf.hash),
      time,
      checkpoint,
      inclusionProof: { index, size, hashes: hashRanges(inclusionPlan(index, size), read, memo).map(hexOf) },
    };
  }

  /** The receipt for the entry at `index` as first issued: to the checkpoint of its batch. */
  async receiptFor(index: number): Promise<Receipt> {
    const first = await this.store.checkpointCovering(index);
    if (!first) throw new CartularyError('corrupt', `no checkpoint covers index ${index}`);
    return this.store.read((view) => {
      const leaf = view.leaf(index);
      if (!leaf) throw new CartularyError('not-found', `no entry at index ${index}`);
      const decoded = decodeLeaf(leaf);
      return this.receipt(index, { hash: hashLeaf(leaf), id: sha256(decoded.statement) }, decoded.time, first.note, first.size, view.readNodes);
    });
  }

  /** Stops taking submissions, answers every one already accepted, and waits for the last write. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) {
      this.timer();
      this.timer = null;
      if (!this.running && this.queue.length > 0) this.running = this.runLoop();
    }
    while (this.running) await this.running;
  }
}
