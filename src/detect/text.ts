/**
 * What detection reads from a request: the prompt text the caller wrote and the sampling
 * parameters that matter for logit probing. Pure functions over the client's JSON body.
 */
import type { JsonObject } from '../pipeline/context.js';

/** Longest prompt text analysed; longer prompts keep their head and tail (templates live there). */
export const MAX_TEXT = 4096;

/** The sampling parameters read from a request, as the client sent them (before policy). */
export interface ProbeParams {
  maxTokens: number | null;
  temperature: number | null;
  logprobs: boolean;
  logitBias: boolean;
  echo: boolean;
  /** The prompt was given as token ids rather than text. */
  tokenPrompt: boolean;
  /** Assistant turns before the last user message (0: a self-contained, single-turn request). */
  priorTurns: number;
}

function partText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const p of content) {
    if (p && typeof p === 'object' && typeof (p as JsonObject).text === 'string') out += (out ? '\n' : '') + ((p as JsonObject).text as string);
  }
  return out;
}

function clip(s: string): string {
  if (s.length <= MAX_TEXT) return s;
  const half = MAX_TEXT / 2;
  return s.slice(0, half) + '\n' + s.slice(s.length - half);
}

/**
 * The text a detector looks at. For chat it is the last message the user role wrote: the new
 * query (earlier turns were observed when they were new, and re-reading them would make every
 * conversation look like near-duplicates); system prompts are usually the deployment's own and
 * shared by every user. For completions the prompt; for embeddings the input.
 */
export function promptText(route: string, body: JsonObject): string {
  if (route === 'chat') {
    const msgs = body.messages;
    if (!Array.isArray(msgs)) return '';
    for (let i = msgs.length - 1; i >= 0; i--) {
      const m = msgs[i] as JsonObject | null;
      if (m && typeof m === 'object' && m.role === 'user') return clip(partText(m.content));
    }
    return '';
  }
  const v = route === 'embeddings' ? body.input : body.prompt;
  if (typeof v === 'string') return clip(v);
  if (Array.isArray(v)) {
    const strs = v.filter((x): x is string => typeof x === 'string');
    return clip(strs.join('\n'));
  }
  return '';
}

function priorTurns(route: string, body: JsonObject): number {
  const msgs = body.messages;
  if (route !== 'chat' || !Array.isArray(msgs)) return 0;
  let turns = 0;
  let lastUser = -1;
  for (let i = msgs.length - 1; i >= 0 && lastUser < 0; i--) if ((msgs[i] as JsonObject | null)?.role === 'user') lastUser = i;
  for (let i = 0; i < lastUser; i++) {
    const role = (msgs[i] as JsonObject | null)?.role;
    if (role === 'assistant' || role === 'tool' || role === 'function') turns++;
  }
  return turns;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Reads the parameters that logit-extraction attacks lean on. */
export function probeParams(route: string, body: JsonObject): ProbeParams {
  const lb = body.logit_bias;
  const prompt = route === 'embeddings' ? body.input : body.prompt;
  return {
    maxTokens: num(body.max_tokens) ?? num(body.max_completion_tokens),
    temperature: num(body.temperature),
    logprobs: (body.logprobs !== undefined && body.logprobs !== null && body.logprobs !== false) || num(body.top_logprobs) !== null,
    logitBias: !!lb && typeof lb === 'object' && Object.keys(lb).length > 0,
    echo: body.echo === true,
    tokenPrompt: Array.isArray(prompt) && prompt.length > 0 && (typeof prompt[0] === 'number' || Array.isArray(prompt[0])),
    priorTurns: priorTurns(route, body),
  };
}
