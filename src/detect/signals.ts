/**
 * From an actor's window to named signals, each with its measured value and a score in
 * [0, 1], and from signals to one risk. Pure logic; the thresholds come from the config
 * (`detect.signals`), so every number here can be tuned without code. Scores are computed
 * into typed arrays on every request; the readable form (with details) only when asked.
 */
import type { Pace } from './pace.js';
import type { SignalTuning } from './schema.js';
import type { BenignReference } from './reference.js';
import type { ActorWindow } from './window.js';

export const SIGNAL_NAMES = ['near_duplicate', 'template', 'enumeration', 'signature', 'probe', 'unnatural', 'diversity', 'volume', 'topic', 'harvest'] as const;
export type SignalName = (typeof SIGNAL_NAMES)[number] | 'cluster';
export const N_SIGNALS = SIGNAL_NAMES.length;
const DUP = 0;
const TEMPLATE = 1;
const ENUM = 2;
const SIGNATURE = 3;
const PROBE = 4;
const UNNATURAL = 5;
const DIVERSITY = 6;
const VOLUME = 7;
const TOPIC = 8;
const HARVEST = 9;

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
export const SUPPORTING_CAP = 0.5;
const SUPPORTING = new Set<SignalName>(['volume', 'diversity', 'topic']);

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
}

/** Per-signal values and scores of one actor; a value of NaN means "not measured yet". */
export class Scores {
  readonly value = new Float32Array(N_SIGNALS).fill(NaN);
  readonly score = new Float32Array(N_SIGNALS);

  set(i: number, value: number, score: number): void {
    this.value[i] = value;
    this.score[i] = score;
  }

  clear(): void {
    this.value.fill(NaN);
    this.score.fill(0);
  }

  /** Combined risk: independent evidence, 1 - Π(1 - score). */
  risk(): number {
    let keep = 1;
    for (let i = 0; i < N_SIGNALS; i++) keep *= 1 - Math.max(0, Math.min(1, this.score[i]!));
    return Math.round((1 - keep) * 1000) / 1000;
  }
}

/** What content signals are computed from: counts over a window (or over a cluster's windows). */
export interface ContentCounts {
  n: number;
  dupSum: number;
  enumSum: number;
  sigHits: number;
  probeSum: number;
  unnaturalHits: number;
  /** The largest share of the queries that carries one template key. */
  template: number;
}

const counts: ContentCounts = { n: 0, dupSum: 0, enumSum: 0, sigHits: 0, probeSum: 0, unnaturalHits: 0, template: 0 };

/** Content signals: what the queries look like (shares over the window or the pooled windows). */
export function scoreContent(c: ContentCounts, t: SignalTuning, out: Scores): void {
  const n = c.n;
  if (n === 0) return;
  const conf = Math.min(1, n / FULL_CONFIDENCE);
  out.set(DUP, c.dupSum / n, ramp(c.dupSum / n, t.nearDuplicate) * conf);
  out.set(TEMPLATE, c.template, ramp(c.template, t.template) * conf);
  out.set(ENUM, c.enumSum / n, ramp(c.enumSum / n, t.enumeration) * conf);
  // Per-query scores need a handful of hits before they count (one odd prompt is not a pattern).
  out.set(SIGNATURE, c.sigHits / n, ramp(c.sigHits / n, t.signature) * Math.min(1, c.sigHits / 6));
  out.set(PROBE, c.probeSum / n, ramp(c.probeSum / n, t.probe) * Math.min(1, c.probeSum / 6));
  out.set(UNNATURAL, c.unnaturalHits / n, ramp(c.unnaturalHits / n, t.unnatural) * Math.min(1, c.unnaturalHits / 8));
}

/** Scores a pace's sustained-harvesting evidence into `out`. */
export function scoreHarvest(pace: Pace, t: SignalTuning, out: Scores): void {
  const h = pace.harvest(t.harvest);
  out.set(HARVEST, h.value, h.score);
}

/** Every signal of a principal's window and pace. */
export function computeScores(w: ActorWindow, pace: Pace, c: SignalContext, out: Scores): void {
  out.clear();
  const n = w.size;
  if (n === 0) return;
  counts.n = n;
  counts.dupSum = w.dupSum;
  counts.enumSum = w.enumSum;
  counts.sigHits = w.sigHits;
  counts.probeSum = w.probeSum;
  counts.unnaturalHits = w.unnaturalHits;
  counts.template = w.largestTemplate().share;
  scoreContent(counts, c.tuning, out);
  if (w.distinct2 >= 0) out.set(DIVERSITY, w.distinct2, SUPPORTING_CAP * ramp(w.distinct2, c.tuning.diversity));
  const v = volume(w, c.tenantHourly);
  out.set(VOLUME, v.ratio, SUPPORTING_CAP * ramp(v.ratio, c.tuning.volume) * v.machine);
  if (c.reference?.ready && w.count >= 32) {
    const mmd = c.reference.mmd2(w.rffSum, w.ewWeight, w.topicN);
    out.set(TOPIC, mmd, SUPPORTING_CAP * ramp(mmd, c.tuning.topic) * Math.min(1, w.count / 48));
  }
  scoreHarvest(pace, c.tuning, out);
}

/**
 * Volume: this hour against the principal's own usual rate (a surge) and against the
 * tenant's typical principal (a level), the last day against the tenant's typical day,
 * weighted by how machine-like the pace is (regular gaps, activity around the clock).
 */
function volume(w: ActorWindow, tenantHourly: number) {
  const tenant = Math.max(tenantHourly, 10);
  const own = Math.max(w.baselineHourly, 10);
  const day = w.dayCount;
  const ratio = Math.max(Math.min(w.hourCount / own, w.hourCount / tenant), day / (24 * tenant));
  const cv = w.gaps >= 16 ? Math.sqrt(Math.max(0, w.gapVar)) / Math.max(0.05, w.gapMean) : 1;
  const machine = 0.5 + 0.25 * ramp(0.5 - cv, { lo: 0, hi: 0.35 }) + 0.25 * ramp(w.activeHours, { lo: 14, hi: 22 });
  return { ratio, machine, tenant, own, day };
}

/** The readable signals (with details) behind a Scores, for records and alerts. */
export function explain(s: Scores, w: ActorWindow, pace: Pace, c: SignalContext): Signal[] {
  const out: Signal[] = [];
  for (let i = 0; i < N_SIGNALS; i++) {
    const value = s.value[i]!;
    if (Number.isNaN(value)) continue;
    const sig: Signal = { name: SIGNAL_NAMES[i]!, value: round(value), score: round(s.score[i]!) };
    if (i === TEMPLATE) {
      const kind = w.largestTemplate().kind;
      if (kind) sig.detail = `largest ${kind} key`;
    } else if (i === VOLUME) {
      const v = volume(w, c.tenantHourly);
      sig.detail = `${w.hourCount} requests this hour, ${v.day} in 24 h; usual hourly: own ${round(v.own)}, tenant ${round(v.tenant)}; ${w.activeHours} active hours of 24`;
    } else if (i === TOPIC) {
      sig.detail = `topic concentration ${round(concentration(w))}`;
    } else if (i === HARVEST) {
      sig.detail = pace.describe(c.tuning.harvest);
    }
    out.push(sig);
  }
  return out;
}

/** Mean pairwise cosine of the window's embeddings (|weighted mean of unit vectors|²). */
export function concentration(w: ActorWindow): number {
  if (w.ewWeight <= 0) return 0;
  let s = 0;
  for (let d = 0; d < w.embSum.length; d++) s += (w.embSum[d]! / w.ewWeight) ** 2;
  return s;
}

/** Combines signal scores as independent evidence: 1 - Π(1 - score). */
export function combine(signals: readonly Signal[]): number {
  let keep = 1;
  for (const s of signals) keep *= 1 - Math.max(0, Math.min(1, s.score));
  return round(1 - keep);
}

/** The names of the signals that fired in a Scores, strongest first. */
export function firedNames(s: Scores): SignalName[] {
  const hit: number[] = [];
  for (let i = 0; i < N_SIGNALS; i++) if (s.score[i]! >= FIRES * (SUPPORTING.has(SIGNAL_NAMES[i]!) ? SUPPORTING_CAP : 1)) hit.push(i);
  return hit.sort((a, b) => s.score[b]! - s.score[a]!).map((i) => SIGNAL_NAMES[i]!);
}

/** The names of the signals that fired, strongest first. */
export function fired(signals: readonly Signal[]): SignalName[] {
  return signals
    .filter((s) => s.score >= FIRES * (SUPPORTING.has(s.name) ? SUPPORTING_CAP : 1))
    .sort((a, b) => b.score - a.score)
    .map((s) => s.name);
}
