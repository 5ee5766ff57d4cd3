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
import type { MoatConfig } from '../config/schema.js';
import { grantsOnUnknownModels } from '../identity/access.js';
import { IdentityAdmin } from '../identity/admin.js';
import { identityAdminRoutes } from '../identity/admin-routes.js';
import { ApiKeys } from '../identity/api-keys.js';
import { Authenticator } from '../identity/authenticator.js';
import { RoleRegistry } from '../identity/roles.js';
import { SqliteIdentityStore } from '../identity/sqlite-store.js';
import type { LimitOverrides } from '../identity/types.js';
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
  /** Tenants, principals, keys and roles: what the admin API and the CLI act through. */
  readonly admin: IdentityAdmin;
  readonly roles: RoleRegistry;
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
  const typos = grantsOnUnknownModels(config.roles, (m) => models.get(m) !== undefined);
  if (typos.length) log.warn({ grants: typos }, 'roles in moat.yaml grant models that are not configured; those grants have no effect');
  const roles = new RoleRegistry(config.roles, identity);
  await roles.refresh();
  roles.start(Math.max(1_000, config.identity.cacheTtlMs), (err) => log.warn({ err }, 'could not refresh stored roles; keeping the last ones'));
  const auth = new Authenticator(keys);
  const admin = new IdentityAdmin(identity, keys, roles);
  const limitsView = (p: LimitOverrides, t: LimitOverrides) => ({ principal: { ...config.limits.defaults, ...p }, tenant: { ...config.limits.tenantDefaults, ...t } });
  const detectService = new DetectService(config.detect, dataDir, log);

  const pipeline = assemblePipeline({
    keys,
    auth,
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
    auth,
    admin: config.admin.enabled
      ? {
          auth,
          roles,
          auditSink,
          // Each domain with admin routes adds its registrar here.
          routes: [
            identityAdminRoutes({ admin, effectiveLimits: limitsView, limitsInfo: () => ({ defaults: config.limits.defaults, tenantDefaults: config.limits.tenantDefaults, store: config.limits.store }) }),
            detectAdminRoutes(detectService),
          ],
        }
      : null,
    models,
    roles,
    log,
    bodyLimit: config.server.bodyLimit,
    trustProxy: config.server.trustProxy,
    ready: () => (auditSink.accepting() ? { ok: true } : { ok: false, detail: 'audit queue full' }),
  });

  const lastUsed = setInterval(() => {
    keys.flushLastUsed().catch((err) => log.warn({ err }, 'could not record key last-used times'));
  }, 5_000);
  lastUsed.unref();

  let closed = false;
  return {
    app,
    config,
    keys,
    admin,
    roles,
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
      roles.stop();
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
