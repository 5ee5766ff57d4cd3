/**
 * The handler behind POST /v1/chat/completions, /v1/completions and /v1/embeddings:
 * parse the JSON, run the pipeline, write the answer, and always finish (settle, audit,
 * metrics), whatever happened.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { MoatError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { createContext, type JsonObject, type Outcome, type RequestContext, type Route } from '../pipeline/context.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { writeJson, writeStream } from './respond.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes strict UTF-8 and parses JSON; the result must be an object. */
export function parseJsonBody(raw: unknown): JsonObject {
  if (!Buffer.isBuffer(raw) || raw.length === 0) throw new MoatError('BAD_JSON', { detail: 'the body is empty' });
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new MoatError('BAD_ENCODING');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new MoatError('BAD_JSON', { detail: (e as Error).message.slice(0, 200) });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MoatError('BAD_JSON', { detail: 'the body must be a JSON object' });
  }
  return value as JsonObject;
}

export function outcomeOf(e: MoatError): Outcome {
  if (e.code.startsWith('MOAT_ERR_UPSTREAM_')) return 'upstream_error';
  if (e.status >= 500 && e.code !== 'MOAT_ERR_UNAVAILABLE') return 'error';
  return 'denied';
}

/** Marks a context as failed with the error the client will see. */
export function failContext(ctx: RequestContext, err: unknown, log: Logger): MoatError {
  const e = err instanceof MoatError ? err : new MoatError('INTERNAL', { requestId: ctx.id }, { cause: err });
  if (!(err instanceof MoatError)) log.error({ err, requestId: ctx.id }, 'unexpected error while handling a request');
  else if (e.cause && outcomeOf(e) === 'upstream_error') log.warn({ requestId: ctx.id, code: e.code, cause: String(e.cause) }, 'upstream failure');
  ctx.error = e;
  if (ctx.outcome !== 'client_aborted') {
    ctx.outcome = outcomeOf(e);
    ctx.status = e.status;
  }
  return e;
}

export function sendError(reply: FastifyReply, e: MoatError, ctx?: RequestContext): void {
  reply
    .code(e.status)
    .headers({ ...(ctx?.responseHeaders ?? {}), ...e.headers })
    .header('x-request-id', ctx?.id ?? reply.request.id)
    .type('application/json')
    .send(JSON.stringify(e.toBody()));
}

export function inferenceHandler(route: Route, pipeline: Pipeline, metrics: Metrics, log: Logger) {
  return async function handle(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const ctx = createContext({ route, sourceIp: req.ip, headers: req.headers });
    const raw = reply.raw;
    raw.once('close', () => {
      if (raw.writableFinished) return;
      ctx.outcome = 'client_aborted';
      ctx.status = 499;
      ctx.abort.abort();
    });
    try {
      ctx.body = parseJsonBody(req.body);
      await pipeline.request(ctx);
      if (ctx.stream) await writeStream(ctx, reply, pipeline);
      else await writeJson(ctx, reply, pipeline);
    } catch (err) {
      const e = failContext(ctx, err, log);
      if (!reply.sent && !raw.headersSent && !raw.destroyed) sendError(reply, e, ctx);
    } finally {
      pipeline.finish(ctx);
      metrics.observe(ctx);
    }
  };
}
