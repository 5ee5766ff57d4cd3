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
 * The text a detector looks at. For chat it is what the user role wrote (system prompts are
 * usually the deployment's own and shared by every user, so they would make everybody look
 * templated); for completions the prompt; for embeddings the input.
 */
export function promptText(route: string, body: JsonObject): string {
  if (route === 'chat') {
    const msgs = body.messages;
    if (!Array.isArray(msgs)) return '';
    let out = '';
    for (const m of msgs) {
      if (!m || typeof m !== 'object' || (m as JsonObject).role !== 'user') continue;
      const t = partText((m as JsonObject).content);
      if (t) out += (out ? '\n' : '') + t;
      if (out.length > MAX_TEXT * 2) break;
    }
    return clip(out);
  }
  const v = route === 'embeddings' ? body.input : body.prompt;
  if (typeof v === 'string') return clip(v);
  if (Array.isArray(v)) {
    const strs = v.filter((x): x is string => typeof x === 'string');
    return clip(strs.join('\n'));
  }
  return '';
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
  };
}
