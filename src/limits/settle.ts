/**
 * Stage 6, settle, the other half of admit. Before forwarding it holds the upstream to the
 * output budget that was reserved (max_tokens set or lowered). As soon as the answer is complete
 * (before its last bytes go out, so a client's next request finds its slot free) it returns
 * concurrency slots and settles reserved tokens, in one store call:
 * - the upstream reported usage: charge exactly that (refund the rest, or charge the excess);
 * - nothing reached the upstream (refused by a later stage, upstream error status): refund all;
 * - an interrupted answer without usage: keep the whole reservation (it may have been generated).
 * Requests per minute are never refunded: a refused request was still a request. Whatever did
 * not settle early (refused, failed, interrupted) settles when the exchange ends.
 */
import type { Logger } from 'pino';
import type { RequestContext } from '../pipeline/context.js';
import type { Stage } from '../pipeline/stage.js';
import { reservationOf, type Reservation } from './admit.js';
import type { BucketSpec } from './bucket.js';
import { isConcurrency, isTokenBucket } from './plan.js';
import type { QuotaStore } from './store.js';
import { readUsage } from '../upstream/forward.js';

/** Tokens to give back per token bucket: positive refunds, negative charges the excess. */
export function tokenAdjustment(ctx: Pick<RequestContext, 'usage' | 'upstream'>, reserved: number): number {
  if (ctx.usage) return reserved - (ctx.usage.promptTokens + ctx.usage.completionTokens);
  if (!ctx.upstream) return reserved;
  return 0;
}

export function settlement(ctx: Pick<RequestContext, 'usage' | 'upstream'>, r: Reservation): BucketSpec[] {
  const out: BucketSpec[] = [];
  const delta = r.tokens === null ? 0 : tokenAdjustment(ctx, r.tokens);
  for (const b of r.specs) {
    if (isConcurrency(b)) out.push({ ...b, cost: 1 });
    else if (isTokenBucket(b) && delta !== 0) out.push({ ...b, cost: delta });
  }
  return out;
}

const BUDGET_FIELDS = ['max_tokens', 'max_completion_tokens'] as const;

export function settle(store: QuotaStore, log: Logger): Stage {
  const settleOnce = (ctx: RequestContext, outcome: Pick<RequestContext, 'usage' | 'upstream'>) => {
    const r = reservationOf(ctx);
    if (!r || r.settled) return;
    r.settled = true;
    const back = settlement(outcome, r);
    if (back.length === 0) return;
    store.refund(back).catch((err: unknown) => log.warn({ err, requestId: ctx.id }, 'could not settle a reservation; it stays charged'));
  };
  return {
    name: 'settle',
    request(ctx) {
      const budget = reservationOf(ctx)?.budget;
      if (!budget) return;
      const body = ctx.upstreamBody;
      let changed = body[budget.field] !== budget.perChoice;
      body[budget.field] = budget.perChoice;
      for (const f of BUDGET_FIELDS) {
        if (typeof body[f] === 'number' && (body[f] as number) > budget.perChoice) {
          body[f] = budget.perChoice;
          changed = true;
        }
      }
      if (changed) ctx.rules.push('limit:max_tokens');
    },
    response(ctx, body) {
      // Runs before forward's own hook has read the usage, so read it here.
      settleOnce(ctx, { usage: readUsage(body), upstream: ctx.upstream });
    },
    endOfStream(ctx) {
      settleOnce(ctx, ctx);
      return [];
    },
    finish(ctx) {
      settleOnce(ctx, ctx);
    },
  };
}
