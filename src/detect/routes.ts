/**
 * Admin API for detection, as a Fastify plugin. The admin-auth preHandler is a parameter, so
 * the gateway can pass whichever admin check it uses.
 *
 *   GET    /admin/v1/detect/principals[?flagged=true&limit=N]   riskiest first
 *   GET    /admin/v1/detect/principals/:principal               risk, signals, examples
 *   POST   /admin/v1/detect/principals/:principal/clear         forget (reviewed, not a thief)
 *   GET    /admin/v1/detect/allow                               the allow-list
 *   PUT    /admin/v1/detect/allow/:principal                    never score or act on it
 *   DELETE /admin/v1/detect/allow/:principal
 */
import type { FastifyInstance, preHandlerHookHandler } from 'fastify';
import { MoatError } from '../errors.js';
import type { DetectService } from './service.js';

const PRINCIPAL = /^[A-Za-z0-9][\w.@:-]{0,127}$/;

function principalParam(v: unknown): string {
  if (typeof v !== 'string' || !PRINCIPAL.test(v)) throw new MoatError('INVALID_REQUEST', { detail: 'the principal name must be 1-128 letters, digits and . _ @ : -' });
  return v;
}

export function detectAdminRoutes(service: DetectService, requireAdmin: preHandlerHookHandler) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const opts = { preHandler: requireAdmin };
    app.get('/admin/v1/detect/principals', opts, async (req) => {
      const q = req.query as { flagged?: string; limit?: string };
      const limit = Math.min(10_000, Math.max(1, Number(q.limit ?? 100) || 100));
      return { object: 'list', data: service.list(q.flagged === 'true', limit) };
    });
    app.get('/admin/v1/detect/principals/:principal', opts, async (req) => {
      const p = principalParam((req.params as { principal?: unknown }).principal);
      const r = service.status(p);
      if (!r) throw new MoatError('NOT_FOUND', { method: 'GET', url: `/admin/v1/detect/principals/${p} (no detection record for this principal)` });
      return { ...r, allowed: service.engine.allowed.has(p) };
    });
    app.post('/admin/v1/detect/principals/:principal/clear', opts, async (req) => {
      const p = principalParam((req.params as { principal?: unknown }).principal);
      return { principal: p, cleared: service.clear(p) };
    });
    app.get('/admin/v1/detect/allow', opts, async () => ({ object: 'list', data: service.store.allowed() }));
    app.put('/admin/v1/detect/allow/:principal', opts, async (req) => {
      const p = principalParam((req.params as { principal?: unknown }).principal);
      service.allow(p, null);
      return { principal: p, allowed: true };
    });
    app.delete('/admin/v1/detect/allow/:principal', opts, async (req) => {
      const p = principalParam((req.params as { principal?: unknown }).principal);
      return { principal: p, allowed: false, removed: service.disallow(p) };
    });
  };
}
