/**
 * The built-in lexical embedding: hashed word and bigram terms weighted by TF-IDF, projected
 * to EMBED_DIM dimensions by a fixed random ±1 projection (one hash gives all the signs of a
 * term), normalised and quantized to int8. Document frequencies are learned online from the
 * deployment's own traffic. Pure logic over the term hashes from features.ts.
 */
import { mix2 } from './hash.js';

export const EMBED_DIM = 32;
const IDF_BUCKETS = 4096;
const PROJ_SEED = 0x7e11a5ed;
const REFRESH = 256;

/** Online document frequencies over hashed terms. */
export class IdfTable {
  readonly df = new Float32Array(IDF_BUCKETS);
  docs = 0;

  /** Cached IDF per bucket, refreshed every REFRESH documents (a log per term is costly). */
  private readonly cache = new Float32Array(IDF_BUCKETS).fill(1);
  private sinceRefresh = 0;

  /** Counts a document's first `n` terms (a term repeated in one document counts again: the error is small). */
  add(terms: Int32Array, n = terms.length): void {
    for (let i = 0; i < n; i++) {
      const b = terms[i]! & (IDF_BUCKETS - 1);
      this.df[b] = this.df[b]! + 1;
    }
    if (++this.sinceRefresh >= Math.min(REFRESH, 1 + this.docs)) {
      this.sinceRefresh = 0;
      for (let b = 0; b < IDF_BUCKETS; b++) this.cache[b] = Math.log((this.docs + 2) / (this.df[b]! + 1)) + 1;
    }
    // Halve everything now and then, so old traffic fades and counts stay bounded.
    if (++this.docs >= 200_000) {
      for (let b = 0; b < IDF_BUCKETS; b++) this.df[b] = this.df[b]! / 2;
      this.docs /= 2;
    }
  }

  idf(term: number): number {
    return this.cache[term & (IDF_BUCKETS - 1)]!;
  }
}

const acc = new Float64Array(EMBED_DIM);

/** Embeds a query's first `n` terms into `out` (unit length, int8 scale 127); all zeros for an empty query. */
export function lexicalEmbedding(terms: Int32Array, idf: IdfTable, out: Int8Array = new Int8Array(EMBED_DIM), n = terms.length): Int8Array {
  acc.fill(0);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const t = terms[i]!;
    const w = idf.idf(t);
    total += w;
    // One hash gives all 32 signs of the term's random projection. A dimension's sum is
    // 2·(weight of the terms with that bit set) − (weight of all terms): visit set bits only.
    let signs = mix2(t, PROJ_SEED);
    while (signs !== 0) {
      const d = 31 - Math.clz32(signs & -signs);
      acc[d] = acc[d]! + w;
      signs &= signs - 1;
    }
  }
  for (let d = 0; d < EMBED_DIM; d++) acc[d] = 2 * acc[d]! - total;
  return quantize(acc, out);
}

/** Projects an embedding from an external model (any dimension) to EMBED_DIM, normalised. */
export function projectExternal(v: ArrayLike<number>, out: Int8Array = new Int8Array(EMBED_DIM)): Int8Array {
  acc.fill(0);
  for (let i = 0; i < v.length; i++) {
    const signs = mix2(i, PROJ_SEED);
    const x = v[i]!;
    for (let d = 0; d < EMBED_DIM; d++) acc[d] = acc[d]! + ((signs >>> d) & 1 ? x : -x);
  }
  return quantize(acc, out);
}

function quantize(a: Float64Array, out: Int8Array): Int8Array {
  let norm = 0;
  for (let d = 0; d < EMBED_DIM; d++) norm += a[d]! * a[d]!;
  norm = Math.sqrt(norm);
  for (let d = 0; d < EMBED_DIM; d++) out[d] = norm > 0 ? Math.round((a[d]! / norm) * 127) : 0;
  return out;
}
