/**
 * False-positive calibration: many random keys against real text that was never marked with them
 * (the report half of the shared LLM answers and human writing, or text marked with another
 * tenant's key). If the null is right, the fraction of (key, document) pairs with p <= alpha is at
 * most alpha for the exact (conservative, discrete) p-value, and equal to alpha for the randomized
 * p-value P(X > h) + U * P(X = h), which is uniform under a correct null.
 */
import { createHash } from 'node:crypto';
import { dedupe } from '../../dist/watermark/detect.js';
import { deriveKey } from '../../dist/watermark/keys.js';
import { poissonBinomialTail } from '../../dist/watermark/stats.js';
import { prng } from './student.js';

export const ALPHAS = [1e-2, 1e-3, 1e-4];

/**
 * Groups observations into documents of `size` texts from the same source (1 = each answer alone).
 * @param {{source: string, obs: import('../../dist/watermark/detect.js').Observation[]}[]} texts
 */
export function documents(texts, size) {
  const bySource = new Map();
  for (const t of texts) {
    if (!bySource.has(t.source)) bySource.set(t.source, []);
    bySource.get(t.source).push(t);
  }
  const docs = [];
  for (const list of bySource.values()) {
    for (let i = 0; i + size <= list.length; i += size) docs.push(dedupe(list.slice(i, i + size).flatMap((t) => t.obs)));
  }
  return docs.filter((d) => d.length > 0);
}

/**
 * Hits and null probabilities of one document under one key. `nul` null: Moat's test (the key's
 * pick is uniform: 1/|alternatives|). With a NullModel: the naive null, P(hit) = base rate of the
 * member the key picked.
 */
function trial(doc, key, nul) {
  const ps = new Array(doc.length);
  let hits = 0;
  for (let i = 0; i < doc.length; i++) {
    const o = doc[i];
    const sel = o.alts[key.select(o.context, o.set, o.alts.length)];
    if (sel === o.member) hits++;
    ps[i] = nul ? nul.prob(o.set, sel, o.alts) : 1 / o.alts.length;
  }
  return { ps, hits };
}

/**
 * FPR at several alphas over `keys` random keys.
 * @param {import('../../dist/watermark/detect.js').Observation[][]} docs
 */
export function falsePositiveRates(docs, keys, label, nul = null) {
  const master = createHash('sha256').update(`moat-eval-calibration-${label}`).digest();
  const rand = prng(99);
  const exact = Object.fromEntries(ALPHAS.map((a) => [a, 0]));
  const randomized = Object.fromEntries(ALPHAS.map((a) => [a, 0]));
  let tests = 0;
  let sumP = 0;
  let worst = 0;
  for (let k = 0; k < keys; k++) {
    const key = deriveKey(master, 'tenant', `random-${k}`);
    let keyHits = 0;
    for (const d of docs) {
      const { ps, hits } = trial(d, key, nul);
      const atLeast = poissonBinomialTail(ps, hits);
      const above = poissonBinomialTail(ps, hits + 1);
      const pr = above + rand() * (atLeast - above);
      tests++;
      sumP += pr;
      for (const a of ALPHAS) {
        if (atLeast <= a) exact[a]++;
        if (pr <= a) randomized[a]++;
      }
      if (atLeast <= 1e-2) keyHits++;
    }
    worst = Math.max(worst, keyHits / docs.length);
  }
  const rate = (o) => Object.fromEntries(ALPHAS.map((a) => [String(a), o[a] / tests]));
  return {
    keys,
    documents: docs.length,
    tests,
    meanScored: Math.round((10 * docs.reduce((s, d) => s + d.length, 0)) / docs.length) / 10,
    fpr: rate(exact),
    fprRandomized: rate(randomized),
    meanRandomizedP: sumP / tests,
    worstKeyFpr1e2: worst,
  };
}
