/**
 * The distillation-signature model: logistic regression over hashed word, bigram and shape
 * features. Small enough to ship as a JSON file and to retrain on an operator's labelled
 * traffic (`moat detect train`). Pure logic; loading the file is in model-file.ts.
 */
import { SIG_DIM } from './features.js';
import { rng } from './hash.js';

export interface SignatureModel {
  dim: number;
  bias: number;
  weights: Float32Array;
  /** Free text: what it was trained on. */
  trainedOn: string;
}

/** The JSON form of a model (weights rounded; zeros kept so indices stay positional). */
export interface SignatureModelJson {
  format: 'moat-signature-v1';
  dim: number;
  bias: number;
  weights: number[];
  trainedOn: string;
}

export function emptyModel(): SignatureModel {
  return { dim: SIG_DIM, bias: -8, weights: new Float32Array(SIG_DIM), trainedOn: 'untrained' };
}

/** Probability that a query is a distillation request (bulk instruction/data generation), from its first `n` feature indices. */
export function scoreSignature(m: SignatureModel, idx: Uint16Array, n = idx.length): number {
  if (n === 0) return 0;
  const scale = 1 / Math.sqrt(n);
  let z = 0;
  for (let i = 0; i < n; i++) z += m.weights[idx[i]! & (m.dim - 1)]!;
  z = m.bias + z * scale;
  return 1 / (1 + Math.exp(-z));
}

export interface TrainOptions {
  epochs?: number;
  learningRate?: number;
  l2?: number;
  seed?: number;
  trainedOn?: string;
}

/**
 * Trains by stochastic gradient descent on the log-loss, with classes weighted to balance,
 * so a few hundred positives among thousands of negatives still count.
 */
export function trainSignature(examples: ReadonlyArray<{ idx: Uint16Array; label: 0 | 1 }>, o: TrainOptions = {}): SignatureModel {
  const epochs = o.epochs ?? 12;
  const lr0 = o.learningRate ?? 0.5;
  const l2 = o.l2 ?? 1e-5;
  const m: SignatureModel = { dim: SIG_DIM, bias: 0, weights: new Float32Array(SIG_DIM), trainedOn: o.trainedOn ?? 'custom' };
  const pos = examples.filter((e) => e.label === 1).length;
  const neg = examples.length - pos;
  if (pos === 0 || neg === 0) throw new Error('training needs examples of both labels (1 = distillation, 0 = ordinary use)');
  const wPos = examples.length / (2 * pos);
  const wNeg = examples.length / (2 * neg);
  const order = examples.map((_, i) => i);
  const rand = rng(o.seed ?? 7);
  for (let ep = 0; ep < epochs; ep++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const lr = lr0 / (1 + ep);
    for (const k of order) {
      const e = examples[k]!;
      const p = scoreSignature(m, e.idx);
      const g = (p - e.label) * (e.label === 1 ? wPos : wNeg);
      const scale = e.idx.length ? 1 / Math.sqrt(e.idx.length) : 0;
      m.bias -= lr * g * 0.1;
      for (let i = 0; i < e.idx.length; i++) {
        const f = e.idx[i]!;
        m.weights[f] = m.weights[f]! - lr * (g * scale + l2 * m.weights[f]!);
      }
    }
  }
  return m;
}

export function modelToJson(m: SignatureModel): SignatureModelJson {
  return { format: 'moat-signature-v1', dim: m.dim, bias: Math.round(m.bias * 1e4) / 1e4, weights: Array.from(m.weights, (w) => Math.round(w * 1e4) / 1e4), trainedOn: m.trainedOn };
}

/** Parses a model file's JSON; throws a readable error when it is not one. */
export function modelFromJson(v: unknown): SignatureModel {
  const j = v as Partial<SignatureModelJson> | null;
  if (!j || j.format !== 'moat-signature-v1' || typeof j.dim !== 'number' || !Array.isArray(j.weights) || j.weights.length !== j.dim || typeof j.bias !== 'number') {
    throw new Error('not a Moat signature model (expected {"format":"moat-signature-v1","dim","bias","weights"})');
  }
  if (j.dim !== SIG_DIM) throw new Error(`the model has ${j.dim} features; this version of Moat expects ${SIG_DIM}`);
  return { dim: j.dim, bias: j.bias, weights: Float32Array.from(j.weights), trainedOn: String(j.trainedOn ?? 'unknown') };
}
