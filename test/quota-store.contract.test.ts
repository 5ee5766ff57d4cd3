/**
 * The quota store contract, run alike on the memory store and on the Redis store (real Redis on
 * 127.0.0.1:6379; skipped with a message when absent).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BucketSpec } from '../src/limits/bucket.js';
import { MemoryQuotaStore } from '../src/limits/memory-store.js';
import { RedisQuotaStore, connectRedis } from '../src/limits/redis-store.js';
import type { QuotaStore } from '../src/limits/store.js';
import { REDIS_URL, redisAvailable, uniquePrefix } from './helpers/redis.js';

const hasRedis = await redisAvailable();
if (!hasRedis) console.warn(`SKIPPED: Redis quota store contract (no Redis at ${REDIS_URL})`);

let n = 0;
/** A fresh bucket name per test, so tests never see each other's state. */
const spec = (limit: number, windowMs: number, cost = 1, name = 'rpm'): BucketSpec => ({ key: `k${++n}:${name}`, name, limit, windowMs, cost });
const HOUR = 3_600_000;

function contract(label: string, make: () => Promise<QuotaStore>, skip = false) {
  describe.skipIf(skip)(`quota store contract: ${label}`, () => {
    let s: QuotaStore;
    beforeAll(async () => {
      s = await make();
    });
    afterAll(() => s.close());

    it('admits up to the limit, then refuses with the wait until one unit refills', async () => {
      const b = spec(3, 60_000);
      for (let i = 0; i < 3; i++) expect((await s.acquire([b])).ok).toBe(true);
      const r = await s.acquire([b]);
      expect(r.ok).toBe(false);
      expect(r.refusedBy?.key).toBe(b.key);
      expect(r.retryAfterMs).toBeGreaterThan(15_000);
      expect(r.retryAfterMs).toBeLessThanOrEqual(20_000);
    });

    it('is all or nothing over several buckets, and reports what is left in each', async () => {
      const a = spec(10, HOUR);
      const b = spec(2, HOUR);
      expect((await s.acquire([a, b])).remaining.map(Math.floor)).toEqual([9, 1]);
      expect((await s.acquire([a, b])).ok).toBe(true);
      const refused = await s.acquire([a, b]);
      expect(refused.ok).toBe(false);
      expect(refused.refusedBy?.key).toBe(b.key);
      // The refusal took nothing from the first bucket.
      expect(Math.floor((await s.acquire([{ ...a, cost: 0 }])).remaining[0]!)).toBe(8);
    });

    it('a cost above the limit can never be admitted', async () => {
      const r = await s.acquire([spec(100, HOUR, 101, 'tpm')]);
      expect(r.ok).toBe(false);
      expect(r.retryAfterMs).toBe(Infinity);
    });

    it('refills at the average rate', async () => {
      const b = spec(2, 400);
      expect((await s.acquire([b])).ok).toBe(true);
      expect((await s.acquire([b])).ok).toBe(true);
      expect((await s.acquire([b])).ok).toBe(false);
      await sleep(260); // one unit refills every 200 ms
      expect((await s.acquire([b])).ok).toBe(true);
    });

    it('refunds give back up to the limit, never above', async () => {
      const b = spec(5, HOUR, 4, 'tpm');
      await s.acquire([b]);
      await s.refund([{ ...b, cost: 3 }]);
      expect(Math.round((await s.acquire([{ ...b, cost: 0 }])).remaining[0]!)).toBe(4);
      await s.refund([{ ...b, cost: 100 }]);
      expect(Math.round((await s.acquire([{ ...b, cost: 0 }])).remaining[0]!)).toBe(5);
    });

    it('a negative refund is a debt: the bucket goes below zero and later requests wait', async () => {
      const b = spec(100, HOUR, 60, 'tpm');
      expect((await s.acquire([b])).ok).toBe(true);
      await s.refund([{ ...b, cost: -70 }]); // used 130 where 60 were reserved
      const r = await s.acquire([{ ...b, cost: 1 }]);
      expect(r.ok).toBe(false);
      expect(Math.round(r.remaining[0]!)).toBe(-30);
      // A debt is recorded even when the bucket was full (and so not stored).
      const fresh = spec(100, HOUR, 1, 'tpm');
      await s.refund([{ ...fresh, cost: -150 }]);
      expect((await s.acquire([fresh])).ok).toBe(false);
    });

    it('under concurrent calls, admits exactly the limit', async () => {
      const b = spec(25, HOUR);
      const results = await Promise.all(Array.from({ length: 100 }, () => s.acquire([b])));
      expect(results.filter((r) => r.ok)).toHaveLength(25);
    });
  });
}

contract('memory', async () => new MemoryQuotaStore());
contract(
  'redis',
  async () => {
    const redis = connectRedis({ url: REDIS_URL, keyPrefix: '', commandTimeoutMs: 2000 });
    await redis.connect();
    return new RedisQuotaStore(redis, uniquePrefix('contract'));
  },
  !hasRedis,
);
