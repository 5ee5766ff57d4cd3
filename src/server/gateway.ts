/**
 * Builds a running gateway from a validated configuration: stores, pipeline, Fastify app.
 * `moat serve`, `moat demo`, the tests and the benchmark all start Moat through here.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { SqliteAuditSink } from '../audit/sqlite-sink.js';
import { ensureDataDir, loadOrCreateSecret } from '../config/data-dir.js';
import { detectAdminRoutes } from '../detect/routes.js';
import { DetectService } from '../detect/service.js';
import { MoatError } from '../errors.js';
import { can } from '../identity/access.js';
import { presentedCredential } from '../identity/credentials.js';
import type { MoatConfig } from '../config/schema.js';
import { BUILTIN_ROLES } from '../identity/access.js';
import { ApiKeys } from '../identity/api-keys.js';
import { SqliteIdentityStore } from '../identity/sqlite-store.js';
import { MemoryQuotaStore } from '../limits/memory-store.js';
import { Metrics } from '../metrics/metrics.js';
import { assemblePipeline } from '../pipeline/assemble.js';
import { defaultRequestRules } from '../policy/request-rules.js';
import { ModelRegistry } from '../upstream/registry.js';
import { buildApp } from './app.js';
import { createLogger } from './logger.js';

export interface Gateway {
  readonly app: FastifyInstance;
  readonly config: MoatConfig;
  readonly keys: ApiKeys;
  readonly auditSink: SqliteAuditSink;
  readonly detect: DetectService;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Starts listening; resolves to the base URL, e.g. http://127.0.0.1:8080/v1 */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** The secret that keys the API-key hashes: from config, else generated once in the data dir. */
export function keySecret(config: MoatConfig): Buffer {
  return config.identity.keySecret ? Buffer.from(config.identity.keySecret, 'utf8') : loadOrCreateSecret(config.dataDir, 'key-hash.secret');
}

export async function createGateway(config: MoatConfig, opts: { log?: Logger; metricsDefaults?: boolean } = {}): Promise<Gateway> {
  const log = opts.log ?? createLogger(config.logging.level);
  const dataDir = ensureDataDir(config.dataDir);
  const identity = new SqliteIdentityStore(dataDir);
  const keys = new ApiKeys(identity, keySecret(config), config.identity.cacheTtlMs);
  const models = new ModelRegistry(config.models);
  const quotas = new MemoryQuotaStore();
  const auditSink = new SqliteAuditSink(dataDir, { flushMs: config.audit.flushMs, maxQueue: config.audit.maxQueue, log });
  const metrics = new Metrics({ defaults: opts.metricsDefaults ?? true });
  const roles = BUILTIN_ROLES;
  const detectService = new DetectService(config.detect, dataDir, log);

  const pipeline = assemblePipeline({
    keys,
    models,
    roles,
    quotas,
    limits: { rpm: config.limits.defaults.rpm },
    requestRules: defaultRequestRules(),
    auditSink,
    detector: detectService.engine,
    promptMode: config.audit.prompt,
    log,
  });

  const app = buildApp({
    pipeline,
    metrics,
    keys,
    models,
    roles,
    log,
    bodyLimit: config.server.bodyLimit,
    trustProxy: config.server.trustProxy,
    ready: () => (auditSink.accepting() ? { ok: true } : { ok: false, detail: 'audit queue full' }),
  });

  // Admin routes check an API key whose roles grant 'admin' (until the shared admin API lands).
  await app.register(
    detectAdminRoutes(detectService, async (req) => {
      const id = await keys.verify(presentedCredential(req.headers));
      if (!can(roles, id.roles, 'admin', '*')) throw new MoatError('FORBIDDEN', { action: 'administration' });
    }),
  );

  const lastUsed = setInterval(() => {
    keys.flushLastUsed().catch((err) => log.warn({ err }, 'could not record key last-used times'));
  }, 5_000);
  lastUsed.unref();

  let closed = false;
  return {
    app,
    config,
    keys,
    auditSink,
    detect: detectService,
    metrics,
    log,
    async listen() {
      const address = await app.listen({ host: config.server.host, port: config.server.port });
      const url = new URL(address);
      if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = '127.0.0.1';
      return `${url.origin}/v1`;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(lastUsed);
      await app.close();
      await keys.flushLastUsed().catch(() => undefined);
      await detectService.close();
      await auditSink.close();
      await quotas.close();
      await models.close();
      await identity.close();
    },
  };
}
