/**
 * Prometheus metrics (prom-client): what an operator watches to see the ledger is healthy
 * and keeping up. One registry per server, so several servers in one process never mix.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BatchCommitted } from '../store/sequencer.js';

export class Metrics {
  readonly registry = new Registry();
  private readonly append: Histogram<'result'>;
  private readonly refused: Counter<'code'>;
  private readonly batchStatements: Histogram;
  private readonly batchWrite: Histogram;
  private readonly verdicts: Counter<'verdict'>;
  /** where the tree size is read from, once the ledger is open */
  treeSize: () => number = () => 0;
  /** where the fingerprint index's size is read from, once the ledger is open */
  fingerprintIndex: () => { frames: number; bytes: number } = () => ({ frames: 0, bytes: 0 });
  patchIndex: () => { frames: number; bytes: number } = () => ({ frames: 0, bytes: 0 });
  soundIndex: () => { works: number; bytes: number } = () => ({ works: 0, bytes: 0 });
  /** where the indexes' pages are: in the mapped file, or in the heap (store/mapped-pages.ts) */
  indexPages: () => { mappedBytes: number; heapBytes: number } = () => ({ mappedBytes: 0, heapBytes: 0 });
  nodeCache: () => { bytes: number; filling: boolean } = () => ({ bytes: 0, filling: false });

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.append = new Histogram({
      name: 'cartulary_append_seconds',
      help: 'From a submission being received to its receipt (durable), by result: appended, or a repeat answered with its first receipt',
      labelNames: ['result'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.refused = new Counter({ name: 'cartulary_submissions_refused_total', help: 'Submissions refused, by problem code', labelNames: ['code'], registers });
    this.batchStatements = new Histogram({
      name: 'cartulary_batch_statements',
      help: 'Statements per committed batch (one signed checkpoint, one synced write each)',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    });
    this.batchWrite = new Histogram({
      name: 'cartulary_batch_write_seconds',
      help: 'The synced store write of a batch',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    const metrics = this;
    new Gauge({
      name: 'cartulary_tree_size',
      help: 'Entries in the log (the size of the latest signed checkpoint)',
      registers,
      collect() {
        this.set(metrics.treeSize());
      },
    });
    // Memory that grows with the registered catalogue (issue 13.7): what to watch against the
    // capacity plan in the README.
    const sizes: Array<[string, string, () => number]> = [
      ['cartulary_fingerprint_index_frames', "Frame records in the near-duplicate index (a work's near-identical frames are one)", () => metrics.fingerprintIndex().frames],
      ['cartulary_fingerprint_index_bytes', 'Bytes the near-duplicate index holds for its frames and bucket lists', () => metrics.fingerprintIndex().bytes],
      ['cartulary_patch_index_records', "Keypoint patch records in the patch index (a work's near-identical patches are one)", () => metrics.patchIndex().frames],
      ['cartulary_patch_index_bytes', 'Bytes the patch index holds for its records and bucket lists', () => metrics.patchIndex().bytes],
      ['cartulary_sound_index_works', 'Registered soundtracks in the sound index', () => metrics.soundIndex().works],
      ['cartulary_sound_index_bytes', 'Bytes the sound index holds for its postings and the registered values', () => metrics.soundIndex().bytes],
      ['cartulary_index_mapped_bytes', "Bytes of the three indexes' pages in their memory-mapped file, the kernel's to page out", () => metrics.indexPages().mappedBytes],
      ['cartulary_index_heap_bytes', "Bytes of the indexes' pages in the server's heap because the mapped file could not grow (a full disk) or be mapped", () => metrics.indexPages().heapBytes],
      ['cartulary_node_cache_bytes', "Bytes of the Merkle tree's levels kept for proofs, in the index file's mapped pages (heap pages when it cannot grow); bounded: the lowest level kept rises with the tree", () => metrics.nodeCache().bytes],
      ['cartulary_node_cache_filling', 'Whether the node cache is still being filled from the store after a start (1: proofs read more from the store until it ends)', () => Number(metrics.nodeCache().filling)],
    ];
    for (const [name, help, read] of sizes) {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    }
    this.verdicts = new Counter({ name: 'cartulary_check_verdicts_total', help: 'Pre-publish checks answered, by verdict', labelNames: ['verdict'], registers });
  }

  appended(seconds: number, repeat: boolean): void {
    this.append.observe({ result: repeat ? 'repeat' : 'appended' }, seconds);
  }

  refusedWith(code: string): void {
    this.refused.inc({ code });
  }

  committed(batch: BatchCommitted): void {
    this.batchStatements.observe(batch.statements);
    this.batchWrite.observe(batch.writeSeconds);
  }

  checked(verdict: string): void {
    this.verdicts.inc({ verdict });
  }

  /** The Prometheus text exposition, and its content type. */
  async exposition(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
