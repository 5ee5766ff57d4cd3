/**
 * The bounded state kept for one actor (a principal, or a cluster of accounts scored as one):
 * a ring of the last WINDOW queries in typed arrays, hourly counters, timing statistics and
 * small sketches. About 11 KB whatever the traffic; see bench/detect.ts.
 */
import { MINHASH_K, bagSimilarity, minhashSimilarity, type QueryFeatures } from './features.js';
import { EMBED_DIM } from './embedding.js';
import { RFF_DIM } from './reference.js';

/** Queries kept per actor. */
export const WINDOW = 64;
/** Queries per diversity epoch. */
export const EPOCH = 32;
const KEYS = 4; // prefix, suffix, skeleton, and the exact text (not a template key)
const TEMPLATE_KEYS = 3;
const RECENT_BAGS = 4;
const SKETCH_BITS = 4096;
const HOUR = 3_600_000;

/** What one query contributes besides its text features. */
export interface QueryScalars {
  ts: number;
  signature: number;
  probe: number;
  tokensIn: number;
}

export class ActorWindow {
  /** Queries ever observed. */
  count = 0;
  readonly ts = new Float64Array(WINDOW);
  readonly minhash = new Int32Array(WINDOW * MINHASH_K);
  readonly keys = new Int32Array(WINDOW * KEYS);
  readonly emb = new Int8Array(WINDOW * EMBED_DIM);
  /** Per query: signature probability, probe weight, unnaturalness, near-duplicate flag, enumeration flag. */
  readonly sig = new Float32Array(WINDOW);
  readonly probe = new Float32Array(WINDOW);
  readonly unnatural = new Float32Array(WINDOW);
  readonly dup = new Uint8Array(WINDOW);
  readonly enumr = new Uint8Array(WINDOW);
  private readonly bags: Int32Array[] = [];
  private readonly exact = new Int32Array(RECENT_BAGS);
  private readonly numMasked = new Int32Array(RECENT_BAGS);
  private readonly wordCounts = new Uint16Array(RECENT_BAGS);

  /** Sums over the window of the unit embeddings and of their random Fourier features. */
  readonly embSum = new Float64Array(EMBED_DIM);
  readonly rffSum = new Float64Array(RFF_DIM);

  /** Diversity: a linear-counting bitmap of bigrams for the current epoch, and the last finished epoch's ratio. */
  private readonly sketch = new Uint8Array(SKETCH_BITS / 8);
  private epochBigrams = 0;
  private epochQueries = 0;
  distinct2 = -1;

  /** Volume and pace. */
  readonly hourly = new Uint16Array(24);
  lastHour = -1;
  /** Exponentially weighted hourly request rate over roughly a week (own history). */
  baselineHourly = 0;
  hoursSeen = 0;
  lastTs = 0;
  gapMean = 0;
  gapVar = 0;
  gaps = 0;
  tokensIn = 0;
  tokensOut = 0;

  /** Index in the ring of the next query. */
  get slot(): number {
    return this.count % WINDOW;
  }

  /** Queries currently in the window. */
  get size(): number {
    return Math.min(this.count, WINDOW);
  }

  /**
   * Adds one query. `embed` is its unit embedding (quantized), `rff` its random Fourier
   * features; `rffOf` recomputes the features of an evicted embedding.
   */
  add(f: QueryFeatures, q: QueryScalars, emb: Int8Array, rff: Float64Array, rffOf: (e: Int8Array, out: Float64Array) => void): void {
    this.tick(q.ts);
    const i = this.slot;
    const n = this.size;
    if (this.count >= WINDOW) this.evict(i, rffOf);

    // Near-duplicate of anything in the window? Template keys: compared when counted.
    let dup = 0;
    for (let j = 0; j < n && !dup; j++) {
      if (j === i) continue;
      if (this.keys[j * KEYS + 3] === f.exactKey) continue; // a resend ("regenerate") is not a near-duplicate
      if (minhashSimilarity(f.minhash, this.minhash.subarray(j * MINHASH_K, (j + 1) * MINHASH_K)) >= 0.5) dup = 1;
    }
    // A small edit of one of the last few queries, or the same text with other numbers (a counter).
    let enumr = 0;
    for (let j = 0; j < this.bags.length && !enumr; j++) {
      if (this.exact[j] === f.exactKey) continue;
      if (this.numMasked[j] === f.numMaskedKey && f.words >= 3) enumr = 1;
      else if (f.words >= 4 && Math.abs(this.wordCounts[j]! - f.words) <= 3 && bagSimilarity(this.bags[j]!, f.bag) >= 0.7) enumr = 1;
    }
    const r = this.count % RECENT_BAGS;
    this.bags[r] = f.bag;
    this.exact[r] = f.exactKey;
    this.numMasked[r] = f.numMaskedKey;
    this.wordCounts[r] = Math.min(65535, f.words);

    this.ts[i] = q.ts;
    this.minhash.set(f.minhash, i * MINHASH_K);
    this.keys[i * KEYS] = f.prefixKey;
    this.keys[i * KEYS + 1] = f.suffixKey;
    this.keys[i * KEYS + 2] = f.skeletonKey;
    this.keys[i * KEYS + 3] = f.exactKey;
    this.emb.set(emb, i * EMBED_DIM);
    this.sig[i] = q.signature;
    this.probe[i] = q.probe;
    this.unnatural[i] = f.unnatural;
    this.dup[i] = dup;
    this.enumr[i] = enumr;
    for (let d = 0; d < EMBED_DIM; d++) this.embSum[d] = this.embSum[d]! + emb[d]! / 127;
    for (let d = 0; d < RFF_DIM; d++) this.rffSum[d] = this.rffSum[d]! + rff[d]!;
    this.tokensIn += q.tokensIn;
    this.addDiversity(f.bigrams);
    this.count++;
  }

  private evict(i: number, rffOf: (e: Int8Array, out: Float64Array) => void): void {
    const e = this.emb.subarray(i * EMBED_DIM, (i + 1) * EMBED_DIM);
    for (let d = 0; d < EMBED_DIM; d++) this.embSum[d] = this.embSum[d]! - e[d]! / 127;
    const out = scratchRff;
    rffOf(e, out);
    for (let d = 0; d < RFF_DIM; d++) this.rffSum[d] = this.rffSum[d]! - out[d]!;
  }

  private addDiversity(bigrams: Int32Array): void {
    for (let k = 0; k < bigrams.length; k++) {
      const b = bigrams[k]! & (SKETCH_BITS - 1);
      this.sketch[b >>> 3] = this.sketch[b >>> 3]! | (1 << (b & 7));
    }
    this.epochBigrams += bigrams.length;
    if (++this.epochQueries < EPOCH) return;
    let zeros = 0;
    for (let k = 0; k < this.sketch.length; k++) zeros += 8 - popcount8(this.sketch[k]!);
    // Linear counting: distinct ≈ -m ln(zeros / m).
    const distinct = -SKETCH_BITS * Math.log(Math.max(1, zeros) / SKETCH_BITS);
    this.distinct2 = this.epochBigrams > 0 ? Math.min(1, distinct / this.epochBigrams) : 1;
    this.sketch.fill(0);
    this.epochBigrams = 0;
    this.epochQueries = 0;
  }

  /** Hourly counters, the own-history baseline and inter-arrival statistics. */
  private tick(ts: number): void {
    const hour = Math.floor(ts / HOUR);
    if (this.lastHour < 0) this.lastHour = hour;
    while (this.lastHour < hour) {
      // Close the hour that ended: fold it into the week-long baseline.
      const done = this.hourly[this.lastHour % 24]!;
      this.baselineHourly += (done - this.baselineHourly) / Math.min(168, ++this.hoursSeen);
      this.lastHour++;
      this.hourly[this.lastHour % 24] = 0;
      if (hour - this.lastHour > 24) {
        // A long silence: skip ahead, the baseline decays as if the hours were empty.
        const skipped = Math.min(168, hour - this.lastHour);
        this.baselineHourly *= Math.pow(1 - 1 / 168, skipped);
        this.hoursSeen += skipped;
        this.hourly.fill(0);
        this.lastHour = hour;
      }
    }
    this.hourly[hour % 24] = Math.min(65535, this.hourly[hour % 24]! + 1);
    if (this.lastTs > 0 && ts >= this.lastTs) {
      const g = Math.log1p((ts - this.lastTs) / 1000);
      this.gaps++;
      const a = 1 / Math.min(this.gaps, 64);
      const d = g - this.gapMean;
      this.gapMean += a * d;
      this.gapVar = (1 - a) * (this.gapVar + a * d * d);
    }
    this.lastTs = Math.max(this.lastTs, ts);
  }

  /** Requests in the current hour. */
  get hourCount(): number {
    return this.lastHour < 0 ? 0 : this.hourly[this.lastHour % 24]!;
  }

  /** Requests in the last 24 hours. */
  get dayCount(): number {
    let a = 0;
    for (let h = 0; h < 24; h++) a += this.hourly[h]!;
    return a;
  }

  /** Hours of the last 24 with any request. */
  get activeHours(): number {
    let a = 0;
    for (let h = 0; h < 24; h++) if (this.hourly[h]! > 0) a++;
    return a;
  }

  /** The share of the window taken by the largest template key, and that key's kind. */
  largestTemplate(): { share: number; kind: 'prefix' | 'suffix' | 'skeleton' | null } {
    const n = this.size;
    let best = 0;
    let kind: 'prefix' | 'suffix' | 'skeleton' | null = null;
    const kinds = ['prefix', 'suffix', 'skeleton'] as const;
    for (let k = 0; k < TEMPLATE_KEYS; k++) {
      // Sort a copy of the keys and find the longest run: O(n log n), no allocation.
      let m = 0;
      for (let i = 0; i < n; i++) {
        const key = this.keys[i * KEYS + k]!;
        if (key !== 0) scratchKeys[m++] = key;
      }
      const sorted = scratchKeys.subarray(0, m).sort();
      let run = 0;
      for (let i = 0; i < m; i++) {
        run = i > 0 && sorted[i] === sorted[i - 1] ? run + 1 : 1;
        if (run > best) {
          best = run;
          kind = kinds[k]!;
        }
      }
    }
    return { share: n > 0 ? best / n : 0, kind };
  }

  /** Mean of a per-query array over the window. */
  mean(a: Float32Array | Uint8Array): number {
    const n = this.size;
    if (n === 0) return 0;
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i]!;
    return s / n;
  }

  /** Share of the window whose value is at least `t`. */
  shareAbove(a: Float32Array, t: number): number {
    const n = this.size;
    if (n === 0) return 0;
    let c = 0;
    for (let i = 0; i < n; i++) if (a[i]! >= t) c++;
    return c / n;
  }
}

const scratchRff = new Float64Array(RFF_DIM);
const scratchKeys = new Int32Array(WINDOW);

function popcount8(x: number): number {
  x = x - ((x >>> 1) & 0x55);
  x = (x & 0x33) + ((x >>> 2) & 0x33);
  return (x + (x >>> 4)) & 0x0f;
}
