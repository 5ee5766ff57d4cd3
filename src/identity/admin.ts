/**
 * Administration of tenants, principals, keys and roles: the one implementation behind both the
 * admin API and the CLI. Every refusal is a MoatError with a stable code, so the API answers it
 * as JSON and the CLI prints its message. Changes made here are visible in this process at once
 * (caches are dropped) and on other replicas within the identity cache TTL.
 */
import { MoatError } from '../errors.js';
import { isAdmin, type RoleGrant } from './access.js';
import type { ApiKeys, CreateKeyInput, CreatedKey } from './api-keys.js';
import type { RoleRegistry, RoleView } from './roles.js';
import type { IdentityStore } from './store.js';
import { LIMIT_NAMES, type ApiKeyRecord, type LimitOverrides, type Principal, type PublicKeyRecord, type Tenant } from './types.js';

export type LimitChange = { [K in keyof LimitOverrides]?: number | null };

/** Applies a change to limit overrides: a number sets, null removes, absent keeps. */
export function mergeLimits(cur: LimitOverrides, change: LimitChange): LimitOverrides {
  const out: LimitOverrides = { ...cur };
  for (const k of LIMIT_NAMES) {
    const v = change[k];
    if (v === null) delete out[k];
    else if (v !== undefined) out[k] = v;
  }
  return out;
}

export function publicKey({ hash: _hash, ...rest }: ApiKeyRecord): PublicKeyRecord {
  return rest;
}

export type KeyState = 'active' | 'revoked' | 'expired';
export function keyState(k: Pick<ApiKeyRecord, 'revokedAt' | 'expiresAt'>, now = Date.now()): KeyState {
  if (k.revokedAt) return 'revoked';
  if (k.expiresAt && Date.parse(k.expiresAt) <= now) return 'expired';
  return 'active';
}

export type NewKeyRequest = CreateKeyInput;

const unknown = (kind: string, name: string, list: string) => new MoatError('ADMIN_UNKNOWN', { kind, name: name.slice(0, 128), list });
const conflict = (kind: string, name: string, detail: string) => new MoatError('ADMIN_CONFLICT', { kind, name: name.slice(0, 128), detail });

export class IdentityAdmin {
  constructor(
    readonly store: IdentityStore,
    readonly keys: ApiKeys,
    readonly roles: RoleRegistry,
    /** Drops this process's cached credentials after a change (keys, and JWT principals when enabled). */
    private readonly invalidate: () => void = () => keys.invalidate(),
  ) {}

  // Tenants

  listTenants(): Promise<Tenant[]> {
    return this.store.listTenants();
  }

  async getTenant(name: string): Promise<Tenant> {
    const t = await this.store.getTenant(name);
    if (!t) throw unknown('tenant', name, 'tenants');
    return t;
  }

  async createTenant(name: string, limits: LimitOverrides = {}): Promise<Tenant> {
    const t = await this.store.createTenant({ name, limits });
    if (!t) throw conflict('tenant', name, 'already exists');
    return t;
  }

  async updateTenant(name: string, limits: LimitChange): Promise<Tenant> {
    const cur = await this.getTenant(name);
    const t = await this.store.updateTenant(name, { limits: mergeLimits(cur.limits, limits) });
    this.invalidate();
    return t!;
  }

  // Principals

  listPrincipals(tenant?: string): Promise<Principal[]> {
    return this.store.listPrincipals(tenant);
  }

  async getPrincipal(name: string): Promise<Principal & { keys: PublicKeyRecord[] }> {
    const p = await this.store.getPrincipal(name);
    if (!p) throw unknown('principal', name, 'principals');
    return { ...p, keys: (await this.store.listKeys(name)).map(publicKey) };
  }

  async createPrincipal(p: { name: string; tenant?: string; roles?: string[]; limits?: LimitOverrides }): Promise<Principal> {
    const roles = this.checkRoles(p.roles ?? ['user']);
    const r = await this.store.ensurePrincipal({ name: p.name, tenant: p.tenant ?? 'default', roles, limits: p.limits ?? {} });
    if (!r.created) throw conflict('principal', p.name, 'already exists');
    return r.principal;
  }

  async updatePrincipal(name: string, change: { roles?: string[]; addRoles?: string[]; removeRoles?: string[]; limits?: LimitChange }): Promise<Principal> {
    const cur = await this.store.getPrincipal(name);
    if (!cur) throw unknown('principal', name, 'principals');
    let roles = change.roles ? this.checkRoles(change.roles) : cur.roles;
    if (change.addRoles) roles = [...new Set([...roles, ...this.checkRoles(change.addRoles)])];
    if (change.removeRoles) roles = roles.filter((r) => !change.removeRoles!.includes(r));
    const limits = change.limits ? mergeLimits(cur.limits, change.limits) : cur.limits;
    const p = await this.store.updatePrincipal(name, { roles, limits });
    this.invalidate();
    return p!;
  }

  // Keys

  async listKeys(principal?: string): Promise<PublicKeyRecord[]> {
    return (await this.store.listKeys(principal)).map(publicKey);
  }

  async getKey(id: string): Promise<PublicKeyRecord> {
    const k = await this.store.getKey(id);
    if (!k) throw unknown('key', id, 'keys');
    return publicKey(k);
  }

  /**
   * Creates a key; a missing principal is created (with its tenant) from the request. For an
   * existing principal, roles and limits in the request are ignored (`principalCreated` is false)
   * and a different tenant is refused.
   */
  async createKey(req: NewKeyRequest): Promise<CreatedKey> {
    const scope = req.scope ?? 'inference';
    const existing = await this.store.getPrincipal(req.principal);
    if (existing) {
      if (req.tenant !== undefined && req.tenant !== existing.tenant) throw conflict('principal', req.principal, `belongs to tenant '${existing.tenant}', not '${req.tenant.slice(0, 128)}'`);
      if (scope === 'admin' && !isAdmin(this.roles, existing.roles)) {
        throw conflict('principal', req.principal, "holds no role that grants 'admin'; add one first (moat principals update NAME --add-role admin)");
      }
    } else {
      const roles = this.checkRoles(req.roles ?? [scope === 'admin' ? 'admin' : 'user']);
      if (scope === 'admin' && !isAdmin(this.roles, roles)) throw new MoatError('INVALID_REQUEST', { detail: "an admin key needs a principal with a role that grants 'admin'" });
      req = { ...req, roles };
    }
    return this.keys.create(req);
  }

  async revokeKey(id: string): Promise<{ key: PublicKeyRecord; changed: boolean }> {
    await this.getKey(id);
    const changed = await this.store.revokeKey(id);
    this.invalidate();
    return { key: await this.getKey(id), changed };
  }

  /** Issues a replacement key; the old one keeps working for `overlapMs`, then expires. */
  async rotateKey(id: string, overlapMs: number): Promise<CreatedKey & { oldExpiresAt: string; rotatedFrom: string }> {
    const old = await this.store.getKey(id);
    if (!old) throw unknown('key', id, 'keys');
    const state = keyState(old);
    if (state !== 'active') throw conflict('key', id, `is ${state}; create a new key instead`);
    const r = await this.keys.rotate(old, overlapMs);
    return { ...r, rotatedFrom: id };
  }

  // Roles

  listRoles(): RoleView[] {
    return this.roles.list();
  }

  async putRole(name: string, grants: RoleGrant[]): Promise<{ role: RoleView; created: boolean }> {
    this.checkWritable(name);
    const r = await this.store.putRole(name, grants);
    await this.roles.refresh();
    return { role: { name, source: 'stored', grants: r.role.grants }, created: r.created };
  }

  async deleteRole(name: string): Promise<void> {
    this.checkWritable(name);
    if (!(await this.store.deleteRole(name))) throw unknown('role', name, 'roles');
    await this.roles.refresh();
  }

  private checkWritable(name: string): void {
    const source = this.roles.sourceOf(name);
    if (source === 'builtin' || source === 'config') throw new MoatError('ROLE_READ_ONLY', { name, source: source === 'builtin' ? 'built in' : 'defined in moat.yaml' });
  }

  private checkRoles(roles: string[]): string[] {
    const missing = roles.filter((r) => !this.roles.has(r));
    if (missing.length) throw new MoatError('INVALID_REQUEST', { detail: `unknown role ${missing.map((m) => `'${m.slice(0, 64)}'`).join(', ')} (see GET /admin/v1/roles or moat roles list)` }, { param: 'roles' });
    return [...new Set(roles)];
  }
}
