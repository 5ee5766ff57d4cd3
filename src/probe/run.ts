/**
 * `moat probe`: resolves the model, makes one plain request to learn whether the key works, then
 * runs every check in turn (the rate-limit check last, since it uses up the key's quota).
 */
import { authRequired, chatBody, echoWithheld, embeddingsProtected, errorsOpaque, invalidKeyRejected, logitBiasIgnored, logprobsWithheld, nCapped } from './checks.js';
import { BudgetExhausted, errorSummary, ProbeClient } from './http.js';
import { perUserRateLimit } from './rate-limit.js';
import { result, type CheckId, type CheckResult, type ProbeContext } from './types.js';

export interface ProbeOptions {
  baseURL: string;
  apiKey?: string;
  model?: string;
  maxRequests: number;
  rate: number;
  timeoutMs?: number;
}

export interface ProbeReport {
  target: string;
  model: string | null;
  requests: number;
  checks: CheckResult[];
}

const CHECKS: Array<[CheckId, (ctx: ProbeContext) => Promise<CheckResult>]> = [
  ['auth-required', authRequired],
  ['invalid-key-rejected', invalidKeyRejected],
  ['logprobs-withheld', logprobsWithheld],
  ['logit-bias-ignored', logitBiasIgnored],
  ['echo-withheld', echoWithheld],
  ['n-capped', nCapped],
  ['embeddings-protected', embeddingsProtected],
  ['errors-opaque', errorsOpaque],
  ['per-user-rate-limit', perUserRateLimit],
];

export class ProbeError extends Error {}

/** The OpenAI base URL: `http://host:port` becomes `http://host:port/v1`; credentials in the URL are refused. */
export function normalizeBase(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ProbeError(`not a URL: ${raw.slice(0, 100)} (expected e.g. http://127.0.0.1:8080/v1)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ProbeError(`expected an http:// or https:// URL, got ${u.protocol}`);
  if (u.username || u.password) throw new ProbeError('put the key in --api-key, not in the URL');
  u.search = '';
  u.hash = '';
  u.pathname = u.pathname === '/' || u.pathname === '' ? '/v1' : u.pathname.replace(/\/+$/, '');
  return u;
}

export async function runProbe(o: ProbeOptions): Promise<ProbeReport> {
  const base = normalizeBase(o.baseURL);
  const client = new ProbeClient({ baseURL: base, apiKey: o.apiKey, maxRequests: o.maxRequests, rate: o.rate, timeoutMs: o.timeoutMs ?? 20_000 });
  let model = o.model ?? null;
  const ctx: ProbeContext = { client, base, model: model ?? 'unknown-model', hasKey: !!o.apiKey, chatBroken: null };
  try {
    if (!model) {
      const r = await client.send('models');
      const data = (r.json as { data?: Array<{ id?: unknown }> } | null)?.data;
      model = Array.isArray(data) && typeof data[0]?.id === 'string' ? data[0].id : null;
      ctx.model = model ?? ctx.model;
    }
    if (!model) ctx.chatBroken = 'no model given and GET /models listed none; pass --model';
    else {
      const r = await client.send('chat/completions', { body: chatBody(ctx, { max_tokens: 1 }) });
      if (!(r.status >= 200 && r.status < 300)) ctx.chatBroken = `${errorSummary(r)}${o.apiKey ? '' : '; give --api-key'}`;
    }
  } catch (e) {
    throw new ProbeError(`cannot reach ${base.origin}: ${(e as Error).message}`);
  }
  const checks: CheckResult[] = [];
  for (const [id, run] of CHECKS) {
    try {
      checks.push(await run(ctx));
    } catch (e) {
      const why = e instanceof BudgetExhausted ? `the request budget (--max-requests ${e.max}) ran out` : `the check could not complete: ${(e as Error).message}`;
      checks.push(result(id, 'skip', why));
    }
  }
  return { target: base.href, model, requests: client.sent, checks };
}
