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

  /** Counts a document's terms (each bucket at most once per document is not enforced: the error is small). */
  /** Cached IDF per bucket, refreshed every REFRESH documents (a log per term is costly). */
  private readonly cache = new Float32Array(IDF_BUCKETS).fill(1);
  private sinceRefresh = 0;

  add(terms: Int32Array): void {
    for (let i = 0; i < terms.length; i++) {
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

/** Embeds a query's terms into `out` (unit length, int8 scale 127); all zeros for an empty query. */
export function lexicalEmbedding(terms: Int32Array, idf: IdfTable, out: Int8Array = new Int8Array(EMBED_DIM)): Int8Array {
  acc.fill(0);
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i]!;
    const w = idf.idf(t);
    const signs = mix2(t, PROJ_SEED);
    // Add w to every dimension, then subtract 2w where the sign bit is clear.
    const w2 = 2 * w;
    for (let d = 0; d < EMBED_DIM; d++) acc[d] = acc[d]! + w - w2 * (1 - ((signs >>> d) & 1));
  }
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
