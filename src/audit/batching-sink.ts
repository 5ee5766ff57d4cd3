/**
 * The audit sink in front of a store: records are queued on the request path (an array push)
 * and written off it, in one transaction per flush. The queue is bounded: when it is full the
 * gateway refuses new requests with 503 rather than drop a record, and a failed write keeps its
 * records queued, in order, for the next attempt. Nothing is ever dropped silently; what a hard
 * kill loses is what sat in the queue (docs/policy-and-audit.md has the measurement).
 */
import type { Logger } from 'pino';
import type { SealPolicy } from './checkpoint.js';
import type { AuditRecord } from './record.js';
import type { AuditSink } from './sink.js';
import type { AuditStore } from './store.js';

export interface BatchingOptions {
  flushMs: number;
  maxQueue: number;
  /** Most records per transaction; a longer queue is written over several event-loop turns. */
  maxBatch?: number;
  seal: SealPolicy;
  log: Logger;
}

export class BatchingAuditSink implements AuditSink {
  private queue: AuditRecord[] = [];
  private inflight: Promise<void> | null = null;
  private inflightCount = 0;
  private readonly timer: NodeJS.Timeout;
  private failing = false;
  private closed = false;
  private readonly maxBatch: number;
  /** Records written so far by this sink. */
  written = 0;
  /** How checkpoints are signed (retention uses the same). */
  readonly seal: SealPolicy;

  constructor(
    readonly store: AuditStore,
    private readonly opts: BatchingOptions,
  ) {
    this.maxBatch = opts.maxBatch ?? 2_000;
    this.seal = opts.seal;
    this.timer = setInterval(() => void this.flush(), opts.flushMs);
    this.timer.unref();
  }

  append(record: AuditRecord): void {
    this.queue.push(record);
  }

  accepting(): boolean {
    return this.queue.length + this.inflightCount < this.opts.maxQueue;
  }

  queued(): number {
    return this.queue.length + this.inflightCount;
  }

  /**
   * Writes what is queued. Synchronous for a synchronous store (SQLite), so that tests and
   * shutdown can rely on it; returns a promise for an asynchronous one (PostgreSQL).
   */
  flush(force = false): void | Promise<void> {
    if (this.inflight) return this.inflight.then(() => this.flush(force));
    if (this.queue.length === 0 && !force) return;
    const batch = this.queue.length > this.maxBatch ? this.queue.splice(0, this.maxBatch) : this.queue;
    if (batch === this.queue) this.queue = [];
    let r: void | Promise<void>;
    try {
      r = this.store.write(batch, this.seal, force);
    } catch (err) {
      this.failed(batch, err);
      return;
    }
    if (r instanceof Promise) {
      this.inflightCount = batch.length;
      this.inflight = r.then(
        () => this.succeeded(batch),
        (err: unknown) => this.failed(batch, err),
      );
      void this.inflight.finally(() => {
        this.inflight = null;
        this.inflightCount = 0;
      });
      return this.inflight;
    }
    this.succeeded(batch);
  }

  private succeeded(batch: AuditRecord[]): void {
    this.written += batch.length;
    if (this.failing) this.opts.log.info({ records: batch.length }, 'audit log writes recovered');
    this.failing = false;
    if (this.queue.length >= this.maxBatch && !this.closed) setImmediate(() => void this.flush());
  }

  private failed(batch: AuditRecord[], err: unknown): void {
    this.queue = batch.concat(this.queue);
    if (!this.failing) this.opts.log.error({ err, queued: this.queue.length }, 'audit log write failed; records kept in memory and retried');
    this.failing = true;
  }

  /** Writes everything, seals the head with a checkpoint, and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (let i = 0; i < 1000 && (this.queue.length > 0 || this.inflight); i++) await this.flush();
    await this.flush(true);
    if (this.queue.length > 0) this.opts.log.error({ queued: this.queue.length }, 'audit records could not be written before shutdown');
    await this.store.close();
  }
}
