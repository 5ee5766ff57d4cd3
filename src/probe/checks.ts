/**
 * The black-box checks of a live OpenAI-compatible endpoint, except the rate-limit check (see
 * rate-limit.ts). Each sends a few small requests and judges the answers with judge.ts.
 */
import { randomBytes } from 'node:crypto';
import { errorSummary, type ProbeResponse } from './http.js';
import { choiceCount, COARSE_DECIMALS, countLogprobs, decimalsNeeded, embeddingVectors, errorLeaks, textOf } from './judge.js';
import { result, type CheckResult, type ProbeContext } from './types.js';

const PROMPT = 'Describe a castle in one sentence.';

export const chatBody = (ctx: ProbeContext, extra: Record<string, unknown> = {}) => ({ model: ctx.model, messages: [{ role: 'user', content: PROMPT }], max_tokens: 8, ...extra });

const ok = (r: ProbeResponse) => r.status >= 200 && r.status < 300;
const refused = (r: ProbeResponse) => r.status >= 400 && r.status < 500 && r.status !== 429;
const limited = (r: ProbeResponse) => r.status === 429;

/** Checks that need a working chat with the key are skipped, with the reason, when there is none. */
function needsChat(ctx: ProbeContext, id: Parameters<typeof result>[0]): CheckResult | null {
  return ctx.chatBroken ? result(id, 'skip', `a plain chat request with the given key did not succeed (${ctx.chatBroken}), so this check cannot run`) : null;
}
const rateLimitedSkip = (id: Parameters<typeof result>[0], r: ProbeResponse) => result(id, 'skip', `the endpoint answered 429 (rate limited) before the check could run; rerun later or with a key that has room (${errorSummary(r)})`);

export async function authRequired(ctx: ProbeContext): Promise<CheckResult> {
  const r = await ctx.client.send('chat/completions', { body: chatBody(ctx, { max_tokens: 1 }), auth: 'none' });
  if (r.status === 401 || r.status === 403) return result('auth-required', 'pass', `a chat request without credentials was refused: ${errorSummary(r)}`);
  if (ok(r)) return result('auth-required', 'fail', `a chat request without any credentials was answered (${r.status}, ${choiceCount(r.json)} choice(s)): anyone who finds the URL can query the model`);
  return result('auth-required', 'skip', `a chat request without credentials got ${errorSummary(r)}, neither an answer nor an authentication error`);
}

export async function invalidKeyRejected(ctx: ProbeContext): Promise<CheckResult> {
  // A key of the same shape as the real one (same prefix and length) but random, so a format check alone does not pass it.
  const real = ctx.client.o.apiKey ?? 'sk-';
  const prefix = /^[a-z]+[_-]/i.exec(real)?.[0] ?? 'sk-';
  const fake = (prefix + randomBytes(48).toString('base64url')).slice(0, Math.max(real.length, 40));
  const r = await ctx.client.send('chat/completions', { body: chatBody(ctx, { max_tokens: 1 }), auth: { bearer: fake } });
  if (r.status === 401 || r.status === 403) return result('invalid-key-rejected', 'pass', `a made-up key was refused: ${errorSummary(r)}`);
  if (ok(r)) return result('invalid-key-rejected', 'fail', `a made-up key (${prefix}... of ${fake.length} characters) was accepted (${r.status}): keys are not verified`);
  return result('invalid-key-rejected', 'skip', `a made-up key got ${errorSummary(r)}, neither an answer nor an authentication error`);
}

export async function logprobsWithheld(ctx: ProbeContext): Promise<CheckResult> {
  const skip = needsChat(ctx, 'logprobs-withheld');
  if (skip) return skip;
  const tries: Array<[string, string, Record<string, unknown>]> = [
    ['chat', 'chat/completions', chatBody(ctx, { logprobs: true, top_logprobs: 5 })],
    ['streamed chat', 'chat/completions', chatBody(ctx, { logprobs: true, top_logprobs: 5, stream: true })],
    ['completions', 'completions', { model: ctx.model, prompt: PROMPT, max_tokens: 8, logprobs: 5 }],
  ];
  const seen: string[] = [];
  for (const [name, path, body] of tries) {
    const r = await ctx.client.send(path, { body });
    if (limited(r)) return rateLimitedSkip('logprobs-withheld', r);
    if (r.status === 404 && name === 'completions') continue;
    const n = countLogprobs(r.json) + r.events.reduce<number>((a, e) => a + countLogprobs(e), 0);
    if (ok(r) && n > 0) return result('logprobs-withheld', 'fail', `${name} with logprobs=true, top_logprobs=5 returned ${n} log-probability values`);
    seen.push(`${name}: ${ok(r) ? `${r.status} without logprobs` : `refused ${errorSummary(r)}`}`);
  }
  return result('logprobs-withheld', 'pass', seen.join('; '));
}

export async function logitBiasIgnored(ctx: ProbeContext): Promise<CheckResult> {
  const skip = needsChat(ctx, 'logit-bias-ignored');
  if (skip) return skip;
  const fixed = { temperature: 0, seed: 7, max_tokens: 12 };
  const bias = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i + 1), 100]));
  const base = await ctx.client.send('chat/completions', { body: chatBody(ctx, fixed) });
  if (limited(base)) return rateLimitedSkip('logit-bias-ignored', base);
  const biased = await ctx.client.send('chat/completions', { body: chatBody(ctx, { ...fixed, logit_bias: bias }) });
  if (limited(biased)) return rateLimitedSkip('logit-bias-ignored', biased);
  if (refused(biased)) return result('logit-bias-ignored', 'pass', `a request with logit_bias (+100 on token ids 1-10) was refused: ${errorSummary(biased)}`);
  if (!ok(base) || !ok(biased)) return result('logit-bias-ignored', 'skip', `could not compare answers (${errorSummary(base)} / ${errorSummary(biased)})`);
  const a = textOf(base.json);
  const b = textOf(biased.json);
  if (a === b) return result('logit-bias-ignored', 'pass', `logit_bias of +100 on token ids 1-10 had no effect at temperature 0: both answers were ${JSON.stringify(a.slice(0, 60))}`);
  // A second unbiased answer tells a real effect apart from an endpoint that is not deterministic.
  const control = await ctx.client.send('chat/completions', { body: chatBody(ctx, fixed) });
  if (ok(control) && textOf(control.json) === a) {
    return result('logit-bias-ignored', 'fail', `logit_bias changed the answer at temperature 0 (two unbiased answers agree): ${JSON.stringify(a.slice(0, 50))} became ${JSON.stringify(b.slice(0, 50))}`);
  }
  return result('logit-bias-ignored', 'skip', 'the endpoint gives different answers to the same request at temperature 0 and seed 7, so the effect of logit_bias cannot be measured');
}

export async function echoWithheld(ctx: ProbeContext): Promise<CheckResult> {
  const skip = needsChat(ctx, 'echo-withheld');
  if (skip) return skip;
  const marker = `moat probe marker ${randomBytes(4).toString('hex')}`;
  const r = await ctx.client.send('completions', { body: { model: ctx.model, prompt: marker, echo: true, max_tokens: 4 } });
  if (limited(r)) return rateLimitedSkip('echo-withheld', r);
  if (r.status === 404 && !/model/i.test(r.text)) return result('echo-withheld', 'skip', 'the legacy /completions route is not served (404), so echo cannot be asked for');
  if (refused(r)) return result('echo-withheld', 'pass', `a completion with echo=true was refused: ${errorSummary(r)}`);
  if (!ok(r)) return result('echo-withheld', 'skip', `a completion with echo=true got ${errorSummary(r)}`);
  if (textOf(r.json).includes(marker)) return result('echo-withheld', 'fail', `echo=true returned the prompt in the completion (${JSON.stringify(textOf(r.json).slice(0, 60))})${countLogprobs(r.json) > 0 ? ', with log-probabilities' : ''}`);
  return result('echo-withheld', 'pass', `a completion with echo=true was answered without the prompt (${r.status})`);
}

export async function nCapped(ctx: ProbeContext): Promise<CheckResult> {
  const skip = needsChat(ctx, 'n-capped');
  if (skip) return skip;
  const asked = 16;
  const r = await ctx.client.send('chat/completions', { body: chatBody(ctx, { n: asked, max_tokens: 1 }) });
  if (limited(r)) return rateLimitedSkip('n-capped', r);
  if (refused(r)) return result('n-capped', 'pass', `a chat request with n=${asked} was refused: ${errorSummary(r)}`);
  if (!ok(r)) return result('n-capped', 'skip', `a chat request with n=${asked} got ${errorSummary(r)}`);
  const got = choiceCount(r.json);
  return got >= asked ? result('n-capped', 'fail', `n=${asked} returned ${got} choices in one request`) : result('n-capped', 'pass', `n=${asked} returned only ${got} choice(s)`);
}

export async function embeddingsProtected(ctx: ProbeContext): Promise<CheckResult> {
  const body = { model: ctx.model, input: ['moat probe', 'castle gate'], encoding_format: 'float' };
  const anon = await ctx.client.send('embeddings', { body, auth: 'none' });
  if (ok(anon) && embeddingVectors(anon.json).length > 0) return result('embeddings-protected', 'fail', `embeddings were served without credentials (${anon.status}, ${embeddingVectors(anon.json)[0]!.length} dimensions)`);
  if (!ctx.hasKey) return result('embeddings-protected', 'skip', `without credentials: ${errorSummary(anon)}; give --api-key (an ordinary user's key) to check what a user gets`);
  const r = await ctx.client.send('embeddings', { body });
  if (limited(r)) return rateLimitedSkip('embeddings-protected', r);
  if (refused(r)) return result('embeddings-protected', 'pass', `embeddings are refused to this key (${errorSummary(r)}) and without credentials (${anon.status})`);
  const vectors = embeddingVectors(r.json);
  if (!ok(r) || vectors.length === 0) return result('embeddings-protected', 'skip', `an embeddings request with the key got ${errorSummary(r)} and no vectors`);
  const decimals = decimalsNeeded(vectors);
  if (decimals <= COARSE_DECIMALS) return result('embeddings-protected', 'pass', `vectors come back hardened: every component has at most ${decimals} decimals (${vectors[0]!.length} dimensions)`);
  return result('embeddings-protected', 'fail', `raw full-precision embedding vectors (${vectors[0]!.length} dimensions, components with ${decimals} or more decimals) are served to this key; run the probe with an ordinary user's key to be sure it is not a privileged one`);
}

export async function errorsOpaque(ctx: ProbeContext): Promise<CheckResult> {
  const tries: Array<[string, string, Parameters<ProbeContext['client']['send']>[1]]> = [
    ['malformed JSON', 'chat/completions', { body: '{"model": "x", "messages": [' }],
    ['wrong types', 'chat/completions', { body: { model: ctx.model, messages: 'hello', max_tokens: 'many' } }],
    ['unknown model', 'chat/completions', { body: { model: `moat-probe-no-such-model-${randomBytes(3).toString('hex')}`, messages: [{ role: 'user', content: 'x' }] } }],
    ['unknown route', `moat-probe-no-such-route-${randomBytes(3).toString('hex')}`, { method: 'GET' }],
  ];
  const statuses: string[] = [];
  for (const [name, path, opts] of tries) {
    const r = await ctx.client.send(path, opts);
    const leaks = errorLeaks(`${r.text}\n${Object.entries(r.headers).filter(([k]) => /^x-|^server$|^via$/i.test(k)).map(([k, v]) => `${k}: ${v}`).join('\n')}`, ctx.base);
    if (leaks.length > 0) return result('errors-opaque', 'fail', `the error for ${name} (${r.status}) shows ${leaks.slice(0, 2).join('; ')}`);
    statuses.push(`${name} -> ${r.status}`);
  }
  return result('errors-opaque', 'pass', `no stack trace, internal address or internal detail in the errors (${statuses.join(', ')})`);
}
