/**
 * The gateway's default audit sink: `<dataDir>/audit.db`, written by a worker thread.
 *
 * On the request path a record is only queued (an array push). Every `flushMs` the main thread
 * serializes the queue and hands it, in batches, to the writer thread (sqlite-writer.ts), which
 * chains, inserts and checkpoints them; so a transaction never stalls the event loop. The queue
 * (records waiting plus records handed over) is bounded: when it is full the gateway answers 503
 * rather than drop a record, and a batch the writer could not store goes back to the queue.
 * `flush()` is synchronous (it waits for the writer), which shutdown and tests rely on. If the
 * writer thread cannot run, the sink writes on the main thread instead, and says so in the log.
 */
import type Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import { ensureDataDir } from '../config/data-dir.js';
import type { SealPolicy } from './checkpoint.js';
import type { AuditRecord } from './record.js';
import type { AuditSink } from './sink.js';
import { SqliteAuditStore, packRows } from './sqlite-store.js';
import type { WriterData, WriterRequest, WriterResult } from './sqlite-writer.js';

// The compiled writer; from src/audit (tests) and from dist/audit alike this is dist/audit.
const WRITER = new URL('../../dist/audit/sqlite-writer.js', import.meta.url);
const WAIT_MS = 30_000;

export interface SqliteSinkOptions {
  flushMs: number;
  maxQueue: number;
  /** Most records per transaction. */
  maxBatch?: number;
  seal: SealPolicy;
  log: Logger;
  /** Write on a worker thread (default); false writes on the main thread. */
  thread?: boolean;
}

export class SqliteAuditSink implements AuditSink {
  /** The main thread's connection: reads, retention, and writes when there is no writer thread. */
  readonly store: SqliteAuditStore;
  readonly db: Database.Database;
  readonly seal: SealPolicy;
  /** Records stored so far through this sink. */
  written = 0;
  private queue: AuditRecord[] = [];
  private readonly handedOver = new Map<number, AuditRecord[]>();
  private inFlight = 0;
  private lastId = 0;
  private worker: Worker | null = null;
  private results: MessagePort | null = null;
  private readonly done = new Int32Array(new SharedArrayBuffer(4));
  private readonly timer: NodeJS.Timeout;
  private readonly maxBatch: number;
  private failing = false;
  private closed = false;

  constructor(
    dataDir: string,
    private readonly opts: SqliteSinkOptions,
  ) {
    const file = join(ensureDataDir(dataDir), 'audit.db');
    this.store = new SqliteAuditStore(file);
    this.db = this.store.db;
    this.seal = opts.seal;
    this.maxBatch = opts.maxBatch ?? 2_000;
    if (opts.thread !== false) this.startWriter(file);
    this.timer = setInterval(() => this.handOver(), opts.flushMs);
    this.timer.unref();
  }

  /** True when the writes run on a worker thread. */
  get threaded(): boolean {
    return this.worker !== null;
  }

  private startWriter(file: string): void {
    if (!existsSync(fileURLToPath(WRITER))) {
      this.opts.log.warn('the audit writer thread is not built (run npm run build); writing the audit log on the main thread');
      return;
    }
    const { port1, port2 } = new MessageChannel();
    const data: WriterData = { file, privateKey: this.seal.signer.privateKey, everyRecords: this.seal.everyRecords, everyMs: this.seal.everyMs, done: this.done.buffer as SharedArrayBuffer, results: port2 };
    const w = new Worker(WRITER, { workerData: data, transferList: [port2] });
    port1.on('message', (r: WriterResult) => this.settle(r));
    port1.unref();
    w.unref();
    w.on('error', (err) => this.writerGone(err));
    w.on('exit', (code) => {
      if (!this.closed) this.writerGone(new Error(`the writer thread exited with code ${code}`));
    });
    this.worker = w;
    this.results = port1;
  }

  /** The writer thread died: take back what it held, in order, and write on the main thread from now on. */
  private writerGone(err: unknown): void {
    if (!this.worker) return;
    this.opts.log.error({ err }, 'the audit writer thread failed; writing the audit log on the main thread');
    this.worker = null;
    this.results?.close();
    this.results = null;
    const back = [...this.handedOver.keys()].sort((a, b) => a - b).flatMap((id) => this.handedOver.get(id)!);
    this.handedOver.clear();
    this.inFlight = 0;
    this.queue = back.concat(this.queue);
  }

  private settle(r: WriterResult): void {
    const batch = this.handedOver.get(r.id);
    if (!batch) return;
    this.handedOver.delete(r.id);
    this.inFlight -= batch.length;
    if (r.error === null) this.succeeded(batch.length);
    else this.failed(batch, r.error);
  }

  private succeeded(n: number): void {
    this.written += n;
    if (this.failing) this.opts.log.info({ records: n }, 'audit log writes recovered');
    this.failing = false;
  }

  private failed(batch: AuditRecord[], err: unknown): void {
    this.queue = batch.concat(this.queue);
    if (!this.failing) this.opts.log.error({ err, queued: this.queue.length }, 'audit log write failed; records kept in memory and retried');
    this.failing = true;
  }

  append(record: AuditRecord): void {
    this.queue.push(record);
  }

  accepting(): boolean {
    return this.queue.length + this.inFlight < this.opts.maxQueue;
  }

  queued(): number {
    return this.queue.length + this.inFlight;
  }

  /** Serializes queued records and hands them to the writer (or writes them here without one). */
  private handOver(force = false): void {
    while (this.queue.length > 0 || force) {
      const batch = this.queue.splice(0, this.maxBatch);
      if (!this.worker) {
        try {
          this.store.write(batch, this.seal, force);
          this.succeeded(batch.length);
        } catch (err) {
          this.failed(batch, err);
          return;
        }
      } else {
        const id = ++this.lastId;
        this.handedOver.set(id, batch);
        this.inFlight += batch.length;
        this.worker.postMessage({ id, rows: packRows(batch), force } satisfies WriterRequest);
      }
      force = false;
    }
  }

  /** Writes everything queued and waits until it is stored; `force` also signs a checkpoint of the head. */
  flush(force = false): void {
    this.handOver(force);
    if (!this.worker) return;
    const target = this.lastId;
    const deadline = Date.now() + WAIT_MS;
    for (let cur = Atomics.load(this.done, 0); cur < target; cur = Atomics.load(this.done, 0)) {
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(this.done, 0, cur, left) === 'timed-out') {
        this.opts.log.error({ waiting: this.inFlight }, 'the audit writer thread did not finish in time');
        return;
      }
    }
    // The writer posts each outcome before it raises the counter: collect them now, synchronously.
    for (let m = this.results && receiveMessageOnPort(this.results); m; m = this.results && receiveMessageOnPort(this.results)) this.settle(m.message as WriterResult);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    this.flush(true);
    this.closed = true;
    if (this.queue.length + this.inFlight > 0) this.opts.log.error({ queued: this.queued() }, 'audit records could not be written before shutdown');
    const w = this.worker;
    if (w) {
      // Held referenced until it has exited, so that a process closing the sink waits for it.
      w.ref();
      let timer: NodeJS.Timeout | undefined;
      const exited = new Promise((r) => w.once('exit', r));
      w.postMessage({ close: true } satisfies WriterRequest);
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5_000)))]);
      clearTimeout(timer);
      this.results?.close();
      // A record appended after this fails loudly on the closed store instead of vanishing into a gone thread.
      this.worker = null;
    }
    this.store.close();
  }
}
