/**
 * Builds the identity domain from configuration: the store, API keys, the live role table, the
 * authenticator, the administration service and its admin routes.
 */
import type { Logger } from 'pino';
import type { AdminRoutes } from '../admin/plugin.js';
import { loadOrCreateSecret } from '../config/data-dir.js';
import type { MoatConfig } from '../config/schema.js';
import type { EffectiveLimits } from '../limits/plan.js';
import type { QuotaStore } from '../limits/store.js';
import { grantsOnUnknownModels } from './access.js';
import { IdentityAdmin } from './admin.js';
import { identityAdminRoutes } from './admin-routes.js';
import { ApiKeys } from './api-keys.js';
import { AuthThrottle } from './auth-throttle.js';
import { Authenticator } from './authenticator.js';
import { JwtVerifier } from './jwt.js';
import { RoleRegistry } from './roles.js';
import { SqliteIdentityStore } from './sqlite-store.js';
import type { LimitOverrides } from './types.js';

/** The secret that keys the API-key hashes: configured, else generated once in the data directory. */
export function keySecretOf(configured: string | undefined, dataDir: string): Buffer {
  return configured ? Buffer.from(configured, 'utf8') : loadOrCreateSecret(dataDir, 'key-hash.secret');
}

export interface IdentityDomain {
  store: SqliteIdentityStore;
  keys: ApiKeys;
  roles: RoleRegistry;
  auth: Authenticator;
  admin: IdentityAdmin;
  adminRoutes: AdminRoutes;
  close: () => Promise<void>;
}

export interface IdentitySetupDeps {
  log: Logger;
  /** Whether a model name is configured (to warn about grants on unknown models). */
  hasModel: (name: string) => boolean;
  limits: { effective: (p: LimitOverrides, t: LimitOverrides) => EffectiveLimits; info: () => Record<string, unknown>; quotas: QuotaStore };
}

export async function openIdentityDomain(config: MoatConfig, dataDir: string, d: IdentitySetupDeps): Promise<IdentityDomain> {
  const store = new SqliteIdentityStore(dataDir);
  const keys = new ApiKeys(store, keySecretOf(config.identity.keySecret, dataDir), config.identity.cacheTtlMs);
  const typos = grantsOnUnknownModels(config.roles, d.hasModel);
  if (typos.length) d.log.warn({ grants: typos }, 'roles in moat.yaml grant models that are not configured; those grants have no effect');
  const roles = new RoleRegistry(config.roles, store);
  await roles.refresh();
  roles.start(Math.max(1_000, config.identity.cacheTtlMs), (err) => d.log.warn({ err }, 'could not refresh stored roles; keeping the last ones'));
  const jwt = config.identity.jwt ? new JwtVerifier(config.identity.jwt, store, config.identity.cacheTtlMs) : null;
  // Failed-authentication buckets live in the limits store, so they hold across replicas.
  const auth = new Authenticator(keys, jwt, new AuthThrottle(d.limits.quotas, config.identity.authThrottle));
  const admin = new IdentityAdmin(store, keys, roles, () => auth.invalidate());
  const lastUsed = setInterval(() => {
    keys.flushLastUsed().catch((err: unknown) => d.log.warn({ err }, 'could not record key last-used times'));
  }, 5_000);
  lastUsed.unref();
  return {
    store,
    keys,
    roles,
    auth,
    admin,
    adminRoutes: identityAdminRoutes({ admin, effectiveLimits: d.limits.effective, limitsInfo: d.limits.info }),
    async close() {
      clearInterval(lastUsed);
      roles.stop();
      await keys.flushLastUsed().catch(() => undefined);
      await store.close();
    },
  };
}
