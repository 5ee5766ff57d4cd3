/**
 * Token reservation before forwarding: the prompt counted with a real BPE tokenizer, plus the
 * output budget (max_tokens, lowered to the request policy's cap, times the number of choices).
 * The tokenizer rarely equals the upstream model's own, so the reservation is settled to the
 * upstream's reported usage afterwards (see settle.ts); counting only has to be close.
 */
import type { JsonObject, Route } from '../pipeline/context.js';

export type CountTokens = (text: string) => number;

/** Chat formats wrap each message in a few tokens of markup, and prime the answer with a few more. */
const PER_MESSAGE = 4;
const REPLY_PRIMING = 3;

function countContent(content: unknown, count: CountTokens): number {
  if (typeof content === 'string') return count(content);
  if (!Array.isArray(content)) return content == null ? 0 : count(JSON.stringify(content));
  let n = 0;
  for (const part of content) {
    const p = part as { type?: unknown; text?: unknown };
    n += p.type === 'text' && typeof p.text === 'string' ? count(p.text) : count(JSON.stringify(part));
  }
  return n;
}

/** Prompt tokens of a validated request body. Token-id prompts are counted by length. */
export function countPromptTokens(route: Route, body: JsonObject, count: CountTokens): number {
  if (route === 'chat') {
    let n = REPLY_PRIMING;
    for (const m of body.messages as Array<Record<string, unknown>>) {
      n += PER_MESSAGE + countContent(m.content, count);
      for (const k in m) if (k !== 'content' && k !== 'role' && m[k] != null) n += count(typeof m[k] === 'string' ? m[k] : JSON.stringify(m[k]));
    }
    for (const k of ['tools', 'functions', 'response_format'] as const) if (body[k] !== undefined) n += count(JSON.stringify(body[k]));
    return n;
  }
  const input = route === 'embeddings' ? body.input : body.prompt;
  if (typeof input === 'string') return count(input);
  let n = 0;
  for (const item of input as unknown[]) {
    if (typeof item === 'string') n += count(item);
    else if (typeof item === 'number') n += 1;
    else if (Array.isArray(item)) n += item.length;
  }
  return n;
}

export interface OutputBudget {
  /** Completion tokens per choice that the upstream will be held to. */
  perChoice: number;
  choices: number;
  /** Which field carries the budget upstream. */
  field: 'max_tokens' | 'max_completion_tokens';
  /** True when the client asked for more than the cap (or nothing) and the budget was set by Moat. */
  lowered: boolean;
}

/** OpenAI's own default for legacy completions; kept so a request without max_tokens behaves the same. */
const COMPLETIONS_DEFAULT = 16;

export function outputBudget(route: Route, body: JsonObject, cfg: { default: number; cap: number }): OutputBudget | null {
  if (route === 'embeddings') return null;
  const field = route === 'chat' && typeof body.max_completion_tokens === 'number' ? 'max_completion_tokens' : 'max_tokens';
  const asked = body[field];
  const fallback = route === 'completions' ? Math.min(COMPLETIONS_DEFAULT, cfg.cap) : Math.min(cfg.default, cfg.cap);
  const perChoice = typeof asked === 'number' ? Math.min(asked, cfg.cap) : fallback;
  const n = typeof body.n === 'number' ? body.n : 1;
  const bestOf = route === 'completions' && typeof body.best_of === 'number' ? body.best_of : 1;
  return { perChoice, choices: Math.max(n, bestOf), field, lowered: typeof asked !== 'number' || asked > cfg.cap };
}

let loading: Promise<CountTokens> | null = null;

/**
 * The tokenizer (cl100k_base from gpt-tokenizer), loaded once on first use: loading takes a
 * few hundred ms, so a gateway with token limits in its defaults starts loading it at boot.
 */
export function loadTokenizer(): Promise<CountTokens> {
  // Special-token markup in a prompt is counted as plain text: the default would throw on it.
  const asText = { disallowedSpecial: new Set<string>() };
  loading ??= import('gpt-tokenizer/encoding/cl100k_base').then((m) => (text: string) => m.countTokens(text, asText));
  return loading;
}
