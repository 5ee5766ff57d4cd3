/**
 * Throttling of failed authentication (CWE-307), per client address and per API-key prefix,
 * in the shared quota store so that it holds across replicas. It never locks out a key's real
 * owner: a credential that verified recently ("known good") skips the throttle altogether,
 * and only unknown credentials are checked against it. The per-address buckets are also the
 * only per-IP limit in Moat: a shield for unauthenticated traffic, never the user limit.
 */
import { MoatError } from '../errors.js';
import type { BucketSpec } from '../limits/bucket.js';
import type { QuotaStore } from '../limits/store.js';
import { KEY_PREFIX } from './api-key.js';
import type { AuthThrottleConfig } from './schema.js';

const MAX_KNOWN = 100_000;
/** Characters of the key body that name its prefix bucket (enough to tell keys apart, far from the whole secret). */
const PREFIX_CHARS = 8;

/** The prefix bucket of a presented API key, or null for anything else. */
export function keyPrefixOf(credential: string): string | null {
  return credential.startsWith(KEY_PREFIX) && credential.length > KEY_PREFIX.length + PREFIX_CHARS ? credential.slice(0, KEY_PREFIX.length + PREFIX_CHARS) : null;
}

export class AuthThrottle {
  private readonly known = new Map<string, number>();

  constructor(
    private readonly store: QuotaStore,
    private readonly cfg: AuthThrottleConfig,
    private readonly now: () => number = Date.now,
  ) {}

  private buckets(address: string, prefix: string | null, cost: number): BucketSpec[] {
    const out: BucketSpec[] = [{ key: `af:ip:${address}`, name: 'auth_failures_address', limit: this.cfg.perAddress.failures, windowMs: this.cfg.perAddress.windowMs, cost }];
    if (prefix) out.push({ key: `af:kp:${prefix}`, name: 'auth_failures_key_prefix', limit: this.cfg.perKeyPrefix.failures, windowMs: this.cfg.perKeyPrefix.windowMs, cost });
    return out;
  }

  /** True when this credential (by its hash) verified within the known-good period. */
  isKnownGood(id: string): boolean {
    const until = this.known.get(id);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.known.delete(id);
    return false;
  }

  markGood(id: string): void {
    if (this.known.size >= MAX_KNOWN && !this.known.has(id)) this.known.delete(this.known.keys().next().value!);
    this.known.set(id, this.now() + this.cfg.knownGoodTtlMs);
  }

  /** Throws AUTH_THROTTLED (429) while the address or the key prefix has used up its failures. */
  async check(address: string, prefix: string | null): Promise<void> {
    const specs = this.buckets(address, prefix, 0);
    const r = await this.store.acquire(specs);
    let waitMs = 0;
    specs.forEach((b, i) => {
      const left = r.remaining[i] ?? b.limit;
      if (left < 1) waitMs = Math.max(waitMs, ((1 - left) * b.windowMs) / b.limit);
    });
    if (waitMs > 0) {
      const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
      throw new MoatError('AUTH_THROTTLED', { retryAfter }, { headers: { 'retry-after': String(retryAfter) } });
    }
  }

  /** Counts one failed attempt (bounded at zero: a throttled address does not dig itself deeper). */
  async failed(address: string, prefix: string | null): Promise<void> {
    await Promise.all(this.buckets(address, prefix, 1).map((b) => this.store.acquire([b])));
  }
}
