/**
 * Token-bucket arithmetic, pure. A bucket of capacity `limit` refills `limit` units per
 * `windowMs`, so a quiet principal may burst up to its whole limit and a busy one is held to the
 * average rate. Unlike fixed windows there is no doubling at the window edge.
 *
 * @example
 *   let s = fullBucket(60, 0);                     // 60 requests per minute
 *   const r = takeFromBucket(s, 60, 60_000, 1, 0);  // { ok: true, state: { tokens: 59, ... } }
 */
export interface BucketState {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

export interface BucketSpec {
  /** Stable key, e.g. `p:alice:rpm`. */
  key: string;
  /** Human name used in headers and errors, e.g. `rpm`. */
  name: string;
  limit: number;
  windowMs: number;
  /** Units this request takes (1 for requests, reserved tokens for token limits). */
  cost: number;
}

export function fullBucket(limit: number, now: number): BucketState {
  return { tokens: limit, at: now };
}

export function refill(s: BucketState, limit: number, windowMs: number, now: number): number {
  const elapsed = Math.max(0, now - s.at);
  return Math.min(limit, s.tokens + (elapsed * limit) / windowMs);
}

export function takeFromBucket(
  s: BucketState,
  limit: number,
  windowMs: number,
  cost: number,
  now: number,
): { ok: boolean; state: BucketState; retryAfterMs: number } {
  const tokens = refill(s, limit, windowMs, now);
  if (tokens >= cost) return { ok: true, state: { tokens: tokens - cost, at: now }, retryAfterMs: 0 };
  const retryAfterMs = cost > limit ? Infinity : Math.ceil(((cost - tokens) * windowMs) / limit);
  return { ok: false, state: { tokens, at: now }, retryAfterMs };
}

/** Seconds until the bucket is full again, for the `t` parameter of the RateLimit header. */
export function secondsToFull(tokens: number, limit: number, windowMs: number): number {
  return Math.ceil(((limit - tokens) * windowMs) / limit / 1000);
}
