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
 * Hits and null probabilities of one document under one key. Without `nul`: Moat's test (the
 * key's pick is uniform: 1/|alternatives|). With a NullModel: the naive null, P(hit) = base rate
 * of the member the key picked. `pick` memoizes the key's choices (contexts recur across documents).
 */
function trial(doc, pick, nul) {
  const ps = new Array(doc.length);
  let hits = 0;
  for (let i = 0; i < doc.length; i++) {
    const o = doc[i];
    const sel = pick(o);
    if (sel === o.member) hits++;
    ps[i] = nul ? nul.prob(o.set, sel, o.alts) : 1 / o.alts.length;
  }
  return { ps, hits };
}

/**
 * FPR at several alphas over random keys, for several groupings at once (each key's choices are
 * computed once per (set, context) and shared by every grouping).
 * @param {{name: string, docs: import('../../dist/watermark/detect.js').Observation[][], nul?: object, keys: number}[]} groupings
 */
export function falsePositiveRates(groupings, label) {
  const master = createHash('sha256').update(`moat-eval-calibration-${label}`).digest();
  const rand = prng(99);
  const acc = groupings.map(() => ({ exact: Object.fromEntries(ALPHAS.map((a) => [a, 0])), randomized: Object.fromEntries(ALPHAS.map((a) => [a, 0])), tests: 0, sumP: 0, worst: 0 }));
  const maxKeys = Math.max(...groupings.map((g) => g.keys));
  for (let k = 0; k < maxKeys; k++) {
    const key = deriveKey(master, 'tenant', `random-${k}`);
    const memo = new Map();
    const pick = (o) => {
      const id = `${o.set}\u001f${o.alts.join(',')}\u001f${o.context}`;
      let sel = memo.get(id);
      if (sel === undefined) memo.set(id, (sel = o.alts[key.select(o.context, o.set, o.alts.length)]));
      return sel;
    };
    groupings.forEach((g, gi) => {
      if (k >= g.keys) return;
      const a = acc[gi];
      let keyHits = 0;
      for (const d of g.docs) {
        const { ps, hits } = trial(d, pick, g.nul ?? null);
        const atLeast = poissonBinomialTail(ps, hits);
        const above = poissonBinomialTail(ps, hits + 1);
        const pr = above + rand() * (atLeast - above);
        a.tests++;
        a.sumP += pr;
        for (const al of ALPHAS) {
          if (atLeast <= al) a.exact[al]++;
          if (pr <= al) a.randomized[al]++;
        }
        if (atLeast <= 1e-2) keyHits++;
      }
      a.worst = Math.max(a.worst, keyHits / g.docs.length);
    });
  }
  const out = {};
  groupings.forEach((g, gi) => {
    const a = acc[gi];
    const rate = (o) => Object.fromEntries(ALPHAS.map((al) => [String(al), o[al] / a.tests]));
    out[g.name] = {
      keys: g.keys,
      documents: g.docs.length,
      tests: a.tests,
      meanScored: Math.round((10 * g.docs.reduce((s, d) => s + d.length, 0)) / g.docs.length) / 10,
      fpr: rate(a.exact),
      fprRandomized: rate(a.randomized),
      meanRandomizedP: a.sumP / a.tests,
      worstKeyFpr1e2: a.worst,
    };
  });
  return out;
}
