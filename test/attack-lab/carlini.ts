/**
 * ATTACK LAB. The hidden-dimension recovery attack of Carlini et al. (ICML 2024, "Stealing Part
 * of a Production Language Model"), logprob-and-logit_bias variant:
 * 1. For one prompt, bias a reference token and k-1 others by +B so that all k land in the
 *    top-k; the bias cancels in their logprob differences, giving z_i - z_ref exactly. Repeat
 *    over groups until the whole logit vector (up to a constant) is known.
 * 2. Do so for more prompts than the hidden size; the vectors all lie in the column space of
 *    the output projection W (V×d), so once centred they have rank d.
 * 3. Read d from the singular values: the largest drop between consecutive ones.
 */
import { singularValues } from './svd.js';

/** One query: the top-k logprobs (token id -> logprob) at the first generated position, or an error. */
export type Query = (prompt: string, bias: Record<string, number>, k: number) => Promise<Map<number, number>>;

export interface AttackResult {
  /** The hidden size read from the singular values, or null when no full logit vector was obtained. */
  hidden: number | null;
  vectors: number;
  attempts: number;
  refused: number;
  singularValues: number[];
}

const BIAS = 100;

/** The full logit vector of one prompt relative to token 0, or null when a query fails or misses a token. */
async function logitVector(query: Query, prompt: string, vocab: number, k: number, counts: { attempts: number; refused: number }): Promise<number[] | null> {
  const z = new Array<number>(vocab).fill(NaN);
  z[0] = 0;
  for (let start = 1; start < vocab; start += k - 1) {
    const group = Array.from({ length: Math.min(k - 1, vocab - start) }, (_, i) => start + i);
    const bias: Record<string, number> = { '0': BIAS };
    for (const t of group) bias[String(t)] = BIAS;
    counts.attempts++;
    let top: Map<number, number>;
    try {
      top = await query(prompt, bias, k);
    } catch {
      counts.refused++;
      continue;
    }
    const ref = top.get(0);
    if (ref === undefined) continue;
    for (const t of group) {
      const lp = top.get(t);
      if (lp !== undefined) z[t] = lp - ref;
    }
  }
  return z.every((x) => Number.isFinite(x)) ? z : null;
}

/** Index (1-based) of the largest ratio between consecutive singular values. */
export function dimensionFromSpectrum(s: readonly number[]): number {
  let best = 1;
  let bestGap = -Infinity;
  for (let i = 0; i + 1 < s.length; i++) {
    const gap = Math.log(s[i]! + 1e-300) - Math.log(s[i + 1]! + 1e-300);
    if (gap > bestGap) {
      bestGap = gap;
      best = i + 1;
    }
  }
  return best;
}

export async function recoverHiddenDimension(query: Query, o: { vocab: number; prompts: number; k: number }): Promise<AttackResult> {
  const counts = { attempts: 0, refused: 0 };
  const rows: number[][] = [];
  for (let p = 0; p < o.prompts; p++) {
    const z = await logitVector(query, `tell me a story number ${p}`, o.vocab, o.k, counts);
    if (!z) continue;
    const mean = z.reduce((a, b) => a + b, 0) / z.length;
    rows.push(z.map((x) => x - mean));
  }
  if (rows.length < 2) return { hidden: null, vectors: rows.length, ...counts, singularValues: [] };
  const s = singularValues(rows);
  return { hidden: dimensionFromSpectrum(s), vectors: rows.length, ...counts, singularValues: s };
}
