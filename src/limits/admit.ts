/**
 * Stage 4, admit: holds each principal and its tenant to their limits before anything is
 * forwarded: requests per minute, requests in flight, and tokens per minute and per day. Token
 * limits reserve the prompt (counted) plus the output budget up front, so a request can never
 * overshoot a limit by being counted afterwards; settle.ts corrects the reservation to the real
 * usage. All buckets are taken in one store call (one Redis round trip), all or nothing.
 */
import { MoatError } from '../errors.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Stage } from '../pipeline/stage.js';
import { secondsToFull, type BucketSpec } from './bucket.js';
import { effectiveLimits, isConcurrency, isTokenBucket, needsTokens, planBuckets, type LimitPlan } from './plan.js';
import type { QuotaStore } from './store.js';
import { countPromptTokens, outputBudget, type CountTokens, type OutputBudget } from './tokens.js';

/** What admit took for a request; settle gives back what was not used. */
export interface Reservation {
  specs: BucketSpec[];
  /** Tokens reserved in each token bucket (prompt + output budget), or null without token limits. */
  tokens: number | null;
  budget: OutputBudget | null;
  /** Set by settle once slots and tokens have been settled (exactly once per request). */
  settled?: boolean;
}

export const RESERVATION = 'limits:reservation';

export function reservationOf(ctx: RequestContext): Reservation | undefined {
  return ctx.stageState.get(RESERVATION) as Reservation | undefined;
}

/** IETF RateLimit-Policy / RateLimit headers (draft-ietf-httpapi-ratelimit-headers); concurrency is not a quota and is left out. */
export function rateLimitHeaders(specs: readonly BucketSpec[], remaining: readonly number[]): Record<string, string> {
  const policy: string[] = [];
  const state: string[] = [];
  specs.forEach((b, i) => {
    if (isConcurrency(b)) return;
    const r = Math.max(0, remaining[i] ?? 0);
    policy.push(`"${b.name}";q=${b.limit};w=${Math.round(b.windowMs / 1000)}`);
    state.push(`"${b.name}";r=${Math.floor(r)};t=${secondsToFull(r, b.limit, b.windowMs)}`);
  });
  return policy.length ? { 'ratelimit-policy': policy.join(', '), ratelimit: state.join(', ') } : {};
}

const UNIT: Record<string, string> = { rpm: 'requests per minute', tpm: 'tokens per minute', tpd: 'tokens per day', concurrency: 'requests at once' };
const describe = (b: BucketSpec) => `${b.name} (${b.limit} ${UNIT[b.name.replace(/^tenant_/, '')] ?? ''}${b.name.startsWith('tenant_') ? ' for the tenant' : ''})`;

/** Something that can refuse new work while it catches up (the audit writer's bounded queue). */
export interface Backpressure {
  accepting(): boolean;
}

export interface AdmitDeps {
  store: QuotaStore;
  plan: LimitPlan;
  maxTokens: { default: number };
  /** The largest output a caller may ask for on this request (the request policy's cap). */
  outputCap: (ctx: RequestContext) => number;
  backpressure: Backpressure;
  /** Resolves to the tokenizer; only awaited when a token limit applies. */
  tokenizer: () => Promise<CountTokens>;
}

export function admit(d: AdmitDeps): Stage {
  return {
    name: 'admit',
    async request(ctx) {
      if (!d.backpressure.accepting()) {
        ctx.responseHeaders['retry-after'] = '1';
        throw new MoatError('UNAVAILABLE', { detail: 'The audit log is catching up with a burst of traffic', retryAfter: 1 });
      }
      const id = ctx.identity!;
      const lim = effectiveLimits(d.plan, id);
      let tokens: number | null = null;
      let budget: OutputBudget | null = null;
      if (needsTokens(lim)) {
        budget = outputBudget(ctx.route, ctx.body, { default: d.maxTokens.default, cap: d.outputCap(ctx) });
        tokens = countPromptTokens(ctx.route, ctx.body, await d.tokenizer()) + (budget ? budget.perChoice * budget.choices : 0);
      }
      const specs = planBuckets(d.plan, id, lim, tokens);
      if (specs.length === 0) return;
      const res = await d.store.acquire(specs);
      Object.assign(ctx.responseHeaders, rateLimitHeaders(specs, res.remaining));
      if (!res.ok) {
        const b = res.refusedBy!;
        if (isTokenBucket(b) && !Number.isFinite(res.retryAfterMs ?? 0)) {
          throw new MoatError('TOKENS_EXCEED_LIMIT', { tokens: b.cost, limit: b.name, max: b.limit });
        }
        // A concurrency slot frees when some request ends, not on the lease timetable.
        const retryAfter = isConcurrency(b) ? 1 : Math.max(1, Math.ceil((res.retryAfterMs ?? 60_000) / 1000));
        ctx.responseHeaders['retry-after'] = String(retryAfter);
        throw new MoatError('RATE_LIMITED', { limit: describe(b), retryAfter });
      }
      ctx.stageState.set(RESERVATION, { specs, tokens, budget } satisfies Reservation);
    },
  };
}
