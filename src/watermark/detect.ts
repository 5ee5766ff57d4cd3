/**
 * Detection: read the positions of a text back with the scanner, and count how often the written
 * member is the one the key picks. Repeated contexts count once (the first time), since the key
 * always picks the same member there.
 *
 * The null is a writer who never saw the key. Whatever that writer's habits, the key's pick at a
 * new (set, context) is a fresh uniform draw among the allowed members, so each scored position is
 * a hit with probability exactly 1/|alternatives| and the hit count is (Poisson-)binomial: the
 * p-value is exact for any writer, including text marked with another tenant's key.
 *
 * Writers' preferences are strong ("use" 98%, "utilize" 2% in the calibration text; measured in
 * data/watermark/base-rates.json) and they do skew the other natural null, "P(hit) = how often
 * writers choose the member the key picked": that null is wrong for any writer whose habits differ
 * from the average, including a text marked with another tenant's key (it would be attributed to
 * every tenant). Conditioning on the text instead makes the preferences irrelevant to validity.
 * The base rates remain available to restrict scoring to positions where the written member is
 * not the usual choice (`informative`); that depends on the text only, so the test stays exact.
 */
import { readFileSync } from 'node:fs';
import type { WatermarkKey } from './keys.js';
import type { Lexicon } from './lexicon.js';
import { initialState, scanSegment, segmentEnd } from './scan.js';
import { poissonBinomialTail, uniformSumNull, uniformSumTail, zScore, type UniformSumNull } from './stats.js';
import type { Tagger } from './tagger.js';

/** One readable position: which set, in which context, which member was written, and which could have been. */
export interface Observation {
  /** Character offset of the word in the text it was read from. */
  at: number;
  set: number;
  context: string;
  member: number;
  alts: number[];
}

export interface DetectionResult {
  scored: number;
  hits: number;
  /** Expected hits under the null. */
  expected: number;
  z: number;
  p_value: number;
}

/** Per set, how often real writers use each member (calibration half of the shared text). */
export interface BaseRates {
  version: number;
  source: string;
  /** Pseudo-count added to each member before normalizing (shrinks thin sets toward uniform). */
  prior: number;
  counts: Record<string, number[]>;
}

export class NullModel {
  constructor(private readonly rates: BaseRates | null) {}

  /** How often writers write member `m` where the members `alts` are allowed (base rate, smoothed). */
  prob(set: number, m: number, alts: readonly number[]): number {
    const c = this.rates?.counts[String(set)];
    if (!c) return 1 / alts.length;
    const prior = this.rates!.prior;
    let total = 0;
    for (const a of alts) total += (c[a] ?? 0) + prior;
    return ((c[m] ?? 0) + prior) / total;
  }
}

let sharedNull: NullModel | null = null;

/** The checked-in base rates, or a uniform null when the file is absent. */
export function defaultNullModel(): NullModel {
  if (!sharedNull) {
    let rates: BaseRates | null = null;
    try {
      rates = JSON.parse(readFileSync(new URL('../../data/watermark/base-rates.json', import.meta.url), 'utf8')) as BaseRates;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    sharedNull = new NullModel(rates);
  }
  return sharedNull;
}

/** Reads every position of a text (key-independent; reuse it to test many keys). */
export function observe(text: string, lex: Lexicon, tagger: Tagger): Observation[] {
  const state = initialState();
  const out: Observation[] = [];
  let from = 0;
  while (from < text.length) {
    const end = segmentEnd(text, from, state, true);
    if (end <= from) break;
    for (const p of scanSegment(text.slice(from, end), state, lex, tagger)) {
      out.push({ at: from + p.start, set: p.entry.set.id, context: p.context, member: p.entry.member, alts: p.alts });
    }
    from = end;
  }
  return out;
}

/** Keeps the first observation of each (set, context). */
export function dedupe(obs: Iterable<Observation>): Observation[] {
  const seen = new Set<string>();
  const out: Observation[] = [];
  for (const o of obs) {
    const k = `${o.set}\u001f${o.context}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(o);
  }
  return out;
}

/** Optional restriction to positions whose written member's base rate is at most `maxRate`. */
export interface Informative {
  nul: NullModel;
  maxRate: number;
}

/** Scores deduplicated observations against one key. */
export function score(unique: readonly Observation[], key: WatermarkKey, informative?: Informative): DetectionResult {
  const ps: number[] = [];
  let hits = 0;
  for (const o of unique) {
    if (informative && informative.nul.prob(o.set, o.member, o.alts) > informative.maxRate) continue;
    if (o.alts[key.select(o.context, o.set, o.alts.length)] === o.member) hits++;
    ps.push(1 / o.alts.length);
  }
  const expected = ps.reduce((a, b) => a + b, 0);
  return { scored: ps.length, hits, expected, z: zScore(hits, ps), p_value: poissonBinomialTail(ps, hits) };
}

/**
 * Student mode: the test for text sampled from a model that was trained on marked answers
 * ("radioactivity"), where the marked answers may be a small share of its training data.
 *
 * Such a model does not copy the key's choices; at a context it has learned, it writes the keyed
 * member somewhat more often than writers do (about share x (1 - its natural rate) more). Two
 * things follow, and `score` gets both wrong for it:
 *  - Its repeated contexts are evidence, not duplicates. `score` keeps the first occurrence of each
 *    (set, context); a student writes the same learned contexts again and again, each time with a
 *    fresh draw, so the first-occurrence test stops gaining evidence while every new generation
 *    adds contexts the student never learned (backoff noise at uniform odds).
 *  - A shift from 2% to 12% of "utilize" is strong evidence; from 50% to 55% of "large" is weak.
 *    A hit counted at 1/|members| weighs them alike.
 *
 * So each distinct (set, context) becomes one item whose score for pick `a` is the log-likelihood
 * ratio of all its occurrences under "the model mixes `lambda` of the key's pick into the reference
 * rate q(a | set, context)" against "it writes at the reference rate": count(a) x
 * log(1 + lambda / ((1 - lambda) q(a))), rounded to an integer scale and capped. The statistic S is
 * the sum over items of the score of the key's pick.
 *
 * Validity. The null is a text (and a reference, and a served-context filter) that does not depend
 * on the key. Conditioned on them, every item's values are fixed numbers and the key's pick at each
 * distinct (set, context) is an independent uniform draw among its members (HMAC as a random
 * function), so S is a sum of independent uniform draws over known integers: its distribution is
 * computed exactly (`uniformSumNull`) and the p-value is exact, however the text repeats itself,
 * whatever the writer's habits, and whatever the reference says. The reference only chooses the
 * weights: a better one gives more power, a wrong one less, never false positives. It must not be
 * text marked with the key under test, nor be chosen after looking at the key's picks.
 */

/** Member counts per (set, context) and per set in clean reference text (text never marked with the key under test). */
export class ContextRates {
  private readonly byContext = new Map<string, Map<number, number>>();
  private readonly bySet = new Map<number, Map<number, number>>();

  /** Adds every observation of a reference text (`observe` output). */
  add(obs: Iterable<Observation>): this {
    for (const o of obs) {
      bump(this.byContext, tupleKey(o), o.member);
      bump(this.bySet, o.set, o.member);
    }
    return this;
  }

  /**
   * Reference rate of member `a` among `alts` after `context`: the context's counts shrunk
   * toward the set's rate (itself smoothed by half a count per member) with weight `beta`.
   */
  rate(set: number, context: string, a: number, alts: readonly number[], beta: number): number {
    const s = this.bySet.get(set);
    let sTotal = 0;
    for (const m of alts) sTotal += s?.get(m) ?? 0;
    const g = ((s?.get(a) ?? 0) + 0.5) / (sTotal + 0.5 * alts.length);
    const c = this.byContext.get(`${set}\u001f${context}`);
    let cTotal = 0;
    for (const m of alts) cTotal += c?.get(m) ?? 0;
    return ((c?.get(a) ?? 0) + beta * g) / (cTotal + beta);
  }
}

function bump<K>(map: Map<K, Map<number, number>>, k: K, m: number): void {
  let c = map.get(k);
  if (!c) map.set(k, (c = new Map()));
  c.set(m, (c.get(m) ?? 0) + 1);
}

function tupleKey(o: { set: number; context: string }): string {
  return `${o.set}\u001f${o.context}`;
}

export interface StudentOptions {
  /** Clean reference text's rates; without it, every member of a set is taken as equally common. */
  reference?: ContextRates;
  /**
   * Only score these (set, context) keys (`set + "\u001f" + context`), e.g. the contexts of the
   * answers served to the suspect tenant (`servedContexts`). They must not depend on the key's picks.
   */
  served?: ReadonlySet<string>;
  /** Mixing share of the alternative (default 0.1: a student for which about 10% of the data was marked). */
  lambda?: number;
  /** Shrinkage of context rates toward set rates, in reference counts (default 1). */
  beta?: number;
  /** Integer units per nat of log-likelihood ratio (default 3) and the cap on one item's score (default 15). */
  scale?: number;
  cap?: number;
}

/** One item of the student test: a distinct (set, context) and the integer score of each possible pick. */
export interface StudentItem {
  set: number;
  context: string;
  alts: number[];
  /** Occurrences of the context in the text (with these alternatives). */
  occurrences: number;
  /** Score of each member of `alts` if it were the key's pick, shifted so the smallest is 0. */
  values: number[];
}

/** Key-independent part of the student test: items and the exact null of their sum (reuse for many keys). */
export interface StudentTest {
  items: StudentItem[];
  nul: UniformSumNull;
}

/** The (set, context) keys of texts, for `StudentOptions.served`. */
export function servedContexts(obs: Iterable<Observation>): Set<string> {
  const out = new Set<string>();
  for (const o of obs) out.add(tupleKey(o));
  return out;
}

/** Builds the student test from every observation of the suspect's text (no dedup: repeats are evidence). */
export function prepareStudent(obs: Iterable<Observation>, opts: StudentOptions = {}): StudentTest {
  const lambda = opts.lambda ?? 0.1;
  const beta = opts.beta ?? 1;
  const scale = opts.scale ?? 3;
  const cap = opts.cap ?? 15;
  const groups = new Map<string, { o: Observation; counts: Map<number, number>; n: number }>();
  for (const o of obs) {
    const k = tupleKey(o);
    if (opts.served && !opts.served.has(k)) continue;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { o, counts: new Map(), n: 0 }));
    // The key's pick depends on the number of alternatives: keep one list per (set, context).
    if (!sameAlts(g.o.alts, o.alts)) continue;
    g.n++;
    g.counts.set(o.member, (g.counts.get(o.member) ?? 0) + 1);
  }
  const items: StudentItem[] = [];
  for (const { o, counts, n } of groups.values()) {
    const raw = o.alts.map((a) => {
      const q = opts.reference ? opts.reference.rate(o.set, o.context, a, o.alts, beta) : 1 / o.alts.length;
      return Math.min(cap, Math.round(scale * (counts.get(a) ?? 0) * Math.log(1 + lambda / ((1 - lambda) * q))));
    });
    const lo = Math.min(...raw);
    const values = raw.map((v) => v - lo);
    if (values.every((v) => v === 0)) continue; // no evidence either way
    items.push({ set: o.set, context: o.context, alts: o.alts, occurrences: n, values });
  }
  return { items, nul: uniformSumNull(items.map((i) => i.values)) };
}

function sameAlts(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export interface StudentResult {
  /** Distinct (set, context) items scored, and the occurrences they hold. */
  scored: number;
  occurrences: number;
  /** Items whose key pick has the item's highest score (for reading; the test uses `statistic`). */
  hits: number;
  statistic: number;
  expected: number;
  z: number;
  p_value: number;
}

/** Scores a prepared student test against one key: exact P(S >= observed) under the null. */
export function scoreStudent(test: StudentTest, key: WatermarkKey): StudentResult {
  let s = 0;
  let hits = 0;
  let occurrences = 0;
  for (const it of test.items) {
    const v = it.values[key.select(it.context, it.set, it.alts.length)]!;
    s += v;
    if (v === Math.max(...it.values)) hits++;
    occurrences += it.occurrences;
  }
  const { mean, variance } = test.nul;
  return {
    scored: test.items.length,
    occurrences,
    hits,
    statistic: s,
    expected: mean,
    z: variance > 0 ? (s - mean) / Math.sqrt(variance) : 0,
    p_value: uniformSumTail(test.nul, s),
  };
}
