/** The audit sink contract: SQLite by default; a PostgreSQL sink implements the same. */
import type { AuditRecord } from './record.js';

export interface AuditSink {
  /** Queues a record; never blocks the request path. */
  append(record: AuditRecord): void;
  /** False when the queue is full; admission then refuses new requests (503) instead of dropping records. */
  accepting(): boolean;
  /** Records waiting to be written. */
  queued(): number;
  /** Writes all queued records now. */
  flush(): void | Promise<void>;
  close(): Promise<void>;
}
