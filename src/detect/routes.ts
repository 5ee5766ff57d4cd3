/**
 * Detection routes of the admin API (under /admin/v1, behind requireAdmin and audited by the
 * admin plugin):
 *
 *   GET    /detect/principals[?flagged=true&limit=N]   riskiest first
 *   GET    /detect/principals/:principal               risk, signals, example queries, cluster
 *   POST   /detect/principals/:principal/clear         forget (reviewed, not a thief)
 *   GET    /detect/allow                               the allow-list
 *   PUT    /detect/allow/:principal                    never score or act on it
 *   DELETE /detect/allow/:principal
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { paramsOf, queryOf } from '../admin/body.js';
import type { AdminRoutes } from '../admin/plugin.js';
import { auditNote } from '../admin/require-admin.js';
import { MoatError } from '../errors.js';
import type { DetectService } from './service.js';

const principalParams = z.strictObject({ principal: z.string().regex(/^[A-Za-z0-9][\w.@:-]{0,127}$/, 'expected a principal name of 1-128 letters, digits and . _ @ : -') });
const listQuery = z.strictObject({ flagged: z.enum(['true', 'false']).optional(), limit: z.coerce.number().int().min(1).max(10_000).optional() });

export function detectAdminRoutes(service: DetectService): AdminRoutes {
  return (app: FastifyInstance) => {
    app.get('/detect/principals', { config: { adminAction: 'detect.list' } }, async (req) => {
      const q = queryOf(req, listQuery);
      return { object: 'list', data: service.list(q.flagged === 'true', q.limit ?? 100) };
    });
    app.get('/detect/principals/:principal', { config: { adminAction: 'detect.get' } }, async (req) => {
      const { principal } = paramsOf(req, principalParams);
      auditNote(req, { target: { principal } });
      const r = service.status(principal);
      if (!r) throw new MoatError('NOT_FOUND', { method: 'GET', url: `/admin/v1/detect/principals/${principal} (no detection record for this principal)` });
      return { ...r, allowed: service.engine.allowed.has(principal) };
    });
    app.post('/detect/principals/:principal/clear', { config: { adminAction: 'detect.clear' } }, async (req) => {
      const { principal } = paramsOf(req, principalParams);
      auditNote(req, { target: { principal } });
      return { principal, cleared: service.clear(principal) };
    });
    app.get('/detect/allow', { config: { adminAction: 'detect.allow.list' } }, async () => ({ object: 'list', data: service.store.allowed() }));
    app.put('/detect/allow/:principal', { config: { adminAction: 'detect.allow' } }, async (req) => {
      const { principal } = paramsOf(req, principalParams);
      auditNote(req, { target: { principal } });
      service.allow(principal, null);
      return { principal, allowed: true };
    });
    app.delete('/detect/allow/:principal', { config: { adminAction: 'detect.disallow' } }, async (req) => {
      const { principal } = paramsOf(req, principalParams);
      auditNote(req, { target: { principal } });
      return { principal, allowed: false, removed: service.disallow(principal) };
    });
  };
}
