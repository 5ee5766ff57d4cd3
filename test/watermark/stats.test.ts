import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveKey } from '../../src/watermark/keys.js';
import { bonferroni, poissonBinomialTail, zScore } from '../../src/watermark/stats.js';
import { MASTER } from './fixtures.js';

/** P(X >= k) by enumerating every outcome: the definition, for small n. */
function bruteTail(ps: number[], k: number): number {
  let tail = 0;
  for (let mask = 0; mask < 1 << ps.length; mask++) {
    let prob = 1;
    let hits = 0;
    ps.forEach((p, i) => {
      if (mask & (1 << i)) {
        prob *= p;
        hits++;
      } else prob *= 1 - p;
    });
    if (hits >= k) tail += prob;
  }
  return tail;
}

function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
}

describe('Poisson-binomial tail', () => {
  it('matches enumeration for any small set of probabilities', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.01, max: 0.99, noNaN: true }), { minLength: 1, maxLength: 12 }), fc.nat(13), (ps, k) => {
        expect(poissonBinomialTail(ps, k)).toBeCloseTo(bruteTail(ps, k), 12);
      }),
    );
  });

  it('equals the binomial tail when all probabilities are equal, far into the tail', () => {
    const n = 400;
    const p = 0.3;
    for (const k of [120, 160, 200, 300]) {
      let exact = 0;
      for (let j = k; j <= n; j++) exact += Math.exp(logChoose(n, j) + j * Math.log(p) + (n - j) * Math.log(1 - p));
      expect(poissonBinomialTail(new Array(n).fill(p), k) / exact).toBeCloseTo(1, 8);
    }
  });

  it('is 1 at k = 0, 0 beyond n, and an upper bound (not 0) past the 1e-300 floor', () => {
    expect(poissonBinomialTail([0.5, 0.5], 0)).toBe(1);
    expect(poissonBinomialTail([0.5, 0.5], 3)).toBe(0);
    const tiny = poissonBinomialTail(new Array(3000).fill(0.5), 3000);
    expect(tiny).toBeGreaterThan(0);
    expect(tiny).toBeLessThan(1e-300);
  });

  it('z-score and Bonferroni', () => {
    expect(zScore(60, new Array(100).fill(0.5))).toBeCloseTo(2, 10);
    expect(bonferroni(1e-5, 100)).toBeCloseTo(1e-3, 15);
    expect(bonferroni(0.2, 100)).toBe(1);
  });
});

describe('keys', () => {
  it('derives a stable key per tenant, different between tenants and scopes', () => {
    const a = deriveKey(MASTER, 'tenant', 'acme');
    expect(deriveKey(MASTER, 'tenant', 'acme').fingerprint()).toBe(a.fingerprint());
    expect(deriveKey(MASTER, 'tenant', 'globex').fingerprint()).not.toBe(a.fingerprint());
    expect(deriveKey(MASTER, 'principal', 'acme').fingerprint()).not.toBe(a.fingerprint());
    expect(() => deriveKey(Buffer.alloc(8), 'tenant', 'x')).toThrow(/at least 16 bytes/);
  });

  it('selections are uniform over contexts (chi-square, 3 members, 30k contexts)', () => {
    const k = deriveKey(MASTER, 'tenant', 'acme');
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[k.select(`ctx${i}`, 7, 3)]!++;
    const chi = counts.reduce((s, c) => s + (c - 10_000) ** 2 / 10_000, 0);
    expect(chi).toBeLessThan(13.8); // p = 0.001 for 2 degrees of freedom
  });
});
