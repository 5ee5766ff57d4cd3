/**
 * Writing answers back to the client: a whole JSON body, or a stream of Server-Sent Events
 * rewritten event by event by the pipeline's hooks. Streams honour client backpressure, abort
 * the upstream when the client leaves, and enforce the time-to-first-token timeout.
 */
import { once } from 'node:events';
import type { FastifyReply } from 'fastify';
import { MoatError } from '../errors.js';
import type { JsonObject, RequestContext } from '../pipeline/context.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { toMoatError } from '../upstream/client.js';
import { SseDecoder, encodeSse, type SseEvent } from '../upstream/sse.js';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function writeJson(ctx: RequestContext, reply: FastifyReply, pipeline: Pipeline): Promise<void> {
  const text = await ctx.upstream!.body.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new MoatError('UPSTREAM_FAILED');
  }
  if (!isObject(body)) throw new MoatError('UPSTREAM_FAILED');
  pipeline.response(ctx, body);
  const out = JSON.stringify(body);
  ctx.outputBytes = Buffer.byteLength(out);
  ctx.status = 200;
  reply.code(200).headers(ctx.responseHeaders).header('x-request-id', ctx.id).type('application/json').send(out);
}

/** An SSE error event, the way OpenAI reports a failure after a stream has started. */
export function sseError(e: MoatError): string {
  return encodeSse({ data: JSON.stringify(e.toBody()) });
}

export async function writeStream(ctx: RequestContext, reply: FastifyReply, pipeline: Pipeline): Promise<void> {
  const upstream = ctx.upstream!;
  const t = ctx.model!.upstream.timeouts;
  const res = reply.raw;
  reply.hijack();
  ctx.status = 200;
  res.writeHead(200, {
    ...ctx.responseHeaders,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
    'x-request-id': ctx.id,
  });

  let out = '';
  let sawDone = false;
  const onEvent = (ev: SseEvent) => {
    if (sawDone) return;
    if (ev.data === '[DONE]') {
      sawDone = true;
      for (const held of pipeline.endOfStream(ctx)) out += encodeSse({ data: JSON.stringify(held) });
      out += 'data: [DONE]\n\n';
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(ev.data);
    } catch {
      return; // not an OpenAI event (a comment or keep-alive): nothing to pass on
    }
    if (!isObject(parsed)) return;
    if ('error' in parsed) throw new MoatError('UPSTREAM_FAILED');
    const rewritten = pipeline.event(ctx, parsed);
    if (rewritten) out += encodeSse({ data: JSON.stringify(rewritten), event: ev.event });
  };
  const decoder = new SseDecoder(onEvent);

  // One watchdog: until the first body chunk it enforces the time-to-first-token timeout
  // (counted from the request), afterwards the idle timeout between chunks.
  let gotFirst = false;
  let watchdog: NodeJS.Timeout | null = null;
  const arm = () => {
    if (watchdog) clearTimeout(watchdog);
    const ms = gotFirst ? t.idleMs : Math.max(1, t.firstTokenMs - (Date.now() - ctx.startedAt));
    const err = gotFirst ? new MoatError('UPSTREAM_TIMEOUT', { phase: 'idle', ms: t.idleMs }) : new MoatError('UPSTREAM_TIMEOUT', { phase: 'first-token', ms: t.firstTokenMs });
    watchdog = setTimeout(() => ctx.abort.abort(err), ms);
  };
  arm();

  const flush = async () => {
    if (!out) return;
    const chunk = out;
    out = '';
    ctx.outputBytes += Buffer.byteLength(chunk);
    if (!res.write(chunk)) await once(res, 'drain', { signal: ctx.abort.signal });
  };

  try {
    for await (const chunk of upstream.body) {
      gotFirst = true;
      arm();
      decoder.feed(chunk as Buffer);
      await flush();
    }
    clearTimeout(watchdog!);
    decoder.end();
    if (!sawDone) for (const held of pipeline.endOfStream(ctx)) out += encodeSse({ data: JSON.stringify(held) });
    await flush();
    res.end();
  } catch (err) {
    clearTimeout(watchdog!);
    const reason: unknown = ctx.abort.signal.aborted ? ctx.abort.signal.reason : err;
    const e = reason instanceof MoatError ? reason : toMoatError(err, t, 'idle');
    if (!res.destroyed && !res.writableEnded) res.end(sseError(e));
    throw e;
  }
}
