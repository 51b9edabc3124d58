/**
 * The ledger as a tlog-witness client: every new checkpoint goes to every witness of the
 * policy in parallel, each with the consistency proof from the size that witness last
 * cosigned. Cosignatures are collected per tree size; the latest checkpoint that meets the
 * policy's quorum is kept (and stored, so a restart still cites it).
 *
 * Guarantees: appends never wait for a witness (this runs beside the sequencer, woken by
 * its commits); at most one request per witness is in flight, always for the latest
 * checkpoint; a witness that is down or refuses is retried with exponential backoff; a 409
 * is answered at once with a resend from the size the witness states.
 */
import { noteParts, parseVerifierKey } from '../core/checkpoint.js';
import { findCosignature } from '../core/cosignature.js';
import { checkCosignedCheckpoint, quorumMet, type Policy, type PolicyWitness } from '../core/policy.js';
import { formatAddCheckpoint, TLOG_SIZE_TYPE } from '../core/witness.js';
import { consistencyPlan } from '../core/merkle.js';
import type { LedgerStorage } from '../store/storage.js';
import type { LogHead } from '../store/log-head.js';

export interface PublisherOptions {
  /** first and largest wait before retrying a failed witness */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** per request */
  timeoutMs?: number;
  log?: (entry: Record<string, unknown>, message: string) => void;
}

export interface WitnessStatus {
  name: string;
  url: string;
  /** the largest tree size this witness cosigned for us (this run) */
  cosignedSize: number;
  /** entries the ledger holds beyond what this witness has cosigned */
  lag: number;
  lastCosignedAt: number | null;
  lastError: string | null;
}

interface Tracker extends WitnessStatus {
  witness: PolicyWitness & { url: string };
  /** the size we believe the witness holds: the old size of the next request */
  known: number;
  busy: boolean;
  failures: number;
  timer: NodeJS.Timeout | null;
}

/** Where the writer keeps the latest checkpoint that met the quorum, beside the log (read-only nodes relay it: relayed.ts). */
export const QUORUM_META = 'quorum-checkpoint';
/** A witness answers a line or two; more is not read. */
const MAX_ANSWER_BYTES = 64 * 1024;

async function boundedText(res: Response): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body?.getReader();
  for (let part = await reader?.read(); part && !part.done; part = await reader?.read()) {
    size += part.value.length;
    if (size > MAX_ANSWER_BYTES) {
      await reader?.cancel();
      throw new Error(`the witness answered more than ${MAX_ANSWER_BYTES} bytes`);
    }
    chunks.push(part.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
const KEEP_SIZES = 64;

export class WitnessPublisher {
  private readonly trackers: Tracker[];
  /** size → witness name → cosignature line, for sizes at or above the quorum checkpoint */
  private readonly cosignatures = new Map<number, Map<string, string>>();
  private quorum: { size: number; note: string } | null;
  private closed = false;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private readonly timeout: number;
  private readonly log: NonNullable<PublisherOptions['log']>;

  /**
   * The publisher, resuming from the quorum checkpoint stored beside the log when it meets
   * this policy's quorum: one stored under another policy (a witness dropped, a quorum
   * raised) is not cited, however well it met the old one.
   */
  static async open(policy: Policy, store: LedgerStorage, sequencer: LogHead, opts: PublisherOptions = {}): Promise<WitnessPublisher> {
    const stored = await store.read((view) => view.meta(QUORUM_META));
    let kept: string | undefined;
    if (stored) {
      try {
        if (checkCosignedCheckpoint(stored, policy, parseVerifierKey(sequencer.verifierKey)).quorum) kept = stored;
        else opts.log?.({}, 'the stored quorum checkpoint does not meet this witness policy: not cited until a new one does');
      } catch (e) {
        opts.log?.({ error: (e as Error).message }, 'the stored quorum checkpoint does not verify: not cited');
      }
    }
    return new WitnessPublisher(policy, store, sequencer, opts, kept);
  }

  private constructor(
    private readonly policy: Policy,
    private readonly store: LedgerStorage,
    private readonly sequencer: LogHead,
    opts: PublisherOptions,
    stored: string | undefined,
  ) {
    this.trackers = policy.witnesses.map((w) => {
      if (!w.url) throw new Error(`witness ${w.name} has no URL in the policy`);
      return { witness: { ...w, url: w.url }, name: w.name, url: w.url, known: 0, cosignedSize: 0, lag: 0, lastCosignedAt: null, lastError: null, busy: false, failures: 0, timer: null };
    });
    this.minBackoff = opts.minBackoffMs ?? 250;
    this.maxBackoff = opts.maxBackoffMs ?? 30_000;
    this.timeout = opts.timeoutMs ?? 10_000;
    this.log = opts.log ?? (() => undefined);
    this.quorum = stored ? { size: Number(noteParts(stored).body.split('\n')[1]), note: stored } : null;
    sequencer.onCommit(() => this.wake());
  }

  /** Starts sending the current checkpoint to every witness. */
  start(): void {
    this.wake();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.trackers) if (t.timer) clearTimeout(t.timer);
  }

  /** The latest checkpoint with every cosignature collected for it so far. */
  current(): string {
    const lines = this.cosignatures.get(this.sequencer.size);
    return this.sequencer.checkpoint + (lines ? [...lines.values()].join('') : '');
  }

  /** The latest checkpoint that meets the quorum, with its cosignatures (null: none yet). */
  quorumCheckpoint(): { size: number; note: string } | null {
    return this.quorum;
  }

  status(): WitnessStatus[] {
    return this.trackers.map((t) => ({ name: t.name, url: t.url, cosignedSize: t.cosignedSize, lag: this.sequencer.size - t.cosignedSize, lastCosignedAt: t.lastCosignedAt, lastError: t.lastError }));
  }

  private wake(): void {
    for (const t of this.trackers) if (!t.busy && !t.timer) void this.pump(t);
  }

  private retryLater(t: Tracker, error: string): void {
    t.lastError = error;
    t.failures++;
    const wait = Math.min(this.maxBackoff, this.minBackoff * 2 ** Math.min(t.failures - 1, 20));
    this.log({ witness: t.name, error, retryInMs: wait }, 'witness request failed');
    t.timer = setTimeout(() => {
      t.timer = null;
      void this.pump(t);
    }, wait);
  }

  /** Sends the latest checkpoint to one witness until it is cosigned or fails. */
  private async pump(t: Tracker): Promise<void> {
    if (this.closed || t.busy) return;
    t.busy = true;
    let retry: string | null = null;
    try {
      for (let resends = 0; !this.closed; resends++) {
        const size = this.sequencer.size;
        const note = this.sequencer.checkpoint;
        if (t.cosignedSize === size && t.known === size && t.lastCosignedAt !== null) break;
        if (t.known > size) {
          retry = `the witness holds a tree of size ${t.known}, larger than this ledger's ${size}`;
          break;
        }
        const known = t.known;
        const proof = known === 0 ? [] : await this.store.read((view) => view.hashRanges(consistencyPlan(known, size)));
        const res = await fetch(new URL('add-checkpoint', t.url.endsWith('/') ? t.url : `${t.url}/`), {
          method: 'POST',
          body: formatAddCheckpoint({ oldSize: t.known, proof, note }),
          signal: AbortSignal.timeout(this.timeout),
        });
        const text = await boundedText(res);
        if (res.status === 409 && res.headers.get('content-type')?.startsWith(TLOG_SIZE_TYPE) && /^(0|[1-9][0-9]*)\n$/.test(text) && resends < 3) {
          t.known = Number(text); // resend from the size the witness holds
          continue;
        }
        if (res.status !== 200) {
          retry = `${res.status}: ${text.trim().slice(0, 200)}`;
          break;
        }
        const line = text.split('\n').find((l) => l.startsWith(`\u2014 ${t.witness.key.name} `) && findCosignature(`${note}${l}\n`, t.witness.key) !== null);
        if (!line) {
          retry = 'the answer holds no valid cosignature by this witness';
          break;
        }
        t.known = size;
        t.cosignedSize = size;
        t.lastCosignedAt = Date.now();
        t.lastError = null;
        t.failures = 0;
        await this.collect(size, note, t.name, `${line}\n`);
      }
    } catch (e) {
      retry = (e as Error).message;
    } finally {
      t.busy = false;
    }
    if (retry !== null) this.retryLater(t, retry);
    else if (!this.closed && t.cosignedSize < this.sequencer.size) void this.pump(t);
  }

  private async collect(size: number, note: string, witness: string, line: string): Promise<void> {
    let lines = this.cosignatures.get(size);
    if (!lines) {
      this.cosignatures.set(size, (lines = new Map()));
      // While the quorum is not met (a witness down), keep only the most recent sizes.
      if (this.cosignatures.size > KEEP_SIZES) this.cosignatures.delete(Math.min(...this.cosignatures.keys()));
    }
    lines.set(witness, line);
    if ((this.quorum?.size ?? -1) > size || !quorumMet(this.policy, new Set(lines.keys()))) return;
    const cosigned = note + [...lines.values()].join('');
    if (this.quorum?.note === cosigned) return;
    this.quorum = { size, note: cosigned };
    for (const s of this.cosignatures.keys()) if (s < size) this.cosignatures.delete(s);
    try {
      await this.store.setMeta(QUORUM_META, cosigned);
    } catch (e) {
      this.log({ error: (e as Error).message }, 'could not store the quorum checkpoint');
    }
  }
}
