/**
 * Small, fast, seedable 32-bit hashes for the detection signals. Pure functions; no
 * cryptographic strength is needed, only speed and a good spread.
 */

/** FNV-1a over a string's UTF-16 code units, optionally chained from a previous hash. */
export function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** Mixes two 32-bit values into one (murmur3 finalizer over a combination). */
export function mix2(a: number, b: number): number {
  let h = a ^ Math.imul(b, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** A deterministic PRNG, for reproducible evaluation and random projections (the demo model's mulberry32). */
export { prng as rng } from '../demo/model.js';
