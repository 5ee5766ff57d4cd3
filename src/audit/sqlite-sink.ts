/**
 * The embedded audit log: an append-only, hash-chained table in `<dataDir>/audit.db`.
 *
 * Records are queued on the request path (an array push) and written off it, in one
 * transaction per flush. The chain head is read inside that transaction (BEGIN IMMEDIATE), so
 * several processes sharing the file still build one unbroken chain. The queue is bounded:
 * when it is full the gateway refuses new requests with 503 rather than drop a record, and a
 * failed write keeps its records queued for the next attempt.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ensureDataDir } from '../config/data-dir.js';
import { GENESIS, chainHash } from './chain.js';
import type { AuditRecord } from './record.js';
import type { AuditSink } from './sink.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_log (
  seq INTEGER PRIMARY KEY,
  ts TEXT NOT NULL,
  kind TEXT NOT NULL,
  principal TEXT,
  tenant TEXT,
  model TEXT,
  route TEXT NOT NULL,
  outcome TEXT NOT NULL,
  data TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_ts ON audit_log(ts);
CREATE INDEX IF NOT EXISTS audit_log_principal ON audit_log(principal, ts);
`;

export interface SqliteAuditOptions {
  flushMs: number;
  maxQueue: number;
  log: Logger;
}

export class SqliteAuditSink implements AuditSink {
  readonly db: Database.Database;
  private queue: AuditRecord[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly head;
  private readonly insert;
  private readonly writeBatch: (batch: AuditRecord[]) => void;
  private failing = false;
  written = 0;

  constructor(
    dataDir: string,
    private readonly opts: SqliteAuditOptions,
  ) {
    this.db = new Database(join(ensureDataDir(dataDir), 'audit.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.head = this.db.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.insert = this.db.prepare(
      'INSERT INTO audit_log (seq, ts, kind, principal, tenant, model, route, outcome, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.writeBatch = this.db
      .transaction((batch: AuditRecord[]) => {
        const h = this.head.get();
        let seq = h?.seq ?? 0;
        let prev = h?.hash ?? GENESIS;
        for (const r of batch) {
          const data = JSON.stringify(r);
          const hash = chainHash(prev, data);
          seq++;
          this.insert.run(seq, r.ts, r.kind, r.principal, r.tenant, r.model, r.route, r.outcome, data, prev, hash);
          prev = hash;
        }
      }).immediate;
    this.timer = setInterval(() => this.flush(), opts.flushMs);
    this.timer.unref();
  }

  append(record: AuditRecord): void {
    this.queue.push(record);
  }

  /** False while the queue is full: admission refuses new work until the writer catches up. */
  accepting(): boolean {
    return this.queue.length < this.opts.maxQueue;
  }

  queued(): number {
    return this.queue.length;
  }

  /** Writes everything queued; on failure the batch stays queued and is retried next time. */
  flush(): void {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    try {
      this.writeBatch(batch);
      this.written += batch.length;
      if (this.failing) this.opts.log.info({ records: batch.length }, 'audit log writes recovered');
      this.failing = false;
    } catch (err) {
      this.queue = batch.concat(this.queue);
      if (!this.failing) this.opts.log.error({ err, queued: this.queue.length }, 'audit log write failed; records kept in memory and retried');
      this.failing = true;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.flush();
    if (this.queue.length > 0) this.opts.log.error({ queued: this.queue.length }, 'audit records could not be written before shutdown');
    this.db.close();
  }
}
