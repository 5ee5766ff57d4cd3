/**
 * The bounded state kept for one principal: a ring of the last WINDOW queries in typed
 * arrays (what near-duplicate, template and enumeration checks compare against), running
 * counts over that ring, exponentially weighted topic sums, hourly counters, timing
 * statistics and small sketches. About 7 KB whatever the traffic; see bench/detect.ts.
 */
import { BAG_SIZE, MINHASH_K, bagSimilarity, type QueryFeatures } from './features.js';
import { EMBED_DIM } from './embedding.js';
import { RFF_DIM } from './reference.js';

/** Queries kept per actor. */
export const WINDOW = 64;
/** Queries per diversity epoch. */
export const EPOCH = 32;
/** Weight of the newest query in the topic sums: an exponential window of about WINDOW queries. */
export const TOPIC_ALPHA = 1 / WINDOW;
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

export type TemplateKind = 'prefix' | 'suffix' | 'skeleton';
const TEMPLATE_KINDS: readonly TemplateKind[] = ['prefix', 'suffix', 'skeleton'];

export class ActorWindow {
  /** Queries ever observed. */
  count = 0;
  readonly ts = new Float64Array(WINDOW);
  /** The low 16 bits of each MinHash value: enough to compare signatures, half the memory. */
  readonly minhash = new Uint16Array(WINDOW * MINHASH_K);
  readonly keys = new Int32Array(WINDOW * KEYS);
  /** Per slot and template kind: how many queries in the window share that slot's key. */
  private readonly tplCount = new Uint8Array(WINDOW * TEMPLATE_KEYS);
  /** Per query: signature probability, probe weight, unnaturalness, near-duplicate flag, enumeration flag. */
  readonly sig = new Float32Array(WINDOW);
  readonly probe = new Float32Array(WINDOW);
  readonly unnatural = new Float32Array(WINDOW);
  readonly dup = new Uint8Array(WINDOW);
  readonly enumr = new Uint8Array(WINDOW);
  /** Running sums over the window of the per-query values above. */
  sigHits = 0;
  probeSum = 0;
  unnaturalHits = 0;
  dupSum = 0;
  enumSum = 0;

  private readonly bags = new Int32Array(RECENT_BAGS * BAG_SIZE);
  private readonly bagLen = new Uint8Array(RECENT_BAGS);
  private readonly exact = new Int32Array(RECENT_BAGS);
  private readonly numMasked = new Int32Array(RECENT_BAGS);
  private readonly wordCounts = new Uint16Array(RECENT_BAGS);

  /**
   * Exponentially weighted sums of the unit embeddings and of their random Fourier features
   * (weight TOPIC_ALPHA for the newest query): no ring of embeddings to keep or evict.
   */
  readonly embSum = new Float32Array(EMBED_DIM);
  readonly rffSum = new Float32Array(RFF_DIM);
  /** The same weights' sum and sum of squares, for the effective sample size. */
  ewWeight = 0;
  ewWeight2 = 0;

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

  /** Adds one query: `emb` is its unit embedding (int8 scale 127), `rff` its random Fourier features. */
  add(f: QueryFeatures, q: QueryScalars, emb: Int8Array, rff: Float64Array): void {
    this.tick(q.ts);
    const i = this.slot;
    const n = this.size;
    if (this.count >= WINDOW) this.evict(i);

    // Near-duplicate of anything in the window? A resend ("regenerate") is not a near-duplicate.
    let dup = 0;
    const mh = f.minhash;
    for (let j = 0; j < n && !dup; j++) {
      if (j === i || this.keys[j * KEYS + 3] === f.exactKey) continue;
      // Jaccard ≥ 0.5: half the bins agree. Stop as soon as that is out of reach.
      let miss = 0;
      const o = j * MINHASH_K;
      for (let k = 0; k < MINHASH_K && miss * 2 <= MINHASH_K; k++) if (this.minhash[o + k] !== (mh[k]! & 0xffff)) miss++;
      if (miss * 2 <= MINHASH_K) dup = 1;
    }
    // A small edit of one of the last few queries, or the same text with other numbers (a counter).
    let enumr = 0;
    const recent = Math.min(this.count, RECENT_BAGS);
    for (let j = 0; j < recent && !enumr; j++) {
      if (this.exact[j] === f.exactKey) continue;
      if (this.numMasked[j] === f.numMaskedKey && f.words >= 3) enumr = 1;
      else if (f.words >= 4 && Math.abs(this.wordCounts[j]! - f.words) <= 3 && bagSimilarity(this.bags, f.bag, this.bagLen[j]!, f.bagLen, j * BAG_SIZE, 0) >= 0.7) enumr = 1;
    }
    const r = this.count % RECENT_BAGS;
    for (let k = 0; k < f.bagLen; k++) this.bags[r * BAG_SIZE + k] = f.bag[k]!;
    this.bagLen[r] = f.bagLen;
    this.exact[r] = f.exactKey;
    this.numMasked[r] = f.numMaskedKey;
    this.wordCounts[r] = Math.min(65535, f.words);

    this.ts[i] = q.ts;
    for (let k = 0; k < MINHASH_K; k++) this.minhash[i * MINHASH_K + k] = mh[k]! & 0xffff;
    this.keys[i * KEYS] = f.prefixKey;
    this.keys[i * KEYS + 1] = f.suffixKey;
    this.keys[i * KEYS + 2] = f.skeletonKey;
    this.keys[i * KEYS + 3] = f.exactKey;
    this.countTemplates(i, n, 1);
    this.sig[i] = q.signature;
    this.probe[i] = q.probe;
    this.unnatural[i] = f.unnatural;
    this.dup[i] = dup;
    this.enumr[i] = enumr;
    if (q.signature >= 0.5) this.sigHits++;
    this.probeSum += q.probe;
    if (f.unnatural >= 0.5) this.unnaturalHits++;
    this.dupSum += dup;
    this.enumSum += enumr;

    const keep = 1 - TOPIC_ALPHA;
    for (let d = 0; d < EMBED_DIM; d++) this.embSum[d] = this.embSum[d]! * keep + emb[d]! / 127;
    for (let d = 0; d < RFF_DIM; d++) this.rffSum[d] = this.rffSum[d]! * keep + rff[d]!;
    this.ewWeight = this.ewWeight * keep + 1;
    this.ewWeight2 = this.ewWeight2 * keep * keep + 1;
    this.tokensIn += q.tokensIn;
    this.addDiversity(f.bigrams, f.bigramLen);
    this.count++;
  }

  /** The effective number of queries behind the topic sums (Kish). */
  get topicN(): number {
    return this.ewWeight2 > 0 ? (this.ewWeight * this.ewWeight) / this.ewWeight2 : 0;
  }

  private evict(i: number): void {
    this.countTemplates(i, WINDOW, -1);
    if (this.sig[i]! >= 0.5) this.sigHits--;
    this.probeSum -= this.probe[i]!;
    if (this.unnatural[i]! >= 0.5) this.unnaturalHits--;
    this.dupSum -= this.dup[i]!;
    this.enumSum -= this.enumr[i]!;
  }

  /**
   * Keeps `tplCount` exact: a slot entering (+1) or leaving (-1) changes the count of every
   * other slot with the same key; an entering slot also gets its own count.
   */
  private countTemplates(i: number, n: number, delta: 1 | -1): void {
    for (let k = 0; k < TEMPLATE_KEYS; k++) {
      const key = this.keys[i * KEYS + k]!;
      if (key === 0) {
        this.tplCount[i * TEMPLATE_KEYS + k] = 0;
        continue;
      }
      let same = 1;
      for (let j = 0; j < n; j++) {
        if (j === i || this.keys[j * KEYS + k] !== key) continue;
        this.tplCount[j * TEMPLATE_KEYS + k] = this.tplCount[j * TEMPLATE_KEYS + k]! + delta;
        same++;
      }
      if (delta > 0) this.tplCount[i * TEMPLATE_KEYS + k] = same;
    }
  }

  private addDiversity(bigrams: Int32Array, nb: number): void {
    for (let k = 0; k < nb; k++) {
      const b = bigrams[k]! & (SKETCH_BITS - 1);
      this.sketch[b >>> 3] = this.sketch[b >>> 3]! | (1 << (b & 7));
    }
    this.epochBigrams += nb;
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
  largestTemplate(): { share: number; kind: TemplateKind | null } {
    const n = this.size;
    let best = 0;
    let kind: TemplateKind | null = null;
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < TEMPLATE_KEYS; k++) {
        const c = this.tplCount[j * TEMPLATE_KEYS + k]!;
        if (c > best) {
          best = c;
          kind = TEMPLATE_KINDS[k]!;
        }
      }
    }
    return { share: n > 0 ? best / n : 0, kind };
  }

  /** Share of the window whose template key of this kind equals `key` (0 for no key). */
  templateShare(kind: number, key: number): number {
    const n = this.size;
    if (n === 0 || key === 0) return 0;
    let c = 0;
    for (let j = 0; j < n; j++) if (this.keys[j * KEYS + kind] === key) c++;
    return c / n;
  }

  /** Template key of kind `k` at slot `j`. */
  templateKey(j: number, k: number): number {
    return this.keys[j * KEYS + k]!;
  }
}

function popcount8(x: number): number {
  x = x - ((x >>> 1) & 0x55);
  x = (x & 0x33) + ((x >>> 2) & 0x33);
  return (x + (x >>> 4)) & 0x0f;
}
