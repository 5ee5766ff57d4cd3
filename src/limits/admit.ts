/**
 * Stage 3, admit: holds each principal to its limits before anything is forwarded. Limits are
 * keyed on the authenticated principal, never on the client address, so rotating IPs or
 * replicas does not multiply them.
 */
import { MoatError } from '../errors.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Stage } from '../pipeline/stage.js';
import { secondsToFull, type BucketSpec } from './bucket.js';
import type { QuotaStore } from './store.js';

export interface LimitDefaults {
  rpm: number;
}

const MINUTE = 60_000;

/** The buckets that apply to this request; a limit of 0 means "no limit". */
export function bucketsFor(ctx: RequestContext, defaults: LimitDefaults): BucketSpec[] {
  const id = ctx.identity!;
  const rpm = id.limits.rpm ?? defaults.rpm;
  const out: BucketSpec[] = [];
  if (rpm > 0) out.push({ key: `p:${id.principal}:rpm`, name: 'rpm', limit: rpm, windowMs: MINUTE, cost: 1 });
  return out;
}

/** IETF RateLimit-Policy / RateLimit headers (draft-ietf-httpapi-ratelimit-headers). */
export function rateLimitHeaders(specs: readonly BucketSpec[], remaining: readonly number[]): Record<string, string> {
  if (specs.length === 0) return {};
  const policy = specs.map((b) => `"${b.name}";q=${b.limit};w=${Math.round(b.windowMs / 1000)}`).join(', ');
  const state = specs
    .map((b, i) => {
      const r = Math.max(0, remaining[i] ?? 0);
      return `"${b.name}";r=${Math.floor(r)};t=${secondsToFull(r, b.limit, b.windowMs)}`;
    })
    .join(', ');
  return { 'ratelimit-policy': policy, ratelimit: state };
}

/** Something that can refuse new work while it catches up (the audit writer's bounded queue). */
export interface Backpressure {
  accepting(): boolean;
}

export function admit(store: QuotaStore, defaults: LimitDefaults, backpressure: Backpressure): Stage {
  return {
    name: 'admit',
    async request(ctx) {
      if (!backpressure.accepting()) {
        ctx.responseHeaders['retry-after'] = '1';
        throw new MoatError('UNAVAILABLE', { detail: 'The audit log is catching up with a burst of traffic', retryAfter: 1 });
      }
      const specs = bucketsFor(ctx, defaults);
      if (specs.length === 0) return;
      const res = await store.acquire(specs);
      Object.assign(ctx.responseHeaders, rateLimitHeaders(specs, res.remaining));
      if (!res.ok) {
        const b = res.refusedBy!;
        const retryAfter = Math.max(1, Math.ceil((res.retryAfterMs ?? MINUTE) / 1000));
        ctx.responseHeaders['retry-after'] = String(retryAfter);
        throw new MoatError('RATE_LIMITED', { limit: `${b.name} (${b.limit} per ${b.windowMs / 1000} s)`, retryAfter });
      }
    },
  };
}
