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

/** Online document frequencies over hashed terms. */
export class IdfTable {
  readonly df = new Float32Array(IDF_BUCKETS);
  docs = 0;

  /** Counts a document's terms (each bucket at most once per document is not enforced: the error is small). */
  add(terms: Uint32Array): void {
    for (let i = 0; i < terms.length; i++) {
      const b = terms[i]! & (IDF_BUCKETS - 1);
      this.df[b] = this.df[b]! + 1;
    }
    // Halve everything now and then, so old traffic fades and counts stay bounded.
    if (++this.docs >= 200_000) {
      for (let b = 0; b < IDF_BUCKETS; b++) this.df[b] = this.df[b]! / 2;
      this.docs /= 2;
    }
  }

  idf(term: number): number {
    return Math.log((this.docs + 1) / (this.df[term & (IDF_BUCKETS - 1)]! + 1)) + 1;
  }
}

const acc = new Float64Array(EMBED_DIM);

/** Embeds a query's terms into `out` (unit length, int8 scale 127); all zeros for an empty query. */
export function lexicalEmbedding(terms: Uint32Array, idf: IdfTable, out: Int8Array = new Int8Array(EMBED_DIM)): Int8Array {
  acc.fill(0);
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i]!;
    const w = idf.idf(t);
    const signs = mix2(t, PROJ_SEED);
    for (let d = 0; d < EMBED_DIM; d++) acc[d] = acc[d]! + ((signs >>> d) & 1 ? w : -w);
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
