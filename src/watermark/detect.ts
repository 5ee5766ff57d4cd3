/**
 * Detection: read the positions of a text back with the scanner, and count how often the written
 * member is the one the key picks. Repeated contexts count once (the first time), since the key
 * always picks the same member there. Under the null — a writer who never saw the key — a hit at
 * a position has the probability with which writers choose that member anyway: its base rate in
 * real text (data/watermark/base-rates.json), not 1/|set|, because writers prefer some synonyms
 * ("use" over "utilize"). The hit count is then Poisson-binomial and its tail is computed exactly.
 */
import { readFileSync } from 'node:fs';
import type { WatermarkKey } from './keys.js';
import type { Lexicon } from './lexicon.js';
import { initialState, scanSegment, segmentEnd } from './scan.js';
import { poissonBinomialTail, zScore } from './stats.js';
import type { Tagger } from './tagger.js';

/** One readable position: which set, in which context, which member was written, and which could have been. */
export interface Observation {
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

  /** Probability that an unwatermarked writer writes member `m`, given the members allowed here. */
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
      out.push({ set: p.entry.set.id, context: p.context, member: p.entry.member, alts: p.alts });
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

/** Scores deduplicated observations against one key. */
export function score(unique: readonly Observation[], key: WatermarkKey, nul: NullModel): DetectionResult {
  const ps: number[] = [];
  let hits = 0;
  for (const o of unique) {
    const sel = o.alts[key.select(o.context, o.set, o.alts.length)]!;
    if (sel === o.member) hits++;
    ps.push(nul.prob(o.set, sel, o.alts));
  }
  const expected = ps.reduce((a, b) => a + b, 0);
  return { scored: unique.length, hits, expected, z: zScore(hits, ps), p_value: poissonBinomialTail(ps, hits) };
}
