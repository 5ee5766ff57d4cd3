/**
 * The audit log as stored: the contract that the SQLite and PostgreSQL stores both keep, and
 * that the sink (writes), the CLI (verify, query, export, prune) and the contract tests use.
 */
import type { Checkpoint, SealPolicy } from './checkpoint.js';
import type { AuditFilter, StoredRow } from './query.js';
import type { AuditRecord } from './record.js';

type MaybePromise<T> = T | Promise<T>;

export interface PruneResult {
  /** Records removed (0 when no checkpoint lies before the cut-off yet). */
  removed: number;
  /** The signed checkpoint the log now starts after, or null when nothing was removed. */
  throughSeq: number | null;
}

export interface AuditStore {
  /**
   * Appends records to the chain in one transaction, reading the head inside it so that
   * several writers share one chain; then signs a checkpoint of the new head when one is due
   * (or `force`). Throws when nothing was written.
   */
  write(records: readonly AuditRecord[], seal: SealPolicy, force?: boolean): MaybePromise<void>;
  /** Every row in sequence order. */
  rows(): Iterable<StoredRow> | AsyncIterable<StoredRow>;
  /** Every checkpoint, oldest first. */
  checkpoints(): MaybePromise<Checkpoint[]>;
  /** Rows matching a filter, in sequence order. */
  query(filter: AuditFilter): Iterable<StoredRow> | AsyncIterable<StoredRow>;
  /**
   * Removes the records before `before`, up to the newest signed checkpoint all of whose
   * records are older, and logs a retention record naming that checkpoint, in one transaction.
   */
  prune(before: string, seal: SealPolicy): MaybePromise<PruneResult>;
  close(): MaybePromise<void>;
}

/** Chooses how far retention may cut: the newest checkpoint below the first record to keep. */
export function pruneTarget(firstKeptSeq: number, checkpointSeqs: readonly number[], alreadyFrom: number): number | null {
  let best: number | null = null;
  for (const s of checkpointSeqs) if (s < firstKeptSeq && s >= alreadyFrom && (best === null || s > best)) best = s;
  return best;
}

/** The DDL of both stores; `t` is the (possibly schema-qualified) table prefix. */
export function schemaSql(t: string, types: { seq: string; id: string }): string {
  return `
CREATE TABLE IF NOT EXISTS ${t}audit_log (
  seq ${types.seq} PRIMARY KEY,
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
CREATE INDEX IF NOT EXISTS audit_log_ts ON ${t}audit_log(ts);
CREATE INDEX IF NOT EXISTS audit_log_principal ON ${t}audit_log(principal, ts);
CREATE TABLE IF NOT EXISTS ${t}audit_checkpoint (
  id ${types.id} PRIMARY KEY,
  seq ${types.seq} NOT NULL,
  hash TEXT NOT NULL,
  ts TEXT NOT NULL,
  prev TEXT NOT NULL,
  key_id TEXT NOT NULL,
  signature TEXT NOT NULL
);`;
}
