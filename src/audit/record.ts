/**
 * What one audit record holds, built from a finished request context. Pure logic.
 * The record never carries a credential: only the key id.
 */
import { createHash } from 'node:crypto';
import { elapsedMs, type JsonObject, type Outcome, type RequestContext, type Route } from '../pipeline/context.js';

export type PromptMode = 'full' | 'hash' | 'redacted';

export interface AuditRecord {
  kind: 'request' | 'admin';
  ts: string;
  requestId: string;
  principal: string | null;
  tenant: string | null;
  keyId: string | null;
  sourceIp: string;
  route: string;
  model: string | null;
  stream: boolean;
  /** The request's parameters, without the prompt. */
  params: JsonObject;
  /** The prompt (messages, prompt or input) as configured: full, a SHA-256 hash, or redacted. */
  prompt: unknown;
  promptMode: PromptMode;
  outcome: Outcome | 'ok' | 'failed';
  status: number;
  errorCode: string | null;
  rules: string[];
  promptTokens: number | null;
  completionTokens: number | null;
  outputBytes: number;
  latencyMs: number;
  risk: number | null;
}

export const PROMPT_FIELD: Record<Route, string> = { chat: 'messages', completions: 'prompt', embeddings: 'input' };

export function keepPrompt(value: unknown, mode: PromptMode): unknown {
  if (value === undefined) return null;
  if (mode === 'full') return value;
  const text = JSON.stringify(value);
  if (mode === 'hash') return { sha256: createHash('sha256').update(text).digest('hex') };
  return { redacted: true, chars: text.length };
}

/** Longest serialized parameter value kept whole; a longer one (a huge logit_bias map) is summarized. */
export const MAX_PARAM_CHARS = 16_384;
/** Most parameters kept per record. */
export const MAX_PARAMS = 128;

/**
 * The request's parameters without the prompt. A value too large to keep is replaced by
 * `{truncated: true, chars, sha256}`, so one request cannot bloat the log by megabytes of
 * parameters while the record still proves what was sent.
 */
export function boundedParams(body: JsonObject, promptField: string, maxChars = MAX_PARAM_CHARS): JsonObject {
  const params: JsonObject = {};
  let kept = 0;
  const keys = Object.keys(body);
  for (const k of keys) {
    if (k === promptField) continue;
    // A refused body can carry any number of made-up fields; keep the first ones and count the rest.
    if (++kept > MAX_PARAMS || k.length > 256) {
      params['(more fields)'] = keys.length - kept + 1;
      break;
    }
    const v = body[k];
    if (typeof v === 'object' && v !== null) {
      const text = JSON.stringify(v);
      params[k] = text.length > maxChars ? { truncated: true, chars: text.length, sha256: createHash('sha256').update(text).digest('hex') } : v;
    } else if (typeof v === 'string' && v.length > maxChars) {
      params[k] = { truncated: true, chars: v.length, sha256: createHash('sha256').update(v).digest('hex') };
    } else params[k] = v;
  }
  return params;
}

export function requestRecord(ctx: RequestContext, mode: PromptMode): AuditRecord {
  const field = PROMPT_FIELD[ctx.route];
  const params = boundedParams(ctx.body, field);
  return {
    kind: 'request',
    ts: new Date(ctx.startedAt).toISOString(),
    requestId: ctx.id,
    principal: ctx.identity?.principal ?? null,
    tenant: ctx.identity?.tenant ?? null,
    keyId: ctx.identity?.keyId ?? null,
    sourceIp: ctx.sourceIp,
    route: ctx.route,
    model: ctx.model?.name ?? (typeof ctx.body.model === 'string' ? ctx.body.model.slice(0, 128) : null),
    stream: ctx.stream,
    params,
    prompt: keepPrompt(ctx.body[field], mode),
    promptMode: mode,
    outcome: ctx.outcome,
    status: ctx.status,
    errorCode: ctx.error?.code ?? null,
    rules: ctx.rules,
    promptTokens: ctx.usage?.promptTokens ?? null,
    completionTokens: ctx.usage?.completionTokens ?? null,
    outputBytes: ctx.outputBytes,
    latencyMs: Math.round(elapsedMs(ctx) * 1000) / 1000,
    risk: ctx.risk,
  };
}
