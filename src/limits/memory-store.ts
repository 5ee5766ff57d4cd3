/**
 * In-process quota store. Node runs one request handler at a time, so check-then-take over
 * several buckets is atomic without locks. Full buckets are swept so memory stays bounded by
 * the number of principals active within one window.
 */
import { fullBucket, refill, takeFromBucket, type BucketSpec, type BucketState } from './bucket.js';
import type { AcquireResult, QuotaStore } from './store.js';

export class MemoryQuotaStore implements QuotaStore {
  private readonly buckets = new Map<string, BucketState & { limit: number; windowMs: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(sweepMs = 60_000) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), sweepMs);
    this.sweeper.unref();
  }

  async acquire(specs: readonly BucketSpec[], now = Date.now()): Promise<AcquireResult> {
    const next: BucketState[] = [];
    for (const b of specs) {
      const s = this.buckets.get(b.key) ?? fullBucket(b.limit, now);
      const r = takeFromBucket(s, b.limit, b.windowMs, b.cost, now);
      if (!r.ok) {
        return { ok: false, remaining: specs.map((x) => this.peek(x, now)), refusedBy: b, retryAfterMs: r.retryAfterMs };
      }
      next.push(r.state);
    }
    specs.forEach((b, i) => this.buckets.set(b.key, { ...next[i]!, limit: b.limit, windowMs: b.windowMs }));
    return { ok: true, remaining: next.map((s) => s.tokens) };
  }

  async refund(specs: readonly BucketSpec[], now = Date.now()): Promise<void> {
    for (const b of specs) {
      let s = this.buckets.get(b.key);
      if (!s) {
        if (b.cost >= 0) continue; // a missing bucket is full: nothing to give back
        s = { ...fullBucket(b.limit, now), limit: b.limit, windowMs: b.windowMs };
        this.buckets.set(b.key, s);
      }
      s.tokens = Math.min(b.limit, refill(s, b.limit, b.windowMs, now) + b.cost);
      s.at = now;
    }
  }

  private peek(b: BucketSpec, now: number): number {
    const s = this.buckets.get(b.key);
    return s ? refill(s, b.limit, b.windowMs, now) : b.limit;
  }

  private sweep(now: number): void {
    for (const [k, s] of this.buckets) if (refill(s, s.limit, s.windowMs, now) >= s.limit) this.buckets.delete(k);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}
