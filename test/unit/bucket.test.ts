import { describe, expect, it } from 'vitest';
import { fullBucket, secondsToFull, takeFromBucket } from '../../src/limits/bucket.js';
import { MemoryQuotaStore } from '../../src/limits/memory-store.js';

describe('token bucket', () => {
  it('allows a burst up to the limit, then refuses with the wait until one unit refills', () => {
    let s = fullBucket(60, 0);
    for (let i = 0; i < 60; i++) {
      const r = takeFromBucket(s, 60, 60_000, 1, 0);
      expect(r.ok).toBe(true);
      s = r.state;
    }
    const refused = takeFromBucket(s, 60, 60_000, 1, 0);
    expect(refused.ok).toBe(false);
    expect(refused.retryAfterMs).toBe(1000);
    expect(takeFromBucket(s, 60, 60_000, 1, 1000).ok).toBe(true);
  });

  it('refills at the average rate and never above the limit', () => {
    const s = { tokens: 0, at: 0 };
    expect(takeFromBucket(s, 10, 60_000, 5, 30_000).ok).toBe(true);
    expect(takeFromBucket(s, 10, 60_000, 6, 30_000).ok).toBe(false);
    const later = takeFromBucket(s, 10, 60_000, 0, 10 * 60_000);
    expect(later.state.tokens).toBe(10);
  });

  it('a cost above the limit can never be admitted', () => {
    const r = takeFromBucket(fullBucket(10, 0), 10, 60_000, 11, 0);
    expect(r.ok).toBe(false);
    expect(r.retryAfterMs).toBe(Infinity);
  });

  it('reports seconds to full', () => {
    expect(secondsToFull(0, 60, 60_000)).toBe(60);
    expect(secondsToFull(60, 60, 60_000)).toBe(0);
  });
});

describe('memory quota store', () => {
  it('takes from all buckets or from none', async () => {
    const store = new MemoryQuotaStore();
    const a = { key: 'a', name: 'rpm', limit: 5, windowMs: 60_000, cost: 1 };
    const b = { key: 'b', name: 'tpm', limit: 100, windowMs: 60_000, cost: 60 };
    expect((await store.acquire([a, b], 0)).ok).toBe(true);
    const second = await store.acquire([a, b], 0);
    expect(second.ok).toBe(false);
    expect(second.refusedBy?.name).toBe('tpm');
    // 'a' was not charged by the refused call: four more requests of cost 1 fit.
    for (let i = 0; i < 4; i++) expect((await store.acquire([a], 0)).ok).toBe(true);
    expect((await store.acquire([a], 0)).ok).toBe(false);
    await store.refund([{ ...b, cost: 50 }], 0);
    expect((await store.acquire([{ ...b, cost: 90 }], 0)).ok).toBe(true);
    await store.close();
  });
});
