/**
 * Stage 7, response policy: removes what leaks the model from every answer, whole or streamed
 * (see response-rules.ts), and hardens embedding vectors per tenant (see embeddings.ts). It acts
 * on what the upstream actually sent, not on what was asked for, so an upstream that ignores a
 * stripped parameter still leaks nothing.
 */
import { MoatError } from '../errors.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Stage } from '../pipeline/stage.js';
import { POLICY_DEFAULTS } from './config.js';
import { hardenEmbeddings } from './embeddings.js';
import { policyState } from './request-policy.js';
import { applyResponseRules, type ResponseRules } from './response-rules.js';
import type { TenantRotations } from './rotation.js';

const FIRED = 'response-policy:fired';

function rulesFor(ctx: RequestContext): ResponseRules {
  const s = policyState(ctx);
  const p = s?.policy ?? POLICY_DEFAULTS;
  return { logprobs: s?.logprobs ?? null, stripSystemFingerprint: p.response.stripSystemFingerprint, stripFields: p.response.stripFields };
}

/** Adds newly fired rule ids to ctx.rules once each. */
function note(ctx: RequestContext, fired: Set<string>): void {
  for (const r of fired) if (!ctx.rules.includes(r)) ctx.rules.push(r);
}

export function responsePolicy(rotations: TenantRotations | null): Stage {
  return {
    name: 'response-policy',
    response(ctx, body) {
      const fired = new Set<string>();
      if (ctx.route === 'embeddings') {
        const e = (policyState(ctx)?.policy ?? POLICY_DEFAULTS).embeddings;
        const tenant = ctx.identity?.tenant ?? '';
        const ok = hardenEmbeddings(body, {
          dimensions: e.dimensions,
          decimals: e.decimals,
          rotation: e.rotate && rotations ? (dim) => rotations.forTenant(tenant, dim) : null,
        });
        if (!ok) throw new MoatError('UPSTREAM_FAILED');
        if (e.dimensions !== null || e.decimals !== null || e.rotate) fired.add('harden:embeddings');
        delete body.system_fingerprint;
      } else {
        applyResponseRules(body, rulesFor(ctx), fired);
      }
      note(ctx, fired);
    },
    event(ctx, ev) {
      let r = ctx.stageState.get(FIRED) as { rules: ResponseRules; fired: Set<string> } | undefined;
      if (!r) {
        r = { rules: rulesFor(ctx), fired: new Set() };
        ctx.stageState.set(FIRED, r);
      }
      const before = r.fired.size;
      applyResponseRules(ev, r.rules, r.fired);
      if (r.fired.size !== before) note(ctx, r.fired);
      return ev;
    },
  };
}
