/**
 * A read-only node's cosigned checkpoints (`serve --read-only --witness-policy FILE`). The
 * node sends nothing to witnesses; the writer stores the latest checkpoint that met its
 * policy's quorum beside the log (publisher.ts), and the node relays it once it has checked
 * it: signed by the ledger's key, meeting the node's own policy's quorum with cosignatures
 * that verify (a line forged into the store would make every client's policy refuse the
 * node's proofs), over a tree no larger than the one the node serves, whose root the store's
 * nodes give. Without it a node's proofs and bundles carried the ledger's signature alone.
 */
import { parseVerifierKey } from '../core/checkpoint.js';
import { checkCosignedCheckpoint, type Policy } from '../core/policy.js';
import type { CosignedCheckpoints } from '../store/evidence.js';
import { checkRootInStore, type LogHead } from '../store/log-head.js';
import type { LedgerStorage } from '../store/storage.js';
import { QUORUM_META } from './publisher.js';

/** How often the stored quorum checkpoint is read again while the tree does not move: witnesses cosign after the commit. */
const REFRESH_MS = 1000;

export class RelayedCosignatures implements CosignedCheckpoints {
  private quorum: { size: number; note: string } | null = null;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly store: LedgerStorage,
    private readonly head: LogHead,
    private readonly policy: Policy,
  ) {}

  /** Reads the stored quorum checkpoint now, after each checkpoint the node moves to, and every REFRESH_MS. */
  static async open(store: LedgerStorage, head: LogHead, policy: Policy): Promise<RelayedCosignatures> {
    const relayed = new RelayedCosignatures(store, head, policy);
    await relayed.refresh();
    head.onCommit(() => void relayed.refresh());
    relayed.timer = setInterval(() => void relayed.refresh(), REFRESH_MS).unref();
    return relayed;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }

  quorumCheckpoint(): { size: number; note: string } | null {
    return this.quorum && this.quorum.size <= this.head.size ? this.quorum : null;
  }

  current(): string {
    return this.quorum?.size === this.head.size ? this.quorum.note : this.head.checkpoint;
  }

  private async refresh(): Promise<void> {
    try {
      const note = await this.store.read((view) => view.meta(QUORUM_META));
      if (!note || note === this.quorum?.note) return;
      const { checkpoint: cp, quorum } = checkCosignedCheckpoint(note, this.policy, parseVerifierKey(this.head.verifierKey));
      if (!quorum) return;
      // One the node has not checked its tree of yet waits for the next move; an older one is no news.
      if (cp.size > this.head.size || (this.quorum && cp.size <= this.quorum.size)) return;
      await checkRootInStore(this.store, cp);
      this.quorum = { size: cp.size, note };
    } catch {
      // Not relayed: the node's checkpoints go out with the ledger's signature alone, as before.
    }
  }
}
