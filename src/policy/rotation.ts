/**
 * A secret orthogonal rotation of embedding vectors per tenant. Rotating every vector of a
 * tenant by the same orthogonal matrix keeps all their dot products, norms and cosine
 * similarities, so search and clustering within the tenant work unchanged; vectors served to
 * different tenants live in unrelated bases, so pooling them (to train an imitation of the
 * embedding model, or to compare against another tenant's index) does not work.
 *
 * A full random d×d matrix costs d² per vector and O(d³) to build, too much for d = 4096; the
 * rotation here is three rounds of (secret permutation, then a block-diagonal of random 32×32
 * orthogonal blocks). Each round is orthogonal, so the product is; after three rounds every
 * output component depends on up to 32³ inputs. Everything derives from HMAC(secret, tenant,
 * dimension) through an AES-CTR keystream, so every replica with the same secret agrees.
 * Pure logic apart from node:crypto.
 */
import { createCipheriv, createHmac, type Cipher } from 'node:crypto';

const BLOCK = 32;
const ROUNDS = 3;

/** A deterministic stream of random numbers from a 32-byte key (AES-256-CTR over zeros). */
export class Keystream {
  private readonly cipher: Cipher;
  private buf = Buffer.alloc(0);
  private pos = 0;
  private spare: number | null = null;

  constructor(key: Buffer) {
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  }

  uint32(): number {
    if (this.pos + 4 > this.buf.length) {
      this.buf = this.cipher.update(Buffer.alloc(4096));
      this.pos = 0;
    }
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Uniform in (0, 1). */
  uniform(): number {
    return (this.uint32() + 0.5) / 4294967296;
  }

  /** Standard normal (Box-Muller). */
  gaussian(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const t = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(t);
    return r * Math.cos(t);
  }
}

/**
 * A random orthogonal n×n matrix (row-major), Haar-distributed: Gram-Schmidt on a Gaussian
 * matrix, which leaves R with a positive diagonal.
 */
export function randomOrthogonal(n: number, rng: Keystream): Float64Array {
  const q = new Float64Array(n * n);
  for (let i = 0; i < q.length; i++) q[i] = rng.gaussian();
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j < i; j++) {
      const rj = j * n;
      let dot = 0;
      for (let k = 0; k < n; k++) dot += q[ri + k]! * q[rj + k]!;
      for (let k = 0; k < n; k++) q[ri + k]! -= dot * q[rj + k]!;
    }
    let norm = 0;
    for (let k = 0; k < n; k++) norm += q[ri + k]! ** 2;
    norm = Math.sqrt(norm);
    for (let k = 0; k < n; k++) q[ri + k]! /= norm;
  }
  return q;
}

interface Round {
  perm: Uint32Array;
  /** One orthogonal matrix per block of BLOCK components (the last block may be smaller). */
  blocks: Float64Array[];
}

/** One tenant's rotation for one dimension. */
export class Rotation {
  private readonly rounds: Round[] = [];

  constructor(
    readonly dim: number,
    key: Buffer,
  ) {
    const rng = new Keystream(key);
    for (let r = 0; r < ROUNDS; r++) {
      const perm = new Uint32Array(dim);
      for (let i = 0; i < dim; i++) perm[i] = i;
      for (let i = dim - 1; i > 0; i--) {
        const j = Math.floor(rng.uniform() * (i + 1));
        const t = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = t;
      }
      const blocks: Float64Array[] = [];
      for (let s = 0; s < dim; s += BLOCK) blocks.push(randomOrthogonal(Math.min(BLOCK, dim - s), rng));
      this.rounds.push({ perm, blocks });
    }
  }

  apply(v: ArrayLike<number>): Float64Array {
    if (v.length !== this.dim) throw new Error(`rotation is for ${this.dim} dimensions, got ${v.length}`);
    let x = Float64Array.from(v);
    const y = new Float64Array(this.dim);
    for (const { perm, blocks } of this.rounds) {
      for (let i = 0; i < this.dim; i++) y[i] = x[perm[i]!]!;
      const z = new Float64Array(this.dim);
      for (let b = 0, s = 0; b < blocks.length; b++, s += BLOCK) {
        const q = blocks[b]!;
        const n = Math.min(BLOCK, this.dim - s);
        for (let i = 0; i < n; i++) {
          let acc = 0;
          for (let j = 0; j < n; j++) acc += q[i * n + j]! * y[s + j]!;
          z[s + i] = acc;
        }
      }
      x = z;
    }
    return x;
  }
}

/** Rotations per (tenant, dimension), derived from one secret; a few are kept built. */
export class TenantRotations {
  private readonly cache = new Map<string, Rotation>();

  constructor(
    private readonly secret: Buffer,
    private readonly maxCached = 16,
  ) {}

  forTenant(tenant: string, dim: number): Rotation {
    const id = `${tenant}\0${dim}`;
    let r = this.cache.get(id);
    if (r) {
      this.cache.delete(id);
      this.cache.set(id, r);
      return r;
    }
    const key = createHmac('sha256', this.secret).update(`moat-embedding-rotation\0${id}`).digest();
    r = new Rotation(dim, key);
    if (this.cache.size >= this.maxCached) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(id, r);
    return r;
  }
}
