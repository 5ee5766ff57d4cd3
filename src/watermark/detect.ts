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
import { poissonBinomialTail, zScore } from './stats.js';
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
