/**
 * Opens the configured audit store and sink (SQLite in the data directory, or PostgreSQL), for
 * the gateway and for the `moat audit` commands alike.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ensureDataDir } from '../config/data-dir.js';
import type { MoatConfig } from '../config/schema.js';
import { BatchingAuditSink } from './batching-sink.js';
import type { SealPolicy } from './checkpoint.js';
import { PgAuditStore } from './pg-store.js';
import { SqliteAuditSink } from './sqlite-sink.js';
import { SqliteAuditStore } from './sqlite-store.js';
import { loadSigner } from './signing-key.js';
import type { AuditStore } from './store.js';

export function sealPolicy(config: Pick<MoatConfig, 'audit' | 'dataDir'>): SealPolicy {
  return { signer: loadSigner(config.dataDir, config.audit.signingKey), ...config.audit.checkpoint };
}

/** The store alone (CLI: verify, query, export, prune). */
export function openAuditStore(config: Pick<MoatConfig, 'audit' | 'dataDir'>): AuditStore {
  const a = config.audit;
  if (a.sink === 'postgres') return new PgAuditStore(a.postgres!);
  return new SqliteAuditStore(join(ensureDataDir(config.dataDir), 'audit.db'));
}

/** The sink the gateway writes through. */
export function openAuditSink(config: Pick<MoatConfig, 'audit' | 'dataDir'>, log: Logger): BatchingAuditSink | SqliteAuditSink {
  const a = config.audit;
  const opts = { flushMs: a.flushMs, maxQueue: a.maxQueue, seal: sealPolicy(config), log };
  if (a.sink === 'postgres') return new BatchingAuditSink(new PgAuditStore(a.postgres!), opts);
  return new SqliteAuditSink(config.dataDir, opts);
}
