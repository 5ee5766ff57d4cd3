/**
 * The detect stage. `finish` observes every request, including ones an earlier stage refused
 * (a denied `logit_bias` is still an attempt); `request` acts on the principal's risk as it
 * stands: degrade, throttle, or (only when the operator enabled it) block.
 */
import { MoatError } from '../errors.js';
import type { QuotaStore } from '../limits/store.js';
import type { Stage } from '../pipeline/stage.js';
import { FORCE_KEY as FORCE_WATERMARK } from '../watermark/stage.js';
import type { DetectEngine } from './engine.js';
const MINUTE = 60_000;

export function detect(engine: DetectEngine, quotas: QuotaStore): Stage {
  const cfg = engine.config;
  const { thresholds: th, actions } = cfg;
  return {
    name: 'detect',
    async request(ctx) {
      const id = ctx.identity;
      if (!cfg.enabled || !id) return;
      const risk = engine.riskOf(id.principal);
      ctx.risk = risk;
      if (risk < th.flag) return;
      if (actions.block && risk >= th.block) {
        ctx.rules.push('detect:block');
        throw new MoatError('BLOCKED');
      }
      if (actions.throttleRpm > 0 && risk >= th.throttle) {
        const spec = { key: `detect:${id.principal}:rpm`, name: 'risk-rpm', limit: actions.throttleRpm, windowMs: MINUTE, cost: 1 };
        const res = await quotas.acquire([spec]);
        if (!res.ok) {
          ctx.rules.push('detect:throttle');
          const retryAfter = Math.max(1, Math.ceil((res.retryAfterMs ?? MINUTE) / 1000));
          ctx.responseHeaders['retry-after'] = String(retryAfter);
          throw new MoatError('RATE_LIMITED', { limit: `${spec.name} (${spec.limit} per 60 s while under review)`, retryAfter });
        }
      }
      if (actions.degrade) {
        const body = ctx.upstreamBody;
        const cap = actions.degradeMaxTokens;
        for (const k of ['max_tokens', 'max_completion_tokens'] as const) {
          if (typeof body[k] === 'number' && (body[k] as number) > cap) body[k] = cap;
        }
        if (typeof body.max_tokens !== 'number' && typeof body.max_completion_tokens !== 'number' && ctx.route !== 'embeddings') body.max_tokens = cap;
        ctx.stageState.set(FORCE_WATERMARK, true);
        ctx.rules.push('detect:degrade');
      }
    },
    finish(ctx) {
      const id = ctx.identity;
      if (!cfg.enabled || !id) return;
      const risk = engine.observe({
        ts: ctx.startedAt,
        principal: id.principal,
        tenant: id.tenant,
        ip: ctx.sourceIp,
        route: ctx.route,
        body: ctx.body,
        ...(ctx.usage ? { tokensOut: ctx.usage.completionTokens } : {}),
      });
      // Requests refused before this stage decided still carry the risk they produced.
      if (ctx.risk === null && risk !== null) ctx.risk = risk;
    },
  };
}
