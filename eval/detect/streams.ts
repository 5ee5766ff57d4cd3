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
  | 'benign:service'
  | 'info:integration'
  | 'attack:topic-paced'
  | 'attack:signature'
  | 'attack:template'
  | 'attack:random'
  | 'attack:probe'
  | 'attack:topic'
  | 'attack:mixed'
  | 'attack:split'
  | 'attack:split-small';

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

/** Request times, and whether each request opens a session (a new conversation). */
interface Times {
  ts: number[];
  opens: boolean[];
}

/** People: sessions of a few requests a minute or two apart, in the daytime, some days apart. */
function humanTimes(r: R, n: number): Times {
  const ts: number[] = [];
  const opens: boolean[] = [];
  let t = START + int(r, 0, 72) * HOUR + int(r, 8, 18) * HOUR;
  while (ts.length < n) {
    const session = int(r, 1, 14);
    for (let i = 0; i < session && ts.length < n; i++) {
      t += Math.exp(Math.log(40_000) + r() * 2.2); // 40 s .. 6 min
      ts.push(t);
      opens.push(i === 0);
    }
    const day = Math.floor((t - START) / (24 * HOUR));
    t = r() < 0.6 ? t + int(r, 1, 5) * HOUR : START + (day + int(r, 1, 3)) * 24 * HOUR + int(r, 8, 20) * HOUR;
  }
  return { ts, opens };
}

/**
 * Heavy users work days: on most weekdays (and some weekend days) two to five sessions between
 * 7:00 and 23:00, each of 5 to 40 requests (power users: 20 to 60, at a brisker pace), with
 * breaks of half an hour to three hours between sessions.
 */
function heavyTimes(r: R, n: number, power: boolean): Times {
  const ts: number[] = [];
  const opens: boolean[] = [];
  let day = int(r, 0, 3);
  while (ts.length < n) {
    const weekday = day % 7 < 5; // START is a Monday
    if (r() < (weekday ? 0.85 : 0.3)) {
      let t = START + day * 24 * HOUR + (7 + r() * 4) * HOUR;
      const sessions = int(r, 2, 5);
      for (let s = 0; s < sessions && ts.length < n; s++) {
        const len = power ? int(r, 20, 60) : int(r, 5, 40);
        for (let i = 0; i < len && ts.length < n; i++) {
          // Reading an answer and typing the next prompt: 20 s to several minutes.
          t += (power ? 20_000 : 30_000) - Math.log(1 - r()) * (power ? 50_000 : 90_000);
          ts.push(t);
          opens.push(i === 0 || r() < 0.15);
        }
        t += (0.5 + r() * 2.5) * HOUR;
        if (t > START + day * 24 * HOUR + 23 * HOUR) break;
      }
    }
    day++;
  }
  return { ts, opens };
}

/**
 * A chat front-end's backend key: many end users multiplexed, so requests arrive as a Poisson
 * process around the clock, busier by day (the rate swings between 30% and 100% of its peak).
 */
function serviceTimes(r: R, n: number, peakPerHour: number): number[] {
  const out: number[] = [];
  let t = START + int(r, 0, 48) * HOUR;
  while (out.length < n) {
    t += (-Math.log(1 - r()) / peakPerHour) * HOUR;
    const hour = (t / HOUR) % 24;
    const rate = 0.3 + 0.7 * Math.max(0, Math.sin(((hour - 6) / 24) * 2 * Math.PI));
    if (r() < rate) out.push(t); // thinning
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

const ip = (r: R) => `${int(r, 11, 220)}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`;
const params = (r: R) => (r() < 0.3 ? { temperature: pick(r, [0, 0.2, 0.7, 1]) } : r() < 0.5 ? { max_tokens: pick(r, [64, 256, 512, 1024]) } : {});

/** A chat message; a request is a new prompt alone, or the earlier turns of its conversation then the new user message. */
interface Msg {
  role: 'user' | 'assistant';
  content: string;
}
type Request = string | Msg[];

const body = (req: Request, extra: Record<string, unknown>) => ({ model: 'm', messages: typeof req === 'string' ? [{ role: 'user', content: req }] : req, ...extra });

function events(principal: string, tenant: string, r: R, reqs: Request[], times: number[], extra?: (i: number) => Record<string, unknown>): Event[] {
  const addr = ip(r);
  return reqs.map((q, i) => ({ ts: times[i]!, principal, tenant, ip: addr, route: 'chat', body: body(q, extra ? extra(i) : params(r)) }));
}

/** A real answer to a prompt when the data has one (else a real answer paragraph): the assistant turn of a conversation. */
function answerTo(r: R, c: Corpus, prompt: string): string {
  const list = c.answers.get(prompt);
  const a = list?.length ? pick(r, list) : pick(r, c.paragraphs);
  return a.length > 1500 ? a.slice(0, 1500) : a;
}

/** A follow-up message that refers back to the user's previous message. */
function followUp(r: R, b: Bank, prev: string): string {
  const words = prev.match(/[A-Za-z]{5,}/g) ?? ['that'];
  return pick(r, b.followUps).replace('{w}', pick(r, words).toLowerCase());
}

/**
 * Turns a stream of new prompts into conversations: a request that does not open a session
 * follows up on the current conversation with probability `pFollow` (the history holds the
 * earlier turns, with real answers), otherwise it starts a new one; 3% resend the previous
 * request unchanged ("regenerate").
 */
function converse(r: R, c: Corpus, b: Bank, fresh: () => string, opens: boolean[], pFollow: number): Request[] {
  const out: Request[] = [];
  let history: Msg[] = [];
  for (let i = 0; i < opens.length; i++) {
    if (i > 0 && !opens[i] && r() < 0.03) {
      out.push(out[i - 1]!);
      continue;
    }
    if (history.length > 0 && !opens[i] && r() < pFollow) {
      const prev = history[history.length - 1]!.content;
      history = [...history.slice(-5), { role: 'assistant', content: answerTo(r, c, prev) }, { role: 'user', content: followUp(r, b, prev) }];
    } else history = [{ role: 'user', content: fresh() }];
    out.push(history.length === 1 ? history[0]!.content : history);
  }
  return out;
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

/**
 * Benign accounts: people on a few topics (45%), heavy users (28%), people who reuse a short
 * instruction prefix (22%), chat front-end backends (5%). Single-turn automated integrations
 * are built apart (`integrationAccounts`).
 */
export function benignAccounts(part: Part, c: Corpus, count: number, seed: number): Account[] {
  const r = rng(seed);
  const b = bank(part);
  const out: Account[] = [];
  for (let k = 0; k < count; k++) {
    const principal = `${part.slice(0, 3)}-benign-${k}`;
    const tenant = `t${k % 17}`;
    const u = r();
    let kind: Kind;
    let reqs: Request[];
    let ts: number[];
    if (u < 0.45) {
      kind = 'benign:few-topics';
      const n = int(r, 15, 250);
      // Mostly prompts from three topics (each asked once, as people do), then content tasks.
      const pool = shuffle(r, [...new Set([...topicPool(r, c.prompts, 25), ...topicPool(r, c.prompts, 25), ...topicPool(r, c.prompts, 25)])]);
      const times = humanTimes(r, n);
      reqs = converse(r, c, b, () => (r() < 0.7 && pool.length ? pool.pop()! : contentTask(r, c, b)), times.opens, 0.35);
      ts = times.ts;
    } else if (u < 0.73) {
      kind = 'benign:heavy';
      const n = int(r, 300, 1500);
      // Two home domains asked about again and again, the rest anything, and pasted content.
      const domains = [...topicPool(r, c.prompts, 60), ...topicPool(r, c.prompts, 60)];
      const order = shuffle(r, c.prompts);
      let j = 0;
      const times = heavyTimes(r, n, r() < 0.25);
      reqs = converse(r, c, b, () => (r() < 0.45 ? pick(r, domains) : r() < 0.6 ? order[j++ % order.length]! : contentTask(r, c, b)), times.opens, 0.3);
      ts = times.ts;
    } else if (u < 0.95) {
      kind = 'benign:prefix';
      const n = int(r, 40, 600);
      const prefix = pick(r, b.benignPrefixes);
      const times = humanTimes(r, n);
      reqs = converse(r, c, b, () => (r() < 0.75 ? `${prefix} ${pick(r, c.paragraphs)}` : pick(r, c.prompts)), times.opens, 0.1);
      ts = times.ts;
    } else {
      kind = 'benign:service';
      const n = int(r, 800, 1500);
      ts = serviceTimes(r, n, int(r, 20, 120));
      // Chats average two to three turns: 40% to 70% of requests continue a conversation.
      reqs = serviceConversations(r, c, b, n, 0.4 + 0.3 * r());
    }
    out.push({ principal, kind, events: events(principal, tenant, r, reqs, ts) });
  }
  return out;
}

/** Many end users' chats through one key: a share `pFollow` of requests continue one of the open conversations. */
function serviceConversations(r: R, c: Corpus, b: Bank, n: number, pFollow: number): Request[] {
  const open: Msg[][] = [];
  const out: Request[] = [];
  for (let i = 0; i < n; i++) {
    if (open.length > 0 && r() < pFollow) {
      const k = Math.floor(r() * open.length);
      const h = open[k]!;
      const prev = h[h.length - 1]!.content;
      open[k] = [...h.slice(-5), { role: 'assistant', content: answerTo(r, c, prev) }, { role: 'user', content: followUp(r, b, prev) }];
      out.push(open[k]!);
    } else {
      const fresh = r() < 0.8 ? pick(r, c.prompts) : contentTask(r, c, b);
      open.push([{ role: 'user', content: fresh }]);
      if (open.length > 20) open.shift();
      out.push(fresh);
    }
  }
  return out;
}

/**
 * Single-turn automated integrations (an app that sends each of its users' questions on its
 * own, around the clock): by traffic shape they are harvesters, and Moat expects operators to
 * allow-list them. Reported apart from the benign accounts so that this cost stays visible.
 */
export function integrationAccounts(part: Part, c: Corpus, count: number, seed: number): Account[] {
  const r = rng(seed);
  const b = bank(part);
  return Array.from({ length: count }, (_, k) => {
    const principal = `${part.slice(0, 3)}-integration-${k}`;
    const n = int(r, 800, 1500);
    const reqs = Array.from({ length: n }, () => (r() < 0.8 ? pick(r, c.prompts) : contentTask(r, c, b)));
    return { principal, kind: 'info:integration' as const, events: events(principal, `t${k % 17}`, r, reqs, serviceTimes(r, n, int(r, 20, 120))) };
  });
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
    // The same harvest paced like a heavy user (working-day sessions): no target, it shows what the pace evidence is worth.
    acct('attack:topic-paced', k, topicQuestions(r, c, b, 1500), heavyTimes(r, 1500, true).ts);
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
  // One template over a corpus split across 10 accounts that send 10 requests each: too few
  // for any account to be flagged on its own; only the cluster shows the whole.
  const file = c.templated[c.templated.length - 1]!;
  const rows = shuffle(r, file.rows).slice(0, 100);
  const small = scriptTimes(r, rows.length, 20_000);
  for (let a = 0; a < 10; a++) {
    acct(
      'attack:split-small',
      a,
      rows.filter((_, i) => i % 10 === a),
      small.filter((_, i) => i % 10 === a),
      undefined,
      `${part}-split-small`,
    );
  }
  return out;
}
