/**
 * False-positive calibration: many random keys against real text that was never watermarked
 * (the report half of the shared LLM answers and human writing). If the null model is right, the
 * fraction of (key, document) pairs with p <= alpha stays at or below alpha.
 */
import { randomBytes } from 'node:crypto';
import { dedupe, score, NullModel } from '../../dist/watermark/detect.js';
import { deriveKey } from '../../dist/watermark/keys.js';

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
 * FPR at several alphas over `keys` random keys, for one null model.
 * @returns {{keys: number, documents: number, tests: number, meanScored: number, fpr: Record<string, number>, worstKeyFpr1e2: number}}
 */
export function falsePositiveRates(docs, keys, nul, alphas = [1e-2, 1e-3, 1e-4]) {
  const hits = Object.fromEntries(alphas.map((a) => [a, 0]));
  let tests = 0;
  let worst = 0;
  const master = randomBytes(32);
  for (let k = 0; k < keys; k++) {
    const key = deriveKey(master, 'tenant', `random-${k}`);
    let keyHits = 0;
    for (const d of docs) {
      const p = score(d, key, nul).p_value;
      tests++;
      for (const a of alphas) if (p <= a) hits[a]++;
      if (p <= 1e-2) keyHits++;
    }
    worst = Math.max(worst, keyHits / docs.length);
  }
  const meanScored = docs.reduce((s, d) => s + d.length, 0) / docs.length;
  return {
    keys,
    documents: docs.length,
    tests,
    meanScored: Math.round(meanScored * 10) / 10,
    fpr: Object.fromEntries(alphas.map((a) => [String(a), hits[a] / tests])),
    worstKeyFpr1e2: worst,
  };
}

/** A null model that ignores writers' preferences: every allowed member equally likely. */
export const uniformNull = new NullModel(null);
