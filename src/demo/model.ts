/**
 * DEMO ONLY. A tiny deterministic language model: a word bigram chain over a short built-in
 * text. It exists so that `npm start` shows a protected model answering without any real
 * inference server, and it honours `logprobs`, `top_logprobs`, `logit_bias`, `n`, `echo` and
 * `seed` exactly, so that the protections Moat puts in front of it are visible.
 */
import { createHash } from 'node:crypto';

const CORPUS = `
A moat is a deep and wide ditch that surrounds a castle. The water in the moat keeps attackers
away from the walls. The gate of the castle opens onto a bridge, and the guards at the gate ask
every visitor for a name and a purpose. A visitor who cannot answer is turned away. The keeper
writes every visit in a book, and the book is kept in a locked room. A careful keeper notices when
the same visitor comes back every hour with the same question. The castle holds a library, and the
library holds the knowledge of the realm. A thief who copies the library page by page can build a
second castle. The guards therefore limit how many pages a visitor may read in a day. The keeper marks
every page with a quiet sign, so that a copied page can be traced back to the visitor who read it.
Good walls are not enough: a good castle also needs watchful guards, honest records and a keeper
who reads them. The river feeds the moat, and the bridge is raised at night. A friendly visitor
is always welcome, and a patient guard answers questions with care.
`;

export interface Vocab {
  words: string[];
  index: Map<string, number>;
  /** Bigram log-probabilities, row = previous word, smoothed. */
  logits: Float64Array[];
}

function tokenizeWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z]+|[.,:]/g) ?? [];
}

let cached: Vocab | null = null;

export function demoVocab(): Vocab {
  if (cached) return cached;
  const toks = tokenizeWords(CORPUS);
  const words = [...new Set(toks)].sort();
  const index = new Map(words.map((w, i) => [w, i]));
  const V = words.length;
  const counts = words.map(() => new Float64Array(V).fill(0.002));
  for (let i = 1; i < toks.length; i++) counts[index.get(toks[i - 1]!)!]![index.get(toks[i]!)!]! += 1;
  const logits = counts.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((c) => Math.log(c / total));
  });
  cached = { words, index, logits };
  return cached;
}

/** A small seeded PRNG (mulberry32), so that the same request gives the same answer. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedOf(text: string, extra = 0): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) ^ extra;
}

export interface StepLogprobs {
  token: string;
  logprob: number;
  top: Array<{ token: string; logprob: number }>;
}

export interface Generation {
  tokens: string[];
  steps: StepLogprobs[];
  finishReason: 'length' | 'stop';
}

function logSoftmax(x: Float64Array): Float64Array {
  let m = -Infinity;
  for (const v of x) m = Math.max(m, v);
  let s = 0;
  for (const v of x) s += Math.exp(v - m);
  const lse = m + Math.log(s);
  return x.map((v) => v - lse);
}

export interface GenerateOptions {
  prompt: string;
  maxTokens: number;
  temperature: number;
  seed: number;
  logitBias: Record<string, number>;
  topLogprobs: number;
}

export function generate(o: GenerateOptions): Generation {
  const v = demoVocab();
  const rand = prng(o.seed);
  const promptWords = tokenizeWords(o.prompt).filter((w) => v.index.has(w));
  let prev = promptWords.length ? v.index.get(promptWords[promptWords.length - 1]!)! : (o.seed >>> 0) % v.words.length;
  const tokens: string[] = [];
  const steps: StepLogprobs[] = [];
  for (let i = 0; i < o.maxTokens; i++) {
    const raw = Float64Array.from(v.logits[prev]!);
    for (const [id, b] of Object.entries(o.logitBias)) {
      const k = Number(id);
      if (Number.isInteger(k) && k >= 0 && k < raw.length) raw[k]! += Math.max(-100, Math.min(100, b));
    }
    const lp = logSoftmax(raw);
    let next = 0;
    if (o.temperature <= 0) {
      for (let k = 1; k < lp.length; k++) if (lp[k]! > lp[next]!) next = k;
    } else {
      const scaled = logSoftmax(lp.map((x) => x / o.temperature));
      let r = rand();
      for (next = 0; next < scaled.length - 1; next++) {
        r -= Math.exp(scaled[next]!);
        if (r <= 0) break;
      }
    }
    const order = [...lp.keys()].sort((a, b) => lp[b]! - lp[a]!).slice(0, o.topLogprobs);
    steps.push({ token: v.words[next]!, logprob: lp[next]!, top: order.map((k) => ({ token: v.words[k]!, logprob: lp[k]! })) });
    tokens.push(v.words[next]!);
    prev = next;
  }
  return { tokens, steps, finishReason: 'length' };
}

/** Joins word tokens into text, without a space before punctuation. */
export function detokenize(tokens: readonly string[]): string {
  let out = '';
  for (const t of tokens) out += /^[.,:]$/.test(t) || out === '' ? t : ' ' + t;
  return out;
}

export function countTokens(text: string): number {
  return Math.max(1, tokenizeWords(text).length);
}

/** A deterministic unit vector for a text (demo embeddings). */
export function embed(text: string, dims = 64): number[] {
  const rand = prng(seedOf(text));
  const v = Array.from({ length: dims }, () => rand() * 2 - 1);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
