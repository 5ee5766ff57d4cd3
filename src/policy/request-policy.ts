/**
 * Stage 4, request policy: decides on the parsed, validated JSON which parameters may reach the
 * upstream (see request-rules.ts). The upstream then receives Moat's own serialization of
 * `ctx.upstreamBody`, never the client's bytes, so duplicate keys or escaped names cannot
 * smuggle anything past it. What the response policy needs to know (may logprobs come back,
 * which hardening applies) is left in `ctx.stageState` under {@link POLICY_STATE}.
 */
import { can, type RoleTable } from '../identity/access.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Stage } from '../pipeline/stage.js';
import type { PolicySet, ResolvedPolicy } from './config.js';
import { decideRequest, type RequestDecision } from './request-rules.js';

export const POLICY_STATE = 'policy';

/** The request policy's verdict, for the response policy. */
export interface PolicyState {
  policy: ResolvedPolicy;
  logprobs: RequestDecision['logprobs'];
}

export function policyState(ctx: RequestContext): PolicyState | undefined {
  return ctx.stageState.get(POLICY_STATE) as PolicyState | undefined;
}

export function requestPolicy(policies: PolicySet, roles: RoleTable): Stage {
  return {
    name: 'request-policy',
    request(ctx) {
      const held = ctx.identity?.roles ?? [];
      const model = ctx.model?.name ?? '';
      const policy = policies.resolve(held, model);
      const caller = {
        mayLogprobs: can(roles, held, 'logprobs', model),
        mayEmbeddings: ctx.route === 'embeddings' && can(roles, held, 'embeddings', model),
      };
      const decision = decideRequest(ctx.route, ctx.body, policy, caller, ctx.rules);
      ctx.upstreamBody = decision.body;
      ctx.stageState.set(POLICY_STATE, { policy, logprobs: decision.logprobs } satisfies PolicyState);
    },
  };
}
