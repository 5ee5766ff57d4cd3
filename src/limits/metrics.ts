/** Metrics of the limits domain, registered on the gateway's registry. Labels are fixed sets. */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface LimitMetrics {
  /** Failed calls to the shared quota store, by what was done about it. */
  storeErrors: Counter<'action'>;
  /** 1 while the shared quota store is unreachable. */
  storeDown: Gauge;
}

export function limitMetrics(registry: Registry): LimitMetrics {
  return {
    storeErrors: new Counter({
      name: 'moat_quota_store_errors_total',
      help: 'Calls to the shared quota store (Redis) that failed, by what Moat did: refused (fail closed), local (fell back to per-process limits) or refund_dropped (a settlement left charged)',
      labelNames: ['action'] as const,
      registers: [registry],
    }),
    storeDown: new Gauge({ name: 'moat_quota_store_down', help: '1 while the shared quota store (Redis) is unreachable', registers: [registry] }),
  };
}
