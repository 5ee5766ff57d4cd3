/**
 * A cluster of linked accounts scored as one actor: the union of its members' windows (their
 * counts add up, and the largest template is counted over all their queries together) plus
 * the cluster's own sustained-pace buckets, which drain at the pace of as many people as it
 * has members. Pure logic; the engine re-scores a cluster every few member requests.
 */
import { MAX_CLUSTER } from './cluster.js';
import type { Pace } from './pace.js';
import type { SignalTuning } from './schema.js';
import { scoreContent, scoreHarvest, type ContentCounts, type Scores } from './signals.js';
import { WINDOW, type ActorWindow } from './window.js';

const scratch = new Int32Array(MAX_CLUSTER * WINDOW);

/** The largest share of the pooled queries that carries one template key. */
export function pooledTemplateShare(windows: readonly ActorWindow[]): number {
  let total = 0;
  for (const w of windows) total += w.size;
  if (total === 0) return 0;
  let best = 0;
  for (let k = 0; k < 3; k++) {
    let m = 0;
    for (const w of windows) {
      for (let j = 0; j < w.size && m < scratch.length; j++) {
        const key = w.templateKey(j, k);
        if (key !== 0) scratch[m++] = key;
      }
    }
    const sorted = scratch.subarray(0, m).sort();
    let run = 0;
    for (let i = 0; i < m; i++) {
      run = i > 0 && sorted[i] === sorted[i - 1] ? run + 1 : 1;
      if (run > best) best = run;
    }
  }
  return best / total;
}

/** Scores the union of the members' windows and the cluster's pace into `out`; returns the risk. */
export function scoreCluster(windows: readonly ActorWindow[], pace: Pace, t: SignalTuning, out: Scores): number {
  out.clear();
  const c: ContentCounts = { n: 0, dupSum: 0, enumSum: 0, sigHits: 0, probeSum: 0, unnaturalHits: 0, template: 0 };
  for (const w of windows) {
    c.n += w.size;
    c.sigHits += w.sigHits;
    c.probeSum += w.probeSum;
    c.unnaturalHits += w.unnaturalHits;
    c.dupSum += w.dupSum;
    c.enumSum += w.enumSum;
  }
  c.template = pooledTemplateShare(windows);
  scoreContent(c, t, out);
  scoreHarvest(pace, t, out);
  return out.risk();
}
