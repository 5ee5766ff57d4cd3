/**
 * Benign and attack traffic built from the shared data: one stream of requests per account,
 * with timestamps (people in sessions by day; scripts at a steady pace with jitter).
 */
import { decode } from 'gpt-tokenizer';
import { rng } from '../../src/detect/hash.js';
import type { Corpus, Part } from './corpus.js';
import { bank, type Bank } from './phrasing.js';

export type Kind =
  | 'benign:few-topics'
  | 'benign:heavy'
  | 'benign:prefix'
  | 'attack:signature'
  | 'attack:template'
  | 'attack:random'
  | 'attack:probe'
  | 'attack:topic'
  | 'attack:mixed'
  | 'attack:split';

export interface Event {
  ts: number;
  principal: string;
  tenant: string;
  ip: string;
  route: 'chat' | 'completions';
  body: Record<string, unknown>;
}

export interface Account {
  principal: string;
  kind: Kind;
  /** The group of a split attack. */
  group?: string;
  events: Event[];
}

type R = () => number;
const pick = <T>(r: R, a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
const int = (r: R, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const START = Date.UTC(2025, 0, 6);
const HOUR = 3_600_000;

function shuffle<T>(r: R, a: T[]): T[] {
  const out = a.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** People: sessions of a few requests a minute or two apart, in the daytime, some days apart. */
function humanTimes(r: R, n: number): number[] {
  const out: number[] = [];
  let t = START + int(r, 0, 72) * HOUR + int(r, 8, 18) * HOUR;
  while (out.length < n) {
    const session = int(r, 1, 14);
    for (let i = 0; i < session && out.length < n; i++) {
      t += Math.exp(Math.log(40_000) + r() * 2.2); // 40 s .. 6 min
      out.push(t);
    }
    const day = Math.floor((t - START) / (24 * HOUR));
    t = r() < 0.6 ? t + int(r, 1, 5) * HOUR : START + (day + int(r, 1, 3)) * 24 * HOUR + int(r, 8, 20) * HOUR;
  }
  return out;
}

/** Scripts: a steady pace with jitter (mean gap 2 s to 2 min), from a random start. */
function scriptTimes(r: R, n: number, meanGapMs?: number): number[] {
  const gap = meanGapMs ?? pick(r, [2_000, 8_000, 30_000, 120_000]);
  let t = START + int(r, 0, 96) * HOUR + r() * HOUR;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    t += gap * Math.exp((r() - 0.5) * 1.5);
    out.push(t);
  }
  return out;
}

const chat = (text: string, extra: Record<string, unknown> = {}) => ({ model: 'm', messages: [{ role: 'user', content: text }], ...extra });
const ip = (r: R) => `${int(r, 11, 220)}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`;
const params = (r: R) => (r() < 0.3 ? { temperature: pick(r, [0, 0.2, 0.7, 1]) } : r() < 0.5 ? { max_tokens: pick(r, [64, 256, 512, 1024]) } : {});

function events(principal: string, tenant: string, r: R, texts: string[], times: number[], extra?: (i: number) => Record<string, unknown>): Event[] {
  const addr = ip(r);
  return texts.map((t, i) => ({ ts: times[i]!, principal, tenant, ip: addr, route: 'chat', body: chat(t, extra ? extra(i) : params(r)) }));
}

/** Prompts close to an anchor prompt (shared content words): a user's "topic". */
function topicPool(r: R, prompts: string[], size: number): string[] {
  const words = (s: string) => new Set(s.toLowerCase().match(/[a-z]{4,}/g) ?? []);
  const anchor = words(pick(r, prompts));
  return prompts
    .map((p) => {
      const w = words(p);
      let inter = 0;
      for (const x of w) if (anchor.has(x)) inter++;
      return { p, s: inter / Math.sqrt(1 + w.size) + r() * 0.05 };
    })
    .sort((a, b) => b.s - a.s)
    .slice(0, size)
    .map((x) => x.p);
}

function contentTask(r: R, c: Corpus, b: Bank): string {
  const para = pick(r, c.paragraphs);
  return r() < 0.5 ? `${para}\n\n${pick(r, b.benignTasks)}` : `${pick(r, b.benignTasks)}\n\n${para}`;
}

export function benignAccounts(part: Part, c: Corpus, count: number, seed: number): Account[] {
  const r = rng(seed);
  const b = bank(part);
  const out: Account[] = [];
  for (let k = 0; k < count; k++) {
    const principal = `${part.slice(0, 3)}-benign-${k}`;
    const tenant = `t${k % 17}`;
    const u = r();
    let kind: Kind;
    let texts: string[];
    if (u < 0.45) {
      kind = 'benign:few-topics';
      const n = int(r, 15, 250);
      // Mostly prompts from three topics (each asked once, as people do), then content tasks.
      const pool = shuffle(r, [...new Set([...topicPool(r, c.prompts, 25), ...topicPool(r, c.prompts, 25), ...topicPool(r, c.prompts, 25)])]);
      texts = Array.from({ length: n }, () => (r() < 0.7 && pool.length ? pool.pop()! : contentTask(r, c, b)));
    } else if (u < 0.75) {
      kind = 'benign:heavy';
      const n = int(r, 300, 1500);
      const order = shuffle(r, c.prompts);
      texts = Array.from({ length: n }, (_, i) => (r() < 0.55 ? order[i % order.length]! : contentTask(r, c, b)));
    } else {
      kind = 'benign:prefix';
      const n = int(r, 40, 600);
      const prefix = pick(r, b.benignPrefixes);
      texts = Array.from({ length: n }, () => (r() < 0.75 ? `${prefix} ${pick(r, c.paragraphs)}` : pick(r, c.prompts)));
    }
    out.push({ principal, kind, events: events(principal, tenant, r, texts, humanTimes(r, texts.length)) });
  }
  return out;
}

/** One request of a distillation pipeline asking for generated training data. */
function generationPrompt(r: R, c: Corpus, b: Bank, fixed: { verb: string; obj: string; purpose: string; format: string } | null, part: Part): string {
  const s = shuffle(r, c.seeds).slice(0, 3);
  if (part === 'report' && fixed === null && r() < 0.3) {
    // The real Alpaca meta-prompt with three seed tasks, as its pipeline sends it.
    const ex = s.map((t, i) => `${i + 1}. Instruction: ${t.instruction}\n${i + 1}. Input:\n${t.input || '<noinput>'}\n${i + 1}. Output:\n${t.output}`).join('\n###\n');
    return `${c.alpacaPrompt}\n###\n${ex}\n###\n4. Instruction:`;
  }
  const f = fixed ?? { verb: pick(r, b.genVerbs), obj: pick(r, b.genObjects), purpose: pick(r, b.genPurposes), format: pick(r, b.genFormats) };
  const n = pick(r, [5, 10, 15, 20, 25, 40]);
  const examples = s.map((t, i) => (r() < 0.5 ? `Task ${i + 1}: ${t.instruction}` : `Example ${i + 1}:\n${t.instruction}\n${t.input ? `Input: ${t.input}\n` : ''}Output: ${t.output}`)).join('\n');
  return `${f.verb} ${n} ${f.obj} ${f.purpose}. ${f.format}\n\n${r() < 0.5 ? 'Here are some examples:' : 'For instance:'}\n${examples}`;
}

function randomTokens(r: R, variant: number): string {
  const n = int(r, 8, 64);
  if (variant === 0) return decode(Array.from({ length: n }, () => int(r, 100, 100_000)));
  // Random words from real prompts: shaped like language, with no sense.
  return Array.from({ length: n }, () => String(Math.floor(r() * 1e9).toString(36))).join(' ');
}

function topicQuestions(r: R, c: Corpus, b: Bank, n: number): string[] {
  const instrs = [...c.answers.keys()];
  const anchor = topicPool(r, instrs, 40);
  const sentences: string[] = [];
  for (const i of anchor)
    for (const a of c.answers.get(i) ?? [])
      for (const s of a.split(/(?<=[.!?])\s+/)) {
        const w = s.split(/\s+/).length;
        if (w >= 8 && w <= 40) sentences.push(s.replace(/^[-*\d.\s]+/, ''));
      }
  const pool = shuffle(r, sentences);
  return Array.from({ length: n }, (_, i) => pick(r, b.topicQuestions).replace('{x}', pool[i % Math.max(1, pool.length)] ?? ''));
}

export function attackAccounts(part: Part, c: Corpus, perType: number, seed: number): Account[] {
  const r = rng(seed);
  const b = bank(part);
  const out: Account[] = [];
  const acct = (kind: Kind, k: number, texts: string[], times: number[], extra?: (i: number) => Record<string, unknown>, group?: string) => {
    const principal = `${part.slice(0, 3)}-${kind.slice(7)}-${k}`;
    out.push({ principal, kind, ...(group ? { group } : {}), events: events(principal, `t${(k * 7) % 17}`, r, texts, times, extra) });
  };
  const gen = (k: number, n: number) => {
    // A third of the pipelines reword every request; others keep one wording; some harvest chain-of-thought.
    const style = k % 3;
    const fixed = style === 0 ? { verb: pick(r, b.genVerbs), obj: pick(r, b.genObjects), purpose: pick(r, b.genPurposes), format: pick(r, b.genFormats) } : null;
    const cot = pick(r, b.cot);
    return Array.from({ length: n }, () => (style === 2 ? `${pick(r, c.prompts)}\n\n${cot}` : generationPrompt(r, c, b, fixed, part)));
  };
  for (let k = 0; k < perType; k++) {
    acct('attack:signature', k, gen(k, 200), scriptTimes(r, 200));
    const file = c.templated[k % c.templated.length]!;
    acct('attack:template', k, shuffle(r, file.rows), scriptTimes(r, file.rows.length));
    acct('attack:random', k, Array.from({ length: 200 }, () => randomTokens(r, k % 2)), scriptTimes(r, 200));
    const probeStyle = k % 3;
    acct('attack:probe', k, Array.from({ length: 200 }, () => (probeStyle === 2 ? randomTokens(r, 0) : pick(r, c.prompts))), scriptTimes(r, 200), () => ({
      max_tokens: 1,
      temperature: 0,
      ...(probeStyle === 0 ? { logit_bias: { [String(int(r, 100, 100_000))]: 100 } } : { logprobs: true, top_logprobs: 5 }),
    }));
    acct('attack:topic', k, topicQuestions(r, c, b, 1500), scriptTimes(r, 1500));
    const half = (i: number, atk: string[]) => (i % 2 === 0 ? atk[i]! : pick(r, c.prompts));
    const mixKind = k % 3;
    const atk = mixKind === 0 ? gen(k, 1500) : mixKind === 1 ? topicQuestions(r, c, b, 1500) : Array.from({ length: 1500 }, (_, i) => c.templated[(k + 1) % c.templated.length]!.rows[i % 200]!);
    acct('attack:mixed', k, Array.from({ length: 1500 }, (_, i) => half(i, atk)), scriptTimes(r, 1500));
  }
  // One generation pipeline (one wording, 1,000 requests) split across 10 accounts.
  const texts = gen(0, 1000);
  const times = scriptTimes(r, texts.length, 3_000);
  for (let a = 0; a < 10; a++) {
    const mine = texts.filter((_, i) => i % 10 === a);
    const t = times.filter((_, i) => i % 10 === a);
    acct('attack:split', a, mine, t, undefined, `${part}-split`);
  }
  return out;
}
