/**
 * Stage 6, forward: serializes the policy-approved body, sends it upstream with the upstream's
 * own model name, and maps upstream failures to the error catalogue without passing on the
 * upstream's error body or address. It also reads token usage and puts the public model name
 * back into every answer.
 */
import { MoatError } from '../errors.js';
import { ROUTE_PATHS, type JsonObject, type RequestContext, type Usage } from '../pipeline/context.js';
import type { Stage } from '../pipeline/stage.js';

export function readUsage(body: JsonObject): Usage | null {
  const u = body.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | null | undefined;
  if (!u || typeof u !== 'object') return null;
  const p = typeof u.prompt_tokens === 'number' ? u.prompt_tokens : 0;
  const c = typeof u.completion_tokens === 'number' ? u.completion_tokens : 0;
  return { promptTokens: p, completionTokens: c };
}

/** Maps an upstream error status; the upstream body is read only to free the connection. */
export function upstreamStatusError(status: number, headers: Record<string, string | string[] | undefined>): MoatError {
  if (status === 429) {
    const ra = Number(headers['retry-after']);
    const retryAfter = Number.isFinite(ra) && ra > 0 ? Math.min(Math.ceil(ra), 600) : 1;
    return new MoatError('UPSTREAM_BUSY', { retryAfter }, { headers: { 'retry-after': String(retryAfter) } });
  }
  if (status === 400 || status === 413 || status === 422) return new MoatError('UPSTREAM_REJECTED', { upstreamStatus: status });
  return new MoatError('UPSTREAM_FAILED');
}

const WANTS_USAGE = 'forward:client-wants-usage';

export function forward(): Stage {
  return {
    name: 'forward',
    async request(ctx: RequestContext) {
      const model = ctx.model!;
      const body = ctx.upstreamBody;
      body.model = model.upstreamModel;
      if (ctx.stream) {
        // Ask for the final usage chunk so that token limits settle on real figures.
        const so = (body.stream_options ?? {}) as JsonObject;
        ctx.stageState.set(WANTS_USAGE, so.include_usage === true);
        body.stream_options = { ...so, include_usage: true };
      }
      const res = await model.upstream.post(ROUTE_PATHS[ctx.route], JSON.stringify(body), { signal: ctx.abort.signal, stream: ctx.stream });
      if (res.status >= 300) {
        await res.body.dump({ limit: 65_536 }).catch(() => undefined);
        throw upstreamStatusError(res.status, res.headers);
      }
      ctx.upstream = res;
    },
    response(ctx, body) {
      ctx.usage = readUsage(body);
      if ('model' in body) body.model = ctx.model!.name;
    },
    event(ctx, ev) {
      const usage = readUsage(ev);
      if (usage) {
        ctx.usage = usage;
        if (ctx.stageState.get(WANTS_USAGE) !== true) {
          const choices = ev.choices;
          if (!Array.isArray(choices) || choices.length === 0) return null;
          delete ev.usage;
        }
      }
      if ('model' in ev) ev.model = ctx.model!.name;
      return ev;
    },
  };
}
