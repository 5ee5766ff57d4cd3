/**
 * Exact tail probabilities for the detector. Each scored position is a Bernoulli trial whose
 * success probability under the null (an unwatermarked writer) is known, so the number of hits
 * is Poisson-binomial: a binomial when every position has the same probability.
 */

const FLOOR = 1e-300;

/**
 * P(X >= k) for X the sum of independent Bernoulli(p_i), computed exactly by dynamic programming
 * over the positions. Probabilities below 1e-300 at the edges of the support are dropped as they
 * arise, so the cost is about n * 75 * sd rather than n^2; when the answer itself is below that
 * floor, a Chernoff bound (an upper bound) is returned instead of 0.
 */
export function poissonBinomialTail(ps: readonly number[], k: number): number {
  const n = ps.length;
  if (k <= 0) return 1;
  if (k > n) return 0;
  const pmf = new Float64Array(n + 2);
  pmf[0] = 1;
  let a = 0;
  let b = 0;
  for (const p of ps) {
    const q = 1 - p;
    pmf[b + 1] = pmf[b]! * p;
    for (let j = b; j > a; j--) pmf[j] = pmf[j]! * q + pmf[j - 1]! * p;
    pmf[a] = pmf[a]! * q;
    b++;
    while (a < b && pmf[a]! < FLOOR) pmf[a++] = 0;
    while (b > a && pmf[b]! < FLOOR) pmf[b--] = 0;
  }
  let tail = 0;
  for (let j = Math.max(k, a); j <= b; j++) tail += pmf[j]!;
  if (tail === 0 && k > b) return tailBeyond(ps, k);
  return Math.min(1, tail);
}

/** Chernoff bound for counts so far in the tail that the exact mass is below 1e-300. */
function tailBeyond(ps: readonly number[], k: number): number {
  // min over t of exp(-t k) * prod(1 - p + p e^t); evaluated on a grid, it is an upper bound.
  let best = 0;
  for (let t = 0.05; t < 30; t *= 1.3) {
    let log = -t * k;
    for (const p of ps) log += Math.log(1 - p + p * Math.exp(t));
    best = Math.min(best, log);
  }
  // Still an upper bound when clamped to the smallest positive double.
  return Math.max(Number.MIN_VALUE, Math.exp(best));
}

/** z-score of a hit count against the Poisson-binomial mean and variance. */
export function zScore(hits: number, ps: readonly number[]): number {
  let mean = 0;
  let variance = 0;
  for (const p of ps) {
    mean += p;
    variance += p * (1 - p);
  }
  return variance > 0 ? (hits - mean) / Math.sqrt(variance) : 0;
}

/** Bonferroni correction of the smallest of `m` p-values. */
export function bonferroni(p: number, m: number): number {
  return Math.min(1, p * Math.max(1, m));
}

/**
 * The null distribution of S = sum over items of V_i, where V_i is drawn uniformly from the
 * non-negative integers `items[i]` and the draws are independent: the probability of each sum
 * 0..sum(max). Mass below 1e-300 at the upper edge is dropped as it arises and kept in `dropped`,
 * so `uniformSumTail` can add it back and stay an upper bound. Cost: items x range x |values|.
 */
export interface UniformSumNull {
  pmf: Float64Array;
  /** First index of `pmf` that may hold mass (lower edge pruned). */
  lo: number;
  /** Upper-edge mass dropped by pruning (an upper bound on any tail beyond `pmf`). */
  dropped: number;
  mean: number;
  variance: number;
}

export function uniformSumNull(items: readonly (readonly number[])[]): UniformSumNull {
  let size = 1;
  let mean = 0;
  let variance = 0;
  for (const vals of items) {
    let mx = 0;
    let m = 0;
    let m2 = 0;
    for (const v of vals) {
      if (!Number.isInteger(v) || v < 0) throw new Error('uniformSumNull: values must be non-negative integers');
      mx = Math.max(mx, v);
      m += v / vals.length;
      m2 += (v * v) / vals.length;
    }
    size += mx;
    mean += m;
    variance += m2 - m * m;
  }
  let pmf = new Float64Array(size);
  let next = new Float64Array(size);
  pmf[0] = 1;
  let lo = 0;
  let hi = 0;
  let dropped = 0;
  for (const vals of items) {
    const w = 1 / vals.length;
    let mx = 0;
    for (const v of vals) mx = Math.max(mx, v);
    next.fill(0, lo, hi + mx + 1);
    for (const v of vals) for (let j = lo; j <= hi; j++) next[j + v]! += pmf[j]! * w;
    [pmf, next] = [next, pmf];
    hi += mx;
    while (lo < hi && pmf[lo]! < FLOOR) pmf[lo++] = 0;
    while (hi > lo && pmf[hi]! < FLOOR) {
      dropped += pmf[hi]!;
      pmf[hi--] = 0;
    }
  }
  return { pmf, lo, dropped, mean, variance };
}

/** P(S >= s) under a `uniformSumNull` (plus the pruned upper mass, so never below the truth). */
export function uniformSumTail(nul: UniformSumNull, s: number): number {
  if (s <= nul.lo) return 1;
  let tail = nul.dropped;
  for (let j = Math.ceil(s); j < nul.pmf.length; j++) tail += nul.pmf[j]!;
  return Math.min(1, Math.max(tail, Number.MIN_VALUE));
}
