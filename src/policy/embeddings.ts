/**
 * Per-tenant hardening of embedding vectors, pure: truncation to fewer dimensions (then
 * re-normalized), a secret orthogonal rotation per tenant, reduced precision. Vectors arrive as
 * JSON number arrays or as base64 little-endian float32 (what the official OpenAI clients ask for
 * by default) and leave in the same encoding.
 */
import type { JsonObject } from '../pipeline/context.js';
import type { Rotation } from './rotation.js';

export interface EmbeddingHardening {
  dimensions: number | null;
  decimals: number | null;
  /** The rotation for a dimension, or null when rotation is off. */
  rotation: ((dim: number) => Rotation) | null;
}

/** Decodes one `embedding` value; null when it is neither a number array nor base64 float32. */
export function decodeVector(v: unknown): Float64Array | null {
  if (Array.isArray(v)) return v.every((x) => typeof x === 'number') ? Float64Array.from(v as number[]) : null;
  if (typeof v !== 'string') return null;
  const bytes = Buffer.from(v, 'base64');
  if (bytes.length % 4 !== 0) return null;
  const out = new Float64Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

export function encodeVector(v: Float64Array, asBase64: boolean): number[] | string {
  if (!asBase64) return Array.from(v);
  const bytes = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) bytes.writeFloatLE(v[i]!, i * 4);
  return bytes.toString('base64');
}

export function hardenVector(v: Float64Array, h: EmbeddingHardening): Float64Array {
  let x = v;
  if (h.dimensions !== null && x.length > h.dimensions) {
    x = x.slice(0, h.dimensions);
    let n = 0;
    for (const c of x) n += c * c;
    n = Math.sqrt(n);
    if (n > 0) for (let i = 0; i < x.length; i++) x[i]! /= n;
  }
  if (h.rotation) x = h.rotation(x.length).apply(x);
  if (h.decimals !== null) {
    const f = 10 ** h.decimals;
    for (let i = 0; i < x.length; i++) x[i] = Math.round(x[i]! * f) / f;
  }
  return x;
}

/**
 * Hardens every vector of an embeddings answer in place. Returns false when a vector could not
 * be read; the caller must then refuse the answer rather than pass an unhardened vector on.
 */
export function hardenEmbeddings(body: JsonObject, h: EmbeddingHardening): boolean {
  if (h.dimensions === null && h.decimals === null && !h.rotation) return true;
  if (!Array.isArray(body.data)) return false;
  for (const item of body.data) {
    if (typeof item !== 'object' || item === null) return false;
    const e = item as JsonObject;
    const v = decodeVector(e.embedding);
    if (!v) return false;
    e.embedding = encodeVector(hardenVector(v, h), typeof e.embedding === 'string');
  }
  return true;
}
