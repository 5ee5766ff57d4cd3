/**
 * The Fastify application: routes, body handling and the mapping of every error to the
 * OpenAI error shape. The request path itself lives in the pipeline (see pipeline/assemble.ts).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { MoatError } from '../errors.js';
import { can, type RoleTable } from '../identity/access.js';
import { ADMIN_PREFIX, adminApi, type AdminApiOptions } from '../admin/plugin.js';
import type { ApiKeys } from '../identity/api-keys.js';
import type { Authenticator } from '../identity/authenticator.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { ModelRegistry } from '../upstream/registry.js';
import { inferenceHandler, sendError } from './inference.js';

export interface AppDeps {
  pipeline: Pipeline;
  metrics: Metrics;
  keys: ApiKeys;
  auth: Authenticator;
  /** The admin API under /admin/v1; absent when disabled. */
  admin: AdminApiOptions | null;
  models: ModelRegistry;
  roles: RoleTable;
  log: Logger;
  bodyLimit: number;
  trustProxy: boolean;
  /** Readiness: false while a dependency (store, audit writer) cannot take work. */
  ready: () => { ok: boolean; detail?: string };
}

/** The path of a URL, bounded, without the query string (a careless client may put a credential there). */
export const pathOnly = (url: string) => url.split('?')[0]!.slice(0, 200);

/** Maps Fastify's own errors (body too large, bad content type ...) to the catalogue. */
export function fromFastifyError(err: FastifyError, method: string, url: string, bodyLimit: number): MoatError {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new MoatError('BODY_TOO_LARGE', { limit: bodyLimit });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new MoatError('UNSUPPORTED_MEDIA_TYPE', { contentType: 'this content type' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new MoatError('BAD_JSON', { detail: 'the body is empty or its length is wrong' });
    default:
      if (err.statusCode === 404) return new MoatError('NOT_FOUND', { method, url: pathOnly(url) });
      if (err.statusCode && err.statusCode < 500) return new MoatError('INVALID_REQUEST', { detail: 'the request could not be read' });
      return new MoatError('INTERNAL', { requestId: 'unknown' }, { cause: err });
  }
}

export function buildApp(d: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: d.log as FastifyBaseLogger,
    // No per-request child logger: Moat logs with request ids itself, and a child with redaction
    // paths costs several microseconds on every request.
    childLoggerFactory: (logger) => logger,
    // Every request is already audited; per-request log lines would only cost time.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: d.bodyLimit,
    trustProxy: d.trustProxy,
    return503OnClosing: true,
    forceCloseConnections: true,
  });

  // Bodies arrive as raw bytes; the handler decodes strict UTF-8 and parses JSON itself so that
  // a malformed request still goes through the pipeline's finish (and lands in the audit log).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addContentTypeParser('*', (req, _payload, done) => {
    done(new MoatError('UNSUPPORTED_MEDIA_TYPE', { contentType: String(req.headers['content-type']).slice(0, 100) }), undefined);
  });

  app.setErrorHandler((err: FastifyError | MoatError, req, reply) => {
    const e = err instanceof MoatError ? err : fromFastifyError(err, req.method, req.url, d.bodyLimit);
    if (e.status >= 500) d.log.error({ err, url: pathOnly(req.url) }, 'request failed');
    d.metrics.denials.labels(e.code).inc();
    sendError(reply, e);
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, new MoatError('NOT_FOUND', { method: req.method, url: pathOnly(req.url) })));

  app.post('/v1/chat/completions', inferenceHandler('chat', d.pipeline, d.metrics, d.log));
  app.post('/v1/completions', inferenceHandler('completions', d.pipeline, d.metrics, d.log));
  app.post('/v1/embeddings', inferenceHandler('embeddings', d.pipeline, d.metrics, d.log));

  app.get('/v1/models', async (req, reply) => {
    const id = await d.auth.authenticate(req.headers, req.ip, 'inference');
    const data = d.models
      .list()
      // Listed only when the caller may both see and use it: a hidden model stays unknown.
      .filter((m) => can(d.roles, id.roles, 'list', m.name) && can(d.roles, id.roles, 'use', m.name))
      .map((m) => ({ id: m.name, object: 'model', created: 0, owned_by: m.ownedBy }));
    return reply.send({ object: 'list', data });
  });

  if (d.admin) void app.register(adminApi, { ...d.admin, prefix: ADMIN_PREFIX });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = d.ready();
    return reply.code(r.ok ? 200 : 503).send({ status: r.ok ? 'ready' : 'not_ready', ...(r.detail ? { detail: r.detail } : {}) });
  });
  app.get('/metrics', async (_req, reply) => {
    reply.type(d.metrics.registry.contentType);
    return d.metrics.registry.metrics();
  });
  return app;
}
