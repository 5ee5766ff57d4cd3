/**
 * What happens when the shared quota store fails. By default Moat fails closed: a request that
 * cannot be counted is refused with 503, so an outage never lifts the limits. Configured with
 * `onUnavailable: local`, it counts in this process instead until the store answers again (each
 * replica then enforces the limit on its own). Either way the change of state is logged once
 * and shows in metrics.
 */
import type { Logger } from 'pino';
import { MoatError } from '../errors.js';
import type { BucketSpec } from './bucket.js';
import { MemoryQuotaStore } from './memory-store.js';
import type { LimitMetrics } from './metrics.js';
import type { AcquireResult, QuotaStore } from './store.js';

export type OnUnavailable = 'fail-closed' | 'local';

export class GuardedQuotaStore implements QuotaStore {
  private down = false;
  private readonly local: MemoryQuotaStore | null;

  constructor(
    private readonly shared: QuotaStore,
    private readonly mode: OnUnavailable,
    private readonly log: Logger,
    private readonly metrics: LimitMetrics,
  ) {
    this.local = mode === 'local' ? new MemoryQuotaStore() : null;
  }

  /** False while the shared store is unreachable and requests are refused (for /readyz). */
  healthy(): boolean {
    return !this.down || this.mode === 'local';
  }

  isDown(): boolean {
    return this.down;
  }

  async acquire(specs: readonly BucketSpec[]): Promise<AcquireResult> {
    try {
      const r = await this.shared.acquire(specs);
      this.up();
      return r;
    } catch (err) {
      this.failed(err);
      if (!this.local) throw new MoatError('LIMITS_UNAVAILABLE', { retryAfter: 1 }, { headers: { 'retry-after': '1' }, cause: err });
      return this.local.acquire(specs);
    }
  }

  async refund(specs: readonly BucketSpec[]): Promise<void> {
    try {
      await this.shared.refund(specs);
      this.up();
    } catch (err) {
      // A refund that cannot be made leaves the bucket charged: the safe side.
      this.failed(err, this.local ? 'local' : 'refund_dropped');
      if (this.local) await this.local.refund(specs);
    }
  }

  private failed(err: unknown, action: 'refused' | 'local' | 'refund_dropped' = this.local ? 'local' : 'refused'): void {
    this.metrics.storeErrors.labels(action).inc();
    if (this.down) return;
    this.down = true;
    this.metrics.storeDown.set(1);
    const detail = err instanceof Error ? err.message : String(err);
    this.log.error({ detail, onUnavailable: this.mode }, this.local ? 'quota store unreachable: enforcing limits per process until it is back' : 'quota store unreachable: refusing requests (fail closed) until it is back');
  }

  private up(): void {
    if (!this.down) return;
    this.down = false;
    this.metrics.storeDown.set(0);
    this.log.info('quota store reachable again: shared limits restored');
  }

  async close(): Promise<void> {
    await this.shared.close();
    await this.local?.close();
  }
}
