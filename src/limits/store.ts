/**
 * The quota store contract: memory for one process, Redis for several. Generic over named
 * token buckets, so any domain (limits, detection throttles) can keep its own buckets in it.
 */
import type { BucketSpec } from './bucket.js';

export interface AcquireResult {
  ok: boolean;
  /** Units left in each bucket after the call (in spec order); a shared store may round them down. */
  remaining: number[];
  /** When refused: the bucket that refused and how long until it would allow the request. */
  refusedBy?: BucketSpec;
  retryAfterMs?: number;
}

export interface QuotaStore {
  /**
   * Takes `cost` from every bucket, or from none if any one lacks it (all or nothing). `now` is
   * for tests of the memory store; a shared store uses its own clock so replicas agree.
   */
  acquire(buckets: readonly BucketSpec[], now?: number): Promise<AcquireResult>;
  /**
   * Gives units back (a reservation settled below what was taken), never above the limit. A
   * negative cost charges the bucket without checking (usage above the reservation): the bucket
   * may go below zero, and later requests wait until it refills.
   */
  refund(buckets: readonly BucketSpec[], now?: number): Promise<void>;
  close(): Promise<void>;
}
