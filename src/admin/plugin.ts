/**
 * The admin API, `/admin/v1/...`, as one Fastify plugin. Every route registered inside it is
 * behind requireAdmin and is audited: one `admin` record per request from an authenticated
 * caller (allowed, refused or failed), written through the same hash-chained sink as requests.
 * Domains add their routes as `AdminRoutes` (identity adds tenants, principals, keys, roles,
 * limits); a route names its action with `config: { adminAction: 'keys.revoke' }`.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { adminRecord } from '../audit/admin-record.js';
import type { AuditSink } from '../audit/sink.js';
import type { RoleTable } from '../identity/access.js';
import type { Authenticator } from '../identity/authenticator.js';
import { adminState, requireAdmin } from './require-admin.js';

/** Registers routes of one domain inside the admin API (paths relative to /admin/v1). */
export type AdminRoutes = (app: FastifyInstance) => void;

export interface AdminApiOptions {
  auth: Authenticator;
  roles: RoleTable;
  auditSink: AuditSink;
  routes: readonly AdminRoutes[];
}

export const ADMIN_PREFIX = '/admin/v1';

export const adminApi: FastifyPluginAsync<AdminApiOptions> = async (app, opts) => {
  app.decorateRequest('moatAdmin', null);
  app.addHook('onRequest', requireAdmin(opts.auth, opts.roles));
  app.addHook('onError', async (req, _reply, err) => {
    adminState(req).errorCode = (err as { code?: string }).code ?? 'MOAT_ERR_INTERNAL';
  });
  app.addHook('onResponse', async (req, reply) => {
    const s = req.moatAdmin;
    // Only callers whose credential verified are recorded; anonymous probes are throttled and counted instead.
    if (!s?.identity) return;
    const status = reply.statusCode;
    const action = req.routeOptions.config.adminAction ?? `${req.method} ${req.routeOptions.url ?? 'unknown'}`;
    opts.auditSink.append(
      adminRecord({
        action,
        actor: { principal: s.identity.principal, tenant: s.identity.tenant, keyId: s.identity.keyId },
        target: s.target,
        details: s.details,
        outcome: status < 400 ? 'ok' : status === 401 || status === 403 ? 'denied' : 'failed',
        status,
        errorCode: s.errorCode,
        sourceIp: req.ip,
        requestId: req.id,
        latencyMs: Math.round((performance.now() - s.startedAt) * 1000) / 1000,
      }),
    );
  });
  app.get('/whoami', { config: { adminAction: 'whoami' } }, async (req) => {
    const id = req.moatAdmin!.identity!;
    return { principal: id.principal, tenant: id.tenant, roles: id.roles, via: id.via, keyId: id.keyId };
  });
  for (const register of opts.routes) register(app);
};
