/**
 * Retention by age: with `audit.retentionDays` set, the gateway removes older records at start
 * and then hourly. The store cuts only up to a signed checkpoint and logs a retention record
 * naming it, so `moat audit verify` still checks everything that is left.
 */
import type { Logger } from 'pino';
import type { MoatConfig } from '../config/schema.js';
import type { SealPolicy } from './checkpoint.js';
import type { AuditSink } from './sink.js';
import type { AuditStore } from './store.js';

const HOUR = 3_600_000;

export function retentionCutoff(days: number, now = Date.now()): string {
  return new Date(now - days * 86_400_000).toISOString();
}

export function startRetention(config: Pick<MoatConfig, 'audit'>, sink: AuditSink, log: Logger, everyMs = HOUR): { stop(): void } | null {
  const days = config.audit.retentionDays;
  // The configured sinks (SQLite, PostgreSQL) expose their store; a sink without one keeps nothing.
  const s = sink as Partial<{ store: AuditStore; seal: SealPolicy }>;
  if (days <= 0 || !s.store || !s.seal) return null;
  const { store, seal } = s;
  const run = async () => {
    try {
      const r = await store.prune(retentionCutoff(days), seal);
      if (r.removed > 0) log.info({ removed: r.removed, throughSeq: r.throughSeq }, 'audit retention removed old records');
    } catch (err) {
      log.error({ err }, 'audit retention failed; it will be retried');
    }
  };
  const first = setTimeout(() => void run(), 1_000);
  const timer = setInterval(() => void run(), everyMs);
  first.unref();
  timer.unref();
  return {
    stop() {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
