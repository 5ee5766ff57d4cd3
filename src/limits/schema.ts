/**
 * The `limits:` section of moat.yaml: default limits per principal and per tenant, how output
 * tokens are reserved, and which quota store holds the buckets (memory, or Redis shared by
 * every replica).
 */
import { z } from 'zod';

const limit = (def: number) => z.number().int().nonnegative().max(1e12).default(def);

/** Limits of one principal or one tenant. 0 means "no limit". */
export const limitSetSchema = (d: { rpm: number; tpm: number; tpd: number; concurrency: number }) =>
  z
    .strictObject({
      /** Requests per minute. */
      rpm: limit(d.rpm),
      /** Tokens (prompt + completion) per minute. */
      tpm: limit(d.tpm),
      /** Tokens per day. */
      tpd: limit(d.tpd),
      /** Requests in flight at once. */
      concurrency: limit(d.concurrency),
    })
    .prefault({});

export const redisSchema = z.strictObject({
  /** redis://HOST:PORT[/DB] or rediss:// for TLS; a password belongs in ${ENV}. */
  url: z.string().regex(/^rediss?:\/\/\S+$/, 'expected a redis:// or rediss:// URL such as redis://127.0.0.1:6379'),
  /** Prefix of every key Moat writes, so that several deployments can share one Redis. */
  keyPrefix: z.string().max(64).default('moat:'),
  /** Longest wait for one Redis command before the store counts as unreachable (generous: event-loop lag under load must not look like an outage). */
  commandTimeoutMs: z.number().int().positive().max(10_000).default(1_000),
  /**
   * When Redis cannot be reached: `fail-closed` refuses requests with 503 (limits never
   * silently disappear); `local` falls back to per-process buckets until Redis is back.
   */
  onUnavailable: z.enum(['fail-closed', 'local']).default('fail-closed'),
});

export const limitsSchema = z.strictObject({
  /** Default limits of each principal; a principal may override them (admin API, CLI). */
  defaults: limitSetSchema({ rpm: 600, tpm: 0, tpd: 0, concurrency: 0 }),
  /** Default limits of each tenant, shared by all its principals; a tenant may override them. */
  tenantDefaults: limitSetSchema({ rpm: 0, tpm: 0, tpd: 0, concurrency: 0 }),
  /**
   * Output tokens reserved before forwarding when a token limit applies.
   * (The largest max_tokens a caller may ask for is the request policy's `maxTokens`.)
   */
  maxTokens: z
    .strictObject({
      /** Reserved (and sent upstream as max_tokens) when the request sets none. */
      default: z.number().int().positive().default(1024),
    })
    .prefault({}),
  /**
   * A concurrency slot comes back when its request ends; one never returned (a crashed replica)
   * comes back gradually over this time, so slots cannot leak for good.
   */
  concurrencyLeaseMs: z.number().int().positive().default(900_000),
  /** Where buckets live: this process only, or Redis shared by every replica. */
  store: z.enum(['memory', 'redis']).default('memory'),
  redis: redisSchema.optional(),
}).superRefine((v, ctx) => {
  if (v.store === 'redis' && !v.redis) ctx.addIssue({ code: 'custom', path: ['redis'], message: 'required when store is redis (give at least url: redis://HOST:PORT)' });
});

export type LimitsConfig = z.output<typeof limitsSchema>;
export type LimitSet = LimitsConfig['defaults'];
