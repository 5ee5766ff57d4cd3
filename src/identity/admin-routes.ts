/**
 * Identity routes of the admin API (under /admin/v1): tenants, principals, keys, roles, limits.
 * Each handler validates its input, calls IdentityAdmin, and notes target and result for the
 * audit record. A created or rotated key is in the response once and nowhere else.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { bodyOf, paramsOf, queryOf } from '../admin/body.js';
import type { AdminRoutes } from '../admin/plugin.js';
import { auditNote } from '../admin/require-admin.js';
import type { IdentityAdmin } from './admin.js';
import { grantsSchema, limitChangeSchema, limitOverridesSchema, nameSchema } from './schema.js';
import type { LimitOverrides } from './types.js';

const named = z.strictObject({ name: nameSchema });
const keyId = z.strictObject({ id: z.string().regex(/^key_[0-9A-Za-z]{1,64}$/, 'expected a key id such as key_...') });
const MAX_OVERLAP_S = 30 * 86_400;

const newKeySchema = z.strictObject({
  principal: nameSchema,
  tenant: nameSchema.optional(),
  roles: z.array(nameSchema).max(32).optional(),
  limits: limitOverridesSchema.optional(),
  label: z.string().max(200).nullable().optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  expiresInDays: z.number().int().positive().max(3650).optional(),
  scope: z.enum(['inference', 'admin']).optional(),
});

/** The limits that apply to a principal: its overrides over the defaults, and its tenant's. */
export interface LimitView {
  principal: LimitOverrides;
  tenant: LimitOverrides;
}

export interface IdentityRouteDeps {
  admin: IdentityAdmin;
  /** Effective limits for display, from the limits configuration. */
  effectiveLimits: (principal: LimitOverrides, tenant: LimitOverrides) => LimitView;
  /** The configured defaults and the quota store in use. */
  limitsInfo: () => Record<string, unknown>;
}

export function identityAdminRoutes(d: IdentityRouteDeps): AdminRoutes {
  const { admin } = d;
  const target = (req: FastifyRequest, t: Record<string, string>) => auditNote(req, { target: t });
  return (app: FastifyInstance) => {
    // Tenants
    app.get('/tenants', { config: { adminAction: 'tenants.list' } }, async () => ({ data: await admin.listTenants() }));
    app.post('/tenants', { config: { adminAction: 'tenants.create' } }, async (req, reply) => {
      const b = bodyOf(req, z.strictObject({ name: nameSchema, limits: limitOverridesSchema.optional() }));
      target(req, { tenant: b.name });
      auditNote(req, { details: { limits: b.limits ?? {} } });
      return reply.code(201).send(await admin.createTenant(b.name, b.limits));
    });
    app.get('/tenants/:name', { config: { adminAction: 'tenants.get' } }, async (req) => {
      const { name } = paramsOf(req, named);
      target(req, { tenant: name });
      return admin.getTenant(name);
    });
    app.patch('/tenants/:name', { config: { adminAction: 'tenants.update' } }, async (req) => {
      const { name } = paramsOf(req, named);
      target(req, { tenant: name });
      const b = bodyOf(req, z.strictObject({ limits: limitChangeSchema }));
      auditNote(req, { details: { limits: b.limits } });
      return admin.updateTenant(name, b.limits);
    });

    // Principals
    app.get('/principals', { config: { adminAction: 'principals.list' } }, async (req) => {
      const q = queryOf(req, z.strictObject({ tenant: nameSchema.optional() }));
      return { data: await admin.listPrincipals(q.tenant) };
    });
    app.post('/principals', { config: { adminAction: 'principals.create' } }, async (req, reply) => {
      const b = bodyOf(req, z.strictObject({ name: nameSchema, tenant: nameSchema.optional(), roles: z.array(nameSchema).max(32).optional(), limits: limitOverridesSchema.optional() }));
      target(req, { principal: b.name });
      auditNote(req, { details: { tenant: b.tenant ?? 'default', roles: b.roles ?? ['user'], limits: b.limits ?? {} } });
      return reply.code(201).send(await admin.createPrincipal(b));
    });
    app.get('/principals/:name', { config: { adminAction: 'principals.get' } }, async (req) => {
      const { name } = paramsOf(req, named);
      target(req, { principal: name });
      return admin.getPrincipal(name);
    });
    app.patch('/principals/:name', { config: { adminAction: 'principals.update' } }, async (req) => {
      const { name } = paramsOf(req, named);
      target(req, { principal: name });
      const roles = z.array(nameSchema).max(32).optional();
      const b = bodyOf(req, z.strictObject({ roles, addRoles: roles, removeRoles: roles, limits: limitChangeSchema.optional() }));
      auditNote(req, { details: { change: b } });
      return admin.updatePrincipal(name, b);
    });

    // Limits
    app.get('/limits', { config: { adminAction: 'limits.get' } }, async () => d.limitsInfo());
    app.get('/principals/:name/limits', { config: { adminAction: 'limits.principal.get' } }, async (req) => {
      const { name } = paramsOf(req, named);
      target(req, { principal: name });
      const p = await admin.getPrincipal(name);
      const t = await admin.getTenant(p.tenant).catch(() => ({ limits: {} }));
      return { principal: name, tenant: p.tenant, overrides: { principal: p.limits, tenant: t.limits }, effective: d.effectiveLimits(p.limits, t.limits) };
    });

    // Keys
    app.get('/keys', { config: { adminAction: 'keys.list' } }, async (req) => {
      const q = queryOf(req, z.strictObject({ principal: nameSchema.optional() }));
      return { data: await admin.listKeys(q.principal) };
    });
    app.post('/keys', { config: { adminAction: 'keys.create' } }, async (req, reply) => {
      const b = bodyOf(req, newKeySchema);
      target(req, { principal: b.principal });
      const expiresAt = b.expiresAt ? new Date(b.expiresAt) : b.expiresInDays ? new Date(Date.now() + b.expiresInDays * 86_400_000) : null;
      const created = await admin.createKey({ ...b, expiresAt });
      auditNote(req, { details: { keyId: created.id, scope: created.scope, tenant: created.tenant, principalCreated: created.principalCreated, expiresAt: created.expiresAt } });
      return reply.code(201).send(created);
    });
    app.get('/keys/:id', { config: { adminAction: 'keys.get' } }, async (req) => {
      const { id } = paramsOf(req, keyId);
      target(req, { key: id });
      return admin.getKey(id);
    });
    app.post('/keys/:id/revoke', { config: { adminAction: 'keys.revoke' } }, async (req) => {
      const { id } = paramsOf(req, keyId);
      target(req, { key: id });
      const r = await admin.revokeKey(id);
      auditNote(req, { details: { alreadyRevoked: !r.changed } });
      return { ...r.key, alreadyRevoked: !r.changed };
    });
    app.post('/keys/:id/rotate', { config: { adminAction: 'keys.rotate' } }, async (req, reply) => {
      const { id } = paramsOf(req, keyId);
      target(req, { key: id });
      const b = bodyOf(req, z.strictObject({ overlapSeconds: z.number().int().nonnegative().max(MAX_OVERLAP_S).default(86_400) }));
      const r = await admin.rotateKey(id, b.overlapSeconds * 1000);
      auditNote(req, { details: { newKeyId: r.id, overlapSeconds: b.overlapSeconds, oldExpiresAt: r.oldExpiresAt } });
      return reply.code(201).send(r);
    });

    // Roles
    app.get('/roles', { config: { adminAction: 'roles.list' } }, async () => ({ data: admin.listRoles() }));
    app.put('/roles/:name', { config: { adminAction: 'roles.put' } }, async (req, reply) => {
      const { name } = paramsOf(req, named);
      target(req, { role: name });
      const b = bodyOf(req, z.strictObject({ grants: grantsSchema }));
      auditNote(req, { details: { grants: b.grants } });
      const r = await admin.putRole(name, b.grants);
      return reply.code(r.created ? 201 : 200).send(r.role);
    });
    app.delete('/roles/:name', { config: { adminAction: 'roles.delete' } }, async (req, reply) => {
      const { name } = paramsOf(req, named);
      target(req, { role: name });
      await admin.deleteRole(name);
      return reply.code(204).send();
    });
  };
}
