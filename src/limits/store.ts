/** The quota store contract: memory for one process, Redis for several. */
import type { BucketSpec } from './bucket.js';

export interface AcquireResult {
  ok: boolean;
  /** Tokens left in each bucket after the call (in spec order). */
  remaining: number[];
  /** When refused: the bucket that refused and how long until it would allow the request. */
  refusedBy?: BucketSpec;
  retryAfterMs?: number;
}

export interface QuotaStore {
  /** Takes `cost` from every bucket, or from none if any one lacks it (all or nothing). */
  acquire(buckets: readonly BucketSpec[], now?: number): Promise<AcquireResult>;
  /** Gives units back (a reservation settled below what was taken); never above the limit. */
  refund(buckets: readonly BucketSpec[], now?: number): Promise<void>;
  close(): Promise<void>;
}
