/**
 * The windowed two-sample test for topic shift: random Fourier features approximate a
 * Gaussian kernel, so the maximum mean discrepancy (MMD) between a principal's recent queries
 * and the benign reference is the distance between two mean feature vectors. The reference is
 * an exponentially weighted mean over the deployment's own traffic from principals not at risk.
 */
import { EMBED_DIM } from './embedding.js';
import { rng } from './hash.js';

export const RFF_DIM = 32;
/** Kernel bandwidth on unit vectors (cosine distance scale). */
const SIGMA = 0.8;
/** Reference queries needed before the test is used. */
export const REFERENCE_MIN = 300;

const W = new Float64Array(RFF_DIM * EMBED_DIM);
const B = new Float64Array(RFF_DIM);
{
  const r = rng(0xfeedf00d);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  // Pre-divided by 127: embeddings arrive as int8 at scale 127.
  for (let i = 0; i < W.length; i++) W[i] = gauss() / SIGMA / 127;
  for (let i = 0; i < RFF_DIM; i++) B[i] = r() * 2 * Math.PI;
}
const SCALE = Math.sqrt(2 / RFF_DIM);

/** φ(x) for a quantized unit embedding; k(x, y) ≈ φ(x)·φ(y). */
export function fourierFeatures(e: Int8Array, out: Float64Array): Float64Array {
  for (let k = 0; k < RFF_DIM; k++) {
    let z = B[k]!;
    const row = k * EMBED_DIM;
    for (let d = 0; d < EMBED_DIM; d++) z += W[row + d]! * e[d]!;
    out[k] = SCALE * Math.cos(z);
  }
  return out;
}

export class BenignReference {
  readonly mean = new Float64Array(RFF_DIM);
  count = 0;

  /** Folds one benign query in; the weight floors at 1/5000 so the reference follows drift. */
  add(phi: Float64Array): void {
    const a = 1 / Math.min(++this.count, 5000);
    for (let k = 0; k < RFF_DIM; k++) this.mean[k] = this.mean[k]! + a * (phi[k]! - this.mean[k]!);
  }

  get ready(): boolean {
    return this.count >= REFERENCE_MIN;
  }

  /**
   * Squared MMD between a window (the weighted sum of its feature vectors, the weights' sum,
   * and its effective sample size) and the reference, less the bias of an n-sample mean under
   * the null (E|φ̄ - μ|² ≈ (k(x,x) - |μ|²) / n, k(x,x) ≈ 1).
   */
  mmd2(sum: ArrayLike<number>, weight: number, nEff: number): number {
    if (weight <= 0 || nEff <= 0) return 0;
    let d2 = 0;
    let mu2 = 0;
    for (let k = 0; k < RFF_DIM; k++) {
      const diff = sum[k]! / weight - this.mean[k]!;
      d2 += diff * diff;
      mu2 += this.mean[k]! * this.mean[k]!;
    }
    return d2 - Math.max(0, 1 - mu2) / nEff;
  }
}
