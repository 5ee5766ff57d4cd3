/**
 * Which buckets a request draws from. Pure logic. Limits are keyed on the authenticated
 * principal and its tenant, never on the client address, so rotating IPs or replicas does not
 * multiply them. A limit of 0 means "no limit" and adds no bucket.
 *
 * @example
 *   const lim = effectiveLimits(plan, identity);   // overrides over the configured defaults
 *   planBuckets(plan, identity, lim, 1200)         // rpm, concurrency, tpm, tpd for principal and tenant
 */
import type { Identity, LimitOverrides } from '../identity/types.js';
import type { BucketSpec } from './bucket.js';
import type { LimitSet } from './schema.js';

export const MINUTE = 60_000;
export const DAY = 86_400_000;

export interface LimitPlan {
  defaults: LimitSet;
  tenantDefaults: LimitSet;
  /** Refill period of concurrency slots (see limits.concurrencyLeaseMs). */
  concurrencyLeaseMs: number;
}

export interface EffectiveLimits {
  principal: LimitSet;
  tenant: LimitSet;
}

const over = (d: LimitSet, o: LimitOverrides): LimitSet => ({
  rpm: o.rpm ?? d.rpm,
  tpm: o.tpm ?? d.tpm,
  tpd: o.tpd ?? d.tpd,
  concurrency: o.concurrency ?? d.concurrency,
});

export function effectiveLimits(plan: LimitPlan, id: Pick<Identity, 'limits' | 'tenantLimits'>): EffectiveLimits {
  return { principal: over(plan.defaults, id.limits), tenant: over(plan.tenantDefaults, id.tenantLimits) };
}

/** True when a token limit applies, so the prompt must be counted and tokens reserved. */
export function needsTokens(lim: EffectiveLimits): boolean {
  return lim.principal.tpm > 0 || lim.principal.tpd > 0 || lim.tenant.tpm > 0 || lim.tenant.tpd > 0;
}

/** Bucket names that are concurrency slots (returned when the request ends, not rate headers). */
export const isConcurrency = (b: BucketSpec) => b.name.endsWith('concurrency');
/** Bucket names that count tokens (settled to real usage after the response). */
export const isTokenBucket = (b: BucketSpec) => b.name.endsWith('tpm') || b.name.endsWith('tpd');

/**
 * The request buckets (cost 1) and, when `tokens` is given, the token buckets (cost `tokens`),
 * for the principal and then for its tenant. Principal bucket names are `rpm`, `tpm` ...;
 * tenant ones `tenant_rpm` ... (they appear in RateLimit headers and errors).
 */
export function planBuckets(plan: LimitPlan, id: Pick<Identity, 'principal' | 'tenant'>, lim: EffectiveLimits, tokens: number | null): BucketSpec[] {
  const out: BucketSpec[] = [];
  const add = (scope: 'p' | 't', who: string, set: LimitSet) => {
    const pre = scope === 'p' ? '' : 'tenant_';
    const key = (n: string) => `${scope}:${who}:${n}`;
    if (set.rpm > 0) out.push({ key: key('rpm'), name: `${pre}rpm`, limit: set.rpm, windowMs: MINUTE, cost: 1 });
    if (set.concurrency > 0) out.push({ key: key('conc'), name: `${pre}concurrency`, limit: set.concurrency, windowMs: plan.concurrencyLeaseMs, cost: 1 });
    if (tokens === null) return;
    if (set.tpm > 0) out.push({ key: key('tpm'), name: `${pre}tpm`, limit: set.tpm, windowMs: MINUTE, cost: tokens });
    if (set.tpd > 0) out.push({ key: key('tpd'), name: `${pre}tpd`, limit: set.tpd, windowMs: DAY, cost: tokens });
  };
  add('p', id.principal, lim.principal);
  add('t', id.tenant, lim.tenant);
  return out;
}
