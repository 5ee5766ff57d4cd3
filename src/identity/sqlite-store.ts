/**
 * Identity store on SQLite under the data directory. WAL mode lets `moat keys create` (another
 * process) write while `moat serve` reads; a busy timeout makes the two wait for each other
 * instead of failing. Every statement is prepared once.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { ensureDataDir } from '../config/data-dir.js';
import type { RoleGrant } from './access.js';
import { migrate, toKey, toPrincipal, toRole, toTenant, type KeyRow, type PrincipalRow, type RoleRow, type TenantRow } from './sqlite-schema.js';
import type { IdentityStore, NewKey, NewPrincipal } from './store.js';
import type { LimitOverrides } from './types.js';

export class SqliteIdentityStore implements IdentityStore {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(dataDir: string) {
    this.db = new Database(join(ensureDataDir(dataDir), 'identity.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    migrate(this.db);
    const db = this.db;
    this.stmts = {
      keyByHash: db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE hash = ?'),
      keyById: db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE id = ?'),
      principal: db.prepare<[string], PrincipalRow>('SELECT * FROM principals WHERE name = ?'),
      principals: db.prepare<[], PrincipalRow>('SELECT * FROM principals ORDER BY name'),
      principalsOf: db.prepare<[string], PrincipalRow>('SELECT * FROM principals WHERE tenant = ? ORDER BY name'),
      setPrincipal: db.prepare<[string, string, string]>('UPDATE principals SET roles = ?, limits = ? WHERE name = ?'),
      tenant: db.prepare<[string], TenantRow>('SELECT * FROM tenants WHERE name = ?'),
      tenants: db.prepare<[], TenantRow>('SELECT * FROM tenants ORDER BY name'),
      setTenant: db.prepare<[string, string]>('UPDATE tenants SET limits = ? WHERE name = ?'),
      insertTenant: db.prepare<[string, string, string]>('INSERT OR IGNORE INTO tenants (name, limits, created_at) VALUES (?, ?, ?)'),
      insertPrincipal: db.prepare<[string, string, string, string, string]>(
        'INSERT OR IGNORE INTO principals (name, tenant, roles, limits, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      insertKey: db.prepare(
        'INSERT INTO api_keys (id, principal, hash, hint, label, scope, rotated_from, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      revoke: db.prepare<[string, string]>('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      expireBy: db.prepare<[string, string, string]>('UPDATE api_keys SET expires_at = ? WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)'),
      touch: db.prepare<[string, string]>('UPDATE api_keys SET last_used_at = ? WHERE id = ?'),
      keys: db.prepare<[], KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id'),
      keysOf: db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE principal = ? ORDER BY created_at, id'),
      roles: db.prepare<[], RoleRow>('SELECT * FROM roles ORDER BY name'),
      role: db.prepare<[string], RoleRow>('SELECT * FROM roles WHERE name = ?'),
      upsertRole: db.prepare<[string, string, string, string]>(
        'INSERT INTO roles (name, grants, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET grants = excluded.grants, updated_at = excluded.updated_at',
      ),
      deleteRole: db.prepare<[string]>('DELETE FROM roles WHERE name = ?'),
    };
  }

  async findKeyByHash(hash: string) {
    const row = this.stmts.keyByHash.get(hash);
    if (!row) return null;
    const found = await this.findPrincipal(row.principal);
    return found ? { key: toKey(row), ...found } : null;
  }

  async findPrincipal(name: string) {
    const p = this.stmts.principal.get(name);
    if (!p) return null;
    const t = this.stmts.tenant.get(p.tenant);
    return { principal: toPrincipal(p), tenant: t ? toTenant(t) : null };
  }

  async getPrincipal(name: string) {
    const p = this.stmts.principal.get(name);
    return p ? toPrincipal(p) : null;
  }

  async listPrincipals(tenant?: string) {
    return (tenant === undefined ? this.stmts.principals.all() : this.stmts.principalsOf.all(tenant)).map(toPrincipal);
  }

  async ensurePrincipal(p: NewPrincipal) {
    const now = new Date().toISOString();
    const created = this.db.transaction(() => {
      this.stmts.insertTenant.run(p.tenant, '{}', now);
      return this.stmts.insertPrincipal.run(p.name, p.tenant, JSON.stringify(p.roles), JSON.stringify(p.limits), now).changes > 0;
    })();
    const row = this.stmts.principal.get(p.name);
    if (!row) throw new Error('the principal could not be created');
    return { principal: toPrincipal(row), created };
  }

  async updatePrincipal(name: string, change: { roles?: string[]; limits?: LimitOverrides }) {
    const cur = this.stmts.principal.get(name);
    if (!cur) return null;
    const roles = change.roles ? JSON.stringify(change.roles) : cur.roles;
    const limits = change.limits ? JSON.stringify(change.limits) : cur.limits;
    this.stmts.setPrincipal.run(roles, limits, name);
    return toPrincipal(this.stmts.principal.get(name)!);
  }

  async getTenant(name: string) {
    const t = this.stmts.tenant.get(name);
    return t ? toTenant(t) : null;
  }

  async listTenants() {
    return this.stmts.tenants.all().map(toTenant);
  }

  async createTenant(t: { name: string; limits: LimitOverrides }) {
    const changes = this.stmts.insertTenant.run(t.name, JSON.stringify(t.limits), new Date().toISOString()).changes;
    return changes > 0 ? toTenant(this.stmts.tenant.get(t.name)!) : null;
  }

  async updateTenant(name: string, change: { limits: LimitOverrides }) {
    if (this.stmts.setTenant.run(JSON.stringify(change.limits), name).changes === 0) return null;
    return toTenant(this.stmts.tenant.get(name)!);
  }

  async createKey(k: NewKey) {
    const now = new Date().toISOString();
    this.stmts.insertKey.run(k.id, k.principal, k.hash, k.hint, k.label ?? null, k.scope ?? 'inference', k.rotatedFrom ?? null, now, k.expiresAt ?? null);
    return toKey(this.stmts.keyById.get(k.id)!);
  }

  async getKey(id: string) {
    const row = this.stmts.keyById.get(id);
    return row ? toKey(row) : null;
  }

  async listKeys(principal?: string) {
    const rows = principal ? this.stmts.keysOf.all(principal) : this.stmts.keys.all();
    return rows.map(toKey);
  }

  async revokeKey(id: string, at = new Date()) {
    return this.stmts.revoke.run(at.toISOString(), id).changes > 0;
  }

  async expireKeyBy(id: string, at: Date) {
    const iso = at.toISOString();
    return this.stmts.expireBy.run(iso, id, iso).changes > 0;
  }

  async touchKeys(used: ReadonlyMap<string, Date>) {
    if (used.size === 0) return;
    this.db.transaction(() => {
      for (const [id, at] of used) this.stmts.touch.run(at.toISOString(), id);
    })();
  }

  async listRoles() {
    return this.stmts.roles.all().map(toRole);
  }

  async putRole(name: string, grants: RoleGrant[]) {
    const now = new Date().toISOString();
    const created = !this.stmts.role.get(name);
    this.stmts.upsertRole.run(name, JSON.stringify(grants), now, now);
    return { role: toRole(this.stmts.role.get(name)!), created };
  }

  async deleteRole(name: string) {
    return this.stmts.deleteRole.run(name).changes > 0;
  }

  async close() {
    this.db.close();
  }
}
