/**
 * From an actor's window to named signals, each with its measured value and a score in
 * [0, 1], and from signals to one risk. Pure logic; the thresholds come from the config
 * (`detect.signals`), so every number here can be tuned without code.
 */
import type { SignalTuning } from './schema.js';
import type { BenignReference } from './reference.js';
import type { ActorWindow } from './window.js';

export type SignalName =
  | 'volume'
  | 'diversity'
  | 'near_duplicate'
  | 'template'
  | 'enumeration'
  | 'signature'
  | 'probe'
  | 'unnatural'
  | 'topic'
  | 'cluster';

export interface Signal {
  name: SignalName;
  /** The measured value (a share, a ratio, a statistic: see docs/detection.md). */
  value: number;
  score: number;
  /** Short human-readable detail, e.g. which template kind or how many requests this hour. */
  detail?: string;
}

/** A signal "fires" (is named in explanations and replay output) at this score. */
export const FIRES = 0.5;

/**
 * Content signals can decide alone; supporting signals (volume, diversity, topic) describe
 * behaviour that many honest heavy users share, so each is capped and only adds to others.
 */
const SUPPORTING_CAP = 0.5;

/** Minimum window size before share-based signals count fully. */
const FULL_CONFIDENCE = 24;

export function ramp(v: number, t: { lo: number; hi: number }): number {
  if (t.hi === t.lo) return v >= t.hi ? 1 : 0;
  return Math.max(0, Math.min(1, (v - t.lo) / (t.hi - t.lo)));
}

const round = (x: number) => Math.round(x * 1000) / 1000;

export interface SignalContext {
  tuning: SignalTuning;
  reference: BenignReference | null;
  /** Typical hourly requests of a principal in the same tenant (0 when unknown). */
  tenantHourly: number;
  /** Compute content signals only (clusters: pooled volume of many accounts says nothing). */
  contentOnly?: boolean;
}

/** Computes every signal of a window. */
export function computeSignals(w: ActorWindow, c: SignalContext): Signal[] {
  const n = w.size;
  const conf = Math.min(1, n / FULL_CONFIDENCE);
  const t = c.tuning;
  const out: Signal[] = [];
  if (n === 0) return out;

  const dup = w.mean(w.dup);
  out.push({ name: 'near_duplicate', value: round(dup), score: ramp(dup, t.nearDuplicate) * conf });
  const tpl = w.largestTemplate();
  out.push({ name: 'template', value: round(tpl.share), score: ramp(tpl.share, t.template) * conf, ...(tpl.kind ? { detail: `largest ${tpl.kind} key` } : {}) });
  const en = w.mean(w.enumr);
  out.push({ name: 'enumeration', value: round(en), score: ramp(en, t.enumeration) * conf });
  // Per-query scores need a handful of hits before they count (one odd prompt is not a pattern).
  const sigShare = w.shareAbove(w.sig, 0.5);
  out.push({ name: 'signature', value: round(sigShare), score: ramp(sigShare, t.signature) * Math.min(1, (sigShare * n) / 6) });
  const probe = w.mean(w.probe);
  out.push({ name: 'probe', value: round(probe), score: ramp(probe, t.probe) * Math.min(1, (probe * n) / 6) });
  const un = w.shareAbove(w.unnatural, 0.5);
  out.push({ name: 'unnatural', value: round(un), score: ramp(un, t.unnatural) * Math.min(1, (un * n) / 8) });

  if (w.distinct2 >= 0) {
    out.push({ name: 'diversity', value: round(w.distinct2), score: SUPPORTING_CAP * ramp(w.distinct2, t.diversity) });
  }
  if (c.contentOnly) return out;

  // Volume: this hour against the principal's own usual rate (a surge) and against the
  // tenant's typical principal (a level), the last day against the tenant's typical day,
  // weighted by how machine-like the pace is (regular gaps, activity around the clock).
  const tenant = Math.max(c.tenantHourly, 10);
  const own = Math.max(w.baselineHourly, 10);
  const day = w.dayCount;
  const ratio = Math.max(Math.min(w.hourCount / own, w.hourCount / tenant), day / (24 * tenant));
  const cv = w.gaps >= 16 ? Math.sqrt(Math.max(0, w.gapVar)) / Math.max(0.05, w.gapMean) : 1;
  const machine = 0.5 + 0.25 * ramp(0.5 - cv, { lo: 0, hi: 0.35 }) + 0.25 * ramp(w.activeHours, { lo: 14, hi: 22 });
  out.push({
    name: 'volume',
    value: round(ratio),
    score: SUPPORTING_CAP * ramp(ratio, t.volume) * machine,
    detail: `${w.hourCount} requests this hour, ${day} in 24 h; usual hourly: own ${round(own)}, tenant ${round(tenant)}; ${w.activeHours} active hours of 24`,
  });

  if (c.reference?.ready && n >= 32) {
    const mmd = c.reference.mmd2(w.rffSum, n);
    out.push({ name: 'topic', value: round(mmd), score: SUPPORTING_CAP * ramp(mmd, t.topic) * Math.min(1, n / 48), detail: `topic concentration ${round(concentration(w))}` });
  }
  return out;
}

/** Mean pairwise cosine of the window's embeddings (|mean of unit vectors|²). */
export function concentration(w: ActorWindow): number {
  const n = w.size;
  if (n === 0) return 0;
  let s = 0;
  for (let d = 0; d < w.embSum.length; d++) s += (w.embSum[d]! / n) ** 2;
  return s;
}

/** Combines signal scores as independent evidence: 1 - Π(1 - score). */
export function combine(signals: readonly Signal[]): number {
  let keep = 1;
  for (const s of signals) keep *= 1 - Math.max(0, Math.min(1, s.score));
  return round(1 - keep);
}

/** The names of the signals that fired, strongest first. */
export function fired(signals: readonly Signal[]): SignalName[] {
  return signals
    .filter((s) => s.score >= FIRES * (s.name === 'volume' || s.name === 'topic' || s.name === 'diversity' ? SUPPORTING_CAP : 1))
    .sort((a, b) => b.score - a.score)
    .map((s) => s.name);
}
