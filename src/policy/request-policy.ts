/**
 * Stage 4, request policy: decides on the parsed, validated JSON which parameters may reach the
 * upstream. The upstream then receives Moat's own serialization of `ctx.upstreamBody`, never
 * the client's bytes, so duplicate keys or escaped names cannot smuggle anything past it.
 */
import { MoatError } from '../errors.js';
import { KNOWN_FIELDS } from '../openai/schemas.js';
import type { Stage } from '../pipeline/stage.js';
import type { RequestRule } from './request-rules.js';

export function requestPolicy(rules: readonly RequestRule[]): Stage {
  return {
    name: 'request-policy',
    request(ctx) {
      const known = KNOWN_FIELDS[ctx.route];
      for (const field in ctx.body) {
        if (!known.has(field)) {
          ctx.rules.push(`deny:unknown_field`);
          throw new MoatError('UNKNOWN_FIELD', { field: field.slice(0, 64) }, { param: field.slice(0, 64) });
        }
      }
      const out = { ...ctx.body };
      for (const r of rules) {
        if (!r.routes.includes(ctx.route) || !r.applies(out[r.param])) continue;
        ctx.rules.push(r.id);
        if (r.action === 'deny') throw new MoatError('POLICY_DENIED', { param: r.param, reason: r.reason }, { param: r.param });
        delete out[r.param];
      }
      ctx.upstreamBody = out;
    },
  };
}
