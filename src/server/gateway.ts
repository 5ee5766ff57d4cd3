/**
 * Builds a running gateway from a validated configuration: stores, pipeline, Fastify app.
 * `moat serve`, `moat demo`, the tests and the benchmark all start Moat through here.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { openAuditSink } from '../audit/open.js';
import type { AuditSink } from '../audit/sink.js';
import { startRetention } from '../audit/retention.js';
import { ensureDataDir } from '../config/data-dir.js';
import { detectAdminRoutes } from '../detect/routes.js';
import { DetectService } from '../detect/service.js';
import type { MoatConfig } from '../config/schema.js';
import type { IdentityAdmin } from '../identity/admin.js';
import type { ApiKeys } from '../identity/api-keys.js';
import type { RoleRegistry } from '../identity/roles.js';
import { keySecretOf, openIdentityDomain } from '../identity/setup.js';
import { openLimits } from '../limits/setup.js';
import type { QuotaStore } from '../limits/store.js';
import { Metrics } from '../metrics/metrics.js';
import { assemblePipeline } from '../pipeline/assemble.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { PolicySet } from '../policy/config.js';
import { rotationsFor } from '../policy/rotation-secret.js';
import { ModelRegistry } from '../upstream/registry.js';
import { buildApp } from './app.js';
import { createLogger } from './logger.js';
import { watermarkDeps } from '../watermark/setup.js';

export interface Gateway {
  readonly app: FastifyInstance;
  /** The assembled request path (benchmarks time its stages one by one). */
  readonly pipeline: Pipeline;
  readonly config: MoatConfig;
  readonly keys: ApiKeys;
  /** Tenants, principals, keys and roles: what the admin API and the CLI act through. */
  readonly admin: IdentityAdmin;
  readonly roles: RoleRegistry;
  /** The bucket store of the limits (memory or Redis). */
  readonly quotas: QuotaStore;
  readonly auditSink: AuditSink;
  /** Extraction detection: engine, store and alerts. */
  readonly detect: DetectService;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Starts listening; resolves to the base URL, e.g. http://127.0.0.1:8080/v1 */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** The secret that keys the API-key hashes: from config, else generated once in the data dir. */
export function keySecret(config: MoatConfig): Buffer {
  return keySecretOf(config.identity.keySecret, ensureDataDir(config.dataDir));
}

export interface GatewayOptions {
  log?: Logger;
  metricsDefaults?: boolean;
  /** Replaces the configured audit sink (benchmarks measure the gateway with and without one). */
  auditSink?: AuditSink;
}

export async function createGateway(config: MoatConfig, opts: GatewayOptions = {}): Promise<Gateway> {
  const log = opts.log ?? createLogger(config.logging.level);
  const dataDir = ensureDataDir(config.dataDir);
  const models = new ModelRegistry(config.models);
  const auditSink = opts.auditSink ?? openAuditSink(config, log);
  const metrics = new Metrics({ defaults: opts.metricsDefaults ?? true });
  const limits = await openLimits(config.limits, log, metrics.registry);
  const identity = await openIdentityDomain(config, dataDir, { log, hasModel: (m) => models.get(m) !== undefined, limits });
  const { keys, roles, auth } = identity;
  const detectService = new DetectService(config.detect, dataDir, log);

  const pipeline = assemblePipeline({
    keys,
    auth,
    models,
    roles,
    quotas: limits.quotas,
    limits: limits.admission,
    policies: new PolicySet(config.policy),
    rotations: rotationsFor(config),
    auditSink,
    detector: detectService.engine,
    promptMode: config.audit.prompt,
    watermark: watermarkDeps(config.watermark, dataDir),
    log,
  });

  const app = buildApp({
    pipeline,
    metrics,
    keys,
    auth,
    // Each domain with admin routes adds its registrar to `routes`.
    admin: config.admin.enabled ? { auth, roles, auditSink, routes: [identity.adminRoutes, detectAdminRoutes(detectService)] } : null,
    models,
    roles,
    log,
    bodyLimit: config.server.bodyLimit,
    trustProxy: config.server.trustProxy,
    ready: () => {
      if (!auditSink.accepting()) return { ok: false, detail: 'audit queue full' };
      if (!limits.ready()) return { ok: false, detail: 'quota store unreachable' };
      return { ok: true };
    },
  });

  const retention = opts.auditSink ? null : startRetention(config, auditSink, log);

  let closed = false;
  return {
    app,
    pipeline,
    config,
    keys,
    admin: identity.admin,
    roles,
    quotas: limits.quotas,
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
      retention?.stop();
      await app.close();
      await detectService.close();
      await auditSink.close();
      await limits.close();
      await models.close();
      await identity.close();
    },
  };
}
