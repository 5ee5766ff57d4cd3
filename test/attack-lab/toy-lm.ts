/**
 * ATTACK LAB. A toy language model with a known hidden size, served over an OpenAI-compatible
 * API that honours `logprobs`, `top_logprobs`, `logit_bias`, `echo`, `n` and streaming exactly,
 * as an unprotected inference server would. Its logits are W·h: W is a fixed V×d matrix and h a
 * d-dimensional hidden state derived from the text so far, so every logit vector lies in a
 * d-dimensional subspace, which is what the hidden-dimension attack measures.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ToyModel {
  vocab: number;
  hidden: number;
  token(i: number): string;
  id(token: string): number | undefined;
  /** Raw logits (W·h) after the given text. */
  logits(text: string): Float64Array;
}

/** A seeded standard-normal generator (mulberry32 + Box-Muller). */
function gaussians(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

export function toyModel(vocab = 64, hidden = 8, seed = 1234): ToyModel {
  const g = gaussians(seed);
  const W = Array.from({ length: vocab }, () => Float64Array.from({ length: hidden }, () => g()));
  const names = Array.from({ length: vocab }, (_, i) => `w${i}`);
  const ids = new Map(names.map((n, i) => [n, i]));
  return {
    vocab,
    hidden,
    token: (i) => names[i]!,
    id: (t) => ids.get(t.trim()),
    logits(text) {
      const hg = gaussians(createHash('sha256').update(text).digest().readUInt32LE(0));
      const h = Float64Array.from({ length: hidden }, () => hg());
      return Float64Array.from(W, (row) => row.reduce((s, w, k) => s + w * h[k]!, 0));
    },
  };
}

export function logSoftmax(z: Float64Array): Float64Array {
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
  return z.map((v) => v - lse);
}

interface Step {
  token: string;
  logprob: number;
  top: Array<[string, number]>;
}

type Json = Record<string, unknown>;

/** One generation: greedy for choice 0, sampled (seeded) for the others, logit_bias applied. */
function generate(m: ToyModel, prompt: string, body: Json, choice: number, k: number): Step[] {
  const bias = (body.logit_bias ?? {}) as Record<string, number>;
  const steps: Step[] = [];
  let text = prompt;
  const rand = gaussians(choice + 1);
  for (let t = 0; t < (typeof body.max_tokens === 'number' ? Math.min(body.max_tokens, 16) : 4); t++) {
    const z = m.logits(text);
    for (const [id, b] of Object.entries(bias)) if (Number(id) >= 0 && Number(id) < m.vocab) z[Number(id)]! += Math.max(-100, Math.min(100, b));
    const lp = logSoftmax(z);
    const order = [...lp.keys()].sort((a, b) => lp[b]! - lp[a]!);
    const pick = choice === 0 ? order[0]! : order[Math.floor(Math.abs(rand()) * 3) % order.length]!;
    steps.push({ token: m.token(pick), logprob: lp[pick]!, top: order.slice(0, k).map((i) => [m.token(i), lp[i]!]) });
    text += ' ' + m.token(pick);
  }
  return steps;
}

/** Prompt-token logprobs for `echo` (the first token has none), as an inference server reports them. */
function promptSteps(m: ToyModel, prompt: string, k: number): Array<Step | null> {
  const words = prompt.split(/\s+/).filter(Boolean);
  return words.map((w, j) => {
    if (j === 0) return null;
    const lp = logSoftmax(m.logits(words.slice(0, j).join(' ')));
    const order = [...lp.keys()].sort((a, b) => lp[b]! - lp[a]!);
    const id = m.id(w);
    return { token: w, logprob: id === undefined ? -100 : lp[id]!, top: order.slice(0, k).map((i) => [m.token(i), lp[i]!] as [string, number]) };
  });
}

const chatLp = (steps: Step[]) => ({ content: steps.map((s) => ({ token: s.token, logprob: s.logprob, bytes: [...Buffer.from(s.token)], top_logprobs: s.top.map(([token, logprob]) => ({ token, logprob, bytes: [...Buffer.from(token)] })) })), refusal: null });
const complLp = (steps: Array<Step | null>, words: string[]) => ({
  tokens: steps.map((s, i) => s?.token ?? words[i]!),
  token_logprobs: steps.map((s) => s?.logprob ?? null),
  top_logprobs: steps.map((s) => (s ? Object.fromEntries(s.top) : null)),
  text_offset: steps.map((_, i) => i),
});

function answer(m: ToyModel, route: 'chat' | 'completions', body: Json): { whole: Json; chunks: Json[] } {
  const prompt = route === 'chat' ? ((body.messages as Json[]) ?? []).map((x) => String(x.content ?? '')).join('\n') : String(body.prompt ?? '');
  const wants = route === 'chat' ? body.logprobs === true : typeof body.logprobs === 'number';
  const k = Math.min(20, Number((route === 'chat' ? body.top_logprobs : body.logprobs) ?? 0));
  const n = typeof body.n === 'number' ? Math.min(body.n, 8) : 1;
  const gens = Array.from({ length: n }, (_, c) => generate(m, prompt, body, c, k));
  const echo = route === 'completions' && body.echo === true ? promptSteps(m, prompt, k) : [];
  const words = prompt.split(/\s+/).filter(Boolean);
  const base = { id: 'toy', object: route === 'chat' ? 'chat.completion' : 'text_completion', created: 0, model: 'toy', system_fingerprint: 'toy-fp' };
  const choices = gens.map((g, index) => {
    const text = (echo.length ? prompt + ' ' : '') + g.map((s) => s.token).join(' ');
    const lp = wants ? (route === 'chat' ? chatLp(g) : complLp([...echo, ...g], [...words, ...g.map((s) => s.token)])) : null;
    return route === 'chat' ? { index, message: { role: 'assistant', content: text }, logprobs: lp, finish_reason: 'length' } : { index, text, logprobs: lp, finish_reason: 'length' };
  });
  const usage = { prompt_tokens: words.length, completion_tokens: gens.reduce((s, g) => s + g.length, 0), total_tokens: 0 };
  const chunks: Json[] = gens.flatMap((g, index) =>
    g.map((s, t) => {
      const stepLp = wants ? (route === 'chat' ? chatLp([s]) : complLp(t === 0 ? [...echo, s] : [s], t === 0 ? [...words, s.token] : [s.token])) : null;
      const c = route === 'chat' ? { index, delta: { content: s.token }, logprobs: stepLp, finish_reason: null } : { index, text: s.token, logprobs: stepLp, finish_reason: null };
      return { ...base, object: route === 'chat' ? 'chat.completion.chunk' : 'text_completion', choices: [c] };
    }),
  );
  chunks.push({ ...base, choices: [], usage });
  return { whole: { ...base, choices, usage }, chunks };
}

/** Starts the toy server on 127.0.0.1; `requests` counts what it answered. */
export async function startToyServer(m: ToyModel): Promise<{ baseURL: string; requests: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      count++;
      const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as Json;
      const route = req.url === '/v1/chat/completions' ? 'chat' : req.url === '/v1/completions' ? 'completions' : null;
      if (!route) {
        res.writeHead(404).end();
        return;
      }
      const a = answer(m, route, body);
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const c of a.chunks) res.write(`data: ${JSON.stringify(c)}\n\n`);
        res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(a.whole));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests: () => count,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
