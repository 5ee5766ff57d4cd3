/**
 * Builds the limits domain from configuration: the quota store (memory, or Redis behind the
 * failure guard), the admission settings, and views for the admin API.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { LimitOverrides } from '../identity/types.js';
import type { AdmitDeps } from './admit.js';
import { GuardedQuotaStore } from './guarded-store.js';
import { MemoryQuotaStore } from './memory-store.js';
import { limitMetrics } from './metrics.js';
import { effectiveLimits, needsTokens, type EffectiveLimits, type LimitPlan } from './plan.js';
import { RedisQuotaStore, connectRedis } from './redis-store.js';
import type { LimitsConfig } from './schema.js';
import type { QuotaStore } from './store.js';
import { loadTokenizer } from './tokens.js';

export interface LimitsDomain {
  /** The shared bucket store; other domains may keep their own buckets in it. */
  quotas: QuotaStore;
  /** What the admit stage needs besides the store and backpressure. */
  admission: Pick<AdmitDeps, 'plan' | 'maxTokens' | 'tokenizer'>;
  /** Readiness: false while requests are refused because the shared store is unreachable. */
  ready: () => boolean;
  effective: (principal: LimitOverrides, tenant: LimitOverrides) => EffectiveLimits;
  info: () => Record<string, unknown>;
  close: () => Promise<void>;
}

async function openStore(cfg: LimitsConfig, log: Logger, registry: Registry): Promise<{ store: QuotaStore; ready: () => boolean }> {
  if (cfg.store === 'memory' || !cfg.redis) return { store: new MemoryQuotaStore(), ready: () => true };
  const r = cfg.redis;
  let reported = false;
  const redis = connectRedis({
    url: r.url,
    keyPrefix: r.keyPrefix,
    commandTimeoutMs: r.commandTimeoutMs,
    // ioredis reports every reconnection attempt; one line per outage is enough (the guard logs state changes).
    onError: (err) => {
      if (!reported) log.warn({ detail: err.message }, 'redis connection error (reconnecting in the background)');
      reported = true;
    },
  });
  redis.on('ready', () => (reported = false));
  const store = new GuardedQuotaStore(new RedisQuotaStore(redis, r.keyPrefix), r.onUnavailable, log, limitMetrics(registry));
  try {
    await redis.connect();
  } catch (err) {
    // Start anyway: the guard refuses (or counts locally) until Redis answers, and /readyz says so.
    log.error({ detail: (err as Error).message }, 'cannot reach redis at start-up; limits follow limits.redis.onUnavailable until it is back');
  }
  return { store, ready: () => r.onUnavailable === 'local' || redis.status === 'ready' };
}

export async function openLimits(cfg: LimitsConfig, log: Logger, registry: Registry): Promise<LimitsDomain> {
  const { store, ready } = await openStore(cfg, log, registry);
  const plan: LimitPlan = { defaults: cfg.defaults, tenantDefaults: cfg.tenantDefaults, concurrencyLeaseMs: cfg.concurrencyLeaseMs };
  // Loading the tokenizer takes a moment: start at boot when default limits count tokens, else on first need.
  if (needsTokens({ principal: plan.defaults, tenant: plan.tenantDefaults })) loadTokenizer().catch((err: unknown) => log.error({ err }, 'could not load the tokenizer'));
  return {
    quotas: store,
    admission: { plan, maxTokens: cfg.maxTokens, tokenizer: loadTokenizer },
    ready,
    effective: (p, t) => effectiveLimits(plan, { limits: p, tenantLimits: t }),
    info: () => ({ defaults: cfg.defaults, tenantDefaults: cfg.tenantDefaults, maxTokens: cfg.maxTokens, store: cfg.store, onUnavailable: cfg.redis?.onUnavailable ?? null }),
    close: () => store.close(),
  };
}
