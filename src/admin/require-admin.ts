/**
 * Authentication for the admin API, apart from inference: an admin-scoped API key or a JWT, and
 * in both cases a principal holding a role that grants `admin`. Exported for every domain that
 * serves routes under /admin/v1.
 *
 * @example
 *   app.get('/admin/v1/thing', { preHandler: requireAdmin(auth, roles) }, handler);
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MoatError } from '../errors.js';
import type { JsonObject } from '../pipeline/context.js';
import { isAdmin, type RoleTable } from '../identity/access.js';
import type { Authenticator } from '../identity/authenticator.js';
import type { Identity } from '../identity/types.js';

/** What the admin API knows about a request while it runs; the audit record is built from it. */
export interface AdminRequestState {
  /** Set once the credential verified, even when the principal turns out not to be an admin. */
  identity: Identity | null;
  target: JsonObject;
  details: JsonObject;
  errorCode: string | null;
  startedAt: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    moatAdmin: AdminRequestState | null;
  }
  interface FastifyContextConfig {
    /** Dotted action name recorded in the audit log, e.g. `keys.revoke`. */
    adminAction?: string;
  }
}

export function adminState(req: FastifyRequest): AdminRequestState {
  req.moatAdmin ??= { identity: null, target: {}, details: {}, errorCode: null, startedAt: performance.now() };
  return req.moatAdmin;
}

/** Adds what an action was about and did to its audit record (never a secret). */
export function auditNote(req: FastifyRequest, note: { target?: JsonObject; details?: JsonObject }): void {
  const s = adminState(req);
  if (note.target) Object.assign(s.target, note.target);
  if (note.details) Object.assign(s.details, note.details);
}

/** The verified administrator of a request that passed requireAdmin. */
export function adminOf(req: FastifyRequest): Identity {
  const id = req.moatAdmin?.identity;
  if (!id) throw new MoatError('INTERNAL', { requestId: req.id });
  return id;
}

/** A Fastify hook that admits only administrators (401 without credentials, 403 without the right). */
export function requireAdmin(auth: Authenticator, roles: RoleTable) {
  return async function requireAdminHook(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const state = adminState(req);
    state.identity = await auth.authenticate(req.headers, req.ip, 'admin');
    if (!isAdmin(roles, state.identity.roles)) throw new MoatError('FORBIDDEN', { action: 'administration' });
  };
}
