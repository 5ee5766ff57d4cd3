/**
 * per-user-rate-limit: sends small requests from one spoofed client address until the endpoint
 * answers 429, then asks, in back-to-back pairs, whether a fresh X-Forwarded-For / X-Real-IP gets
 * through where the old one is refused. Stops as soon as it has its answer, within the budget.
 */
import { randomInt } from 'node:crypto';
import { BudgetExhausted, errorSummary, type ProbeResponse } from './http.js';
import { chatBody } from './checks.js';
import { result, type CheckResult, type ProbeContext } from './types.js';

/** Addresses from the documentation ranges (RFC 5737), so a spoofed header names no real host. */
const FIRST_IP = '203.0.113.7';
const freshIp = () => `198.51.100.${randomInt(1, 255)}`;
const spoof = (ip: string) => ({ 'x-forwarded-for': ip, 'x-real-ip': ip, 'true-client-ip': ip, 'cf-connecting-ip': ip, forwarded: `for=${ip}` });

const PAIRS = 3;

/** The limit and remaining count the server announces (IETF RateLimit or X-RateLimit-* headers), if any. */
export function announcedLimit(h: Record<string, string>): { limit: number | null; remaining: number | null } {
  const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v.trim()) ? Number(v.trim()) : null);
  const q = /\bq=(\d+)/.exec(h['ratelimit-policy'] ?? '')?.[1];
  const r = /\br=(\d+)/.exec(h['ratelimit'] ?? '')?.[1];
  return {
    limit: num(q) ?? num(h['x-ratelimit-limit'] ?? h['ratelimit-limit'] ?? h['x-ratelimit-limit-requests']),
    remaining: num(r) ?? num(h['x-ratelimit-remaining'] ?? h['ratelimit-remaining'] ?? h['x-ratelimit-remaining-requests']),
  };
}

export async function perUserRateLimit(ctx: ProbeContext): Promise<CheckResult> {
  if (ctx.chatBroken) return result('per-user-rate-limit', 'skip', `a plain chat request did not succeed (${ctx.chatBroken}), so requests cannot be counted`);
  const body = chatBody(ctx, { max_tokens: 1 });
  const send = (ip: string, immediate = false) => ctx.client.send('chat/completions', { body, headers: spoof(ip), immediate });
  let sent = 0;
  let last: ProbeResponse | null = null;
  if (ctx.client.remaining < PAIRS * 2 + 2) return result('per-user-rate-limit', 'skip', `only ${ctx.client.remaining} requests left in the budget; raise --max-requests`);
  try {
    // Phase 1: one spoofed address until refused. Keep room for the paired comparisons.
    while (ctx.client.remaining > PAIRS * 2) {
      last = await send(FIRST_IP);
      sent++;
      if (last.status === 429) break;
      if (!(last.status >= 200 && last.status < 300)) return result('per-user-rate-limit', 'skip', `request ${sent} got ${errorSummary(last)} instead of an answer or a 429`);
    }
    if (last?.status !== 429) {
      const a = last ? announcedLimit(last.headers) : { limit: null, remaining: null };
      if (a.limit !== null && a.limit > sent) {
        return result('per-user-rate-limit', 'skip', `no 429 within ${sent} requests; the server announces a limit of ${a.limit}${a.remaining !== null ? ` with ${a.remaining} left` : ''}; rerun with --max-requests above ${a.limit + PAIRS * 2 + 20} to test it`);
      }
      return result('per-user-rate-limit', 'fail', `${sent} requests in a row were all answered, none refused with 429: no per-user limit at or below ${sent} requests`);
    }
    // Phase 2: pairs sent back to back: the old address (must still be refused), then a fresh one.
    let escaped = 0;
    let held = 0;
    for (let i = 0; i < PAIRS && escaped + held < 2; i++) {
      const control = await send(FIRST_IP, true);
      const fresh = await send(freshIp(), true);
      if (control.status === 429 && fresh.status >= 200 && fresh.status < 300) escaped++;
      else if (fresh.status === 429) held++;
    }
    if (escaped > 0 && held === 0) {
      return result('per-user-rate-limit', 'fail', `refused with 429 after ${sent} requests from one address, but ${escaped} request(s) with a fresh X-Forwarded-For/X-Real-IP were answered at once while the old address was still refused: the limit is keyed on a header the client sets`);
    }
    if (held > 0 && escaped === 0) {
      const follows = ctx.hasKey ? 'the limit follows the credential, not the address' : 'the limit does not follow the client address';
      return result('per-user-rate-limit', 'pass', `refused with 429 after ${sent} requests, and ${held} request(s) with a fresh X-Forwarded-For/X-Real-IP were refused too (${errorSummary(last)}): ${follows}`);
    }
    return result('per-user-rate-limit', 'skip', `refused with 429 after ${sent} requests, but fresh addresses were answered ${escaped} time(s) and refused ${held} time(s): inconclusive, rerun with a lower --rate`);
  } catch (e) {
    if (e instanceof BudgetExhausted) return result('per-user-rate-limit', 'skip', `the request budget (--max-requests ${e.max}) ran out after ${sent} requests of this check`);
    throw e;
  }
}
