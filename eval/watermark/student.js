/**
 * A small "student" language model for the radioactivity test: a word trigram model with
 * interpolated absolute discounting (Kneser-Ney style backoff to bigrams and unigrams), trained on
 * instruction/answer pairs and sampled after a held-out instruction. It learns which word follows
 * which, and so it learns, or not, the watermark's keyed word choices.
 */

const TOKEN = /[A-Za-z]+(?:['’][A-Za-z]+)*|[0-9]+|\n|[^\sA-Za-z0-9]/g;
const ANSWER = '<ans>';
const END = '</s>';
const D = 0.75;

export function tokenize(text) {
  return text.match(TOKEN) ?? [];
}

/** Joins tokens back into text: no space before closing punctuation or after an opening bracket. */
export function detokenize(tokens) {
  let out = '';
  for (const t of tokens) {
    if (t === '\n') out = out.trimEnd() + '\n';
    else if (out === '' || out.endsWith('\n') || /^[.,;:!?)\]'’%]/.test(t) || /[([$]$/.test(out)) out += t;
    else out += ' ' + t;
  }
  return out;
}

class Counts {
  constructor() {
    /** @type {Map<string, number>} */
    this.next = new Map();
    this.total = 0;
  }
  add(w) {
    this.next.set(w, (this.next.get(w) ?? 0) + 1);
    this.total++;
  }
  /** Samples from the discounted counts, or returns null (back off) with the leftover mass. */
  sample(r) {
    const kept = this.total - D * this.next.size;
    let x = r * this.total;
    if (x >= kept) return null;
    for (const [w, c] of this.next) {
      x -= c - D;
      if (x < 0) return w;
    }
    return null;
  }
}

export class TrigramModel {
  constructor() {
    this.tri = new Map();
    this.bi = new Map();
    this.uni = new Counts();
  }

  /** Trains on one instruction and its answer. */
  add(instruction, answer) {
    const toks = ['<s>', '<s>', ...tokenize(instruction).slice(-30), ANSWER, ...tokenize(answer), END];
    for (let i = 2; i < toks.length; i++) {
      const [u, v, w] = [toks[i - 2], toks[i - 1], toks[i]];
      const k3 = `${u}\u0001${v}`;
      if (!this.tri.has(k3)) this.tri.set(k3, new Counts());
      this.tri.get(k3).add(w);
      if (!this.bi.has(v)) this.bi.set(v, new Counts());
      this.bi.get(v).add(w);
      this.uni.add(w);
    }
  }

  /**
   * Samples one generation of `tokens` tokens after an instruction. When the model ends an answer
   * early it starts another answer to the same instruction, so every generation has the same length.
   */
  generate(instruction, rand, tokens = 300) {
    const start = ['<s>', '<s>', ...tokenize(instruction).slice(-30), ANSWER];
    let ctx = [...start];
    const out = [];
    while (out.length < tokens) {
      const u = ctx[ctx.length - 2];
      const v = ctx[ctx.length - 1];
      let w = this.tri.get(`${u}\u0001${v}`)?.sample(rand()) ?? null;
      if (w === null) w = this.bi.get(v)?.sample(rand()) ?? null;
      if (w === null) w = this.uni.sample(rand() * 0.999) ?? '.';
      if (w === END) {
        out.push('\n');
        ctx = [...start];
        continue;
      }
      out.push(w);
      ctx.push(w);
    }
    return detokenize(out);
  }
}

/** A seeded PRNG (the demo model's mulberry32) so that runs are repeatable. */
export { prng } from '../../dist/demo/model.js';
