/**
 * Identity store on SQLite under the data directory. WAL mode lets `moat keys create` (another
 * process) write while `moat serve` reads; a busy timeout makes the two wait for each other
 * instead of failing.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { ensureDataDir } from '../config/data-dir.js';
import type { ApiKeyRecord, LimitOverrides, Principal, Tenant } from './types.js';
import type { IdentityStore, NewKey } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tenants (
  name TEXT PRIMARY KEY,
  limits TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS principals (
  name TEXT PRIMARY KEY,
  tenant TEXT NOT NULL REFERENCES tenants(name),
  roles TEXT NOT NULL DEFAULT '[]',
  limits TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  principal TEXT NOT NULL REFERENCES principals(name),
  hash TEXT NOT NULL UNIQUE,
  hint TEXT NOT NULL,
  label TEXT,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT,
  last_used_at TEXT
);
CREATE INDEX IF NOT EXISTS api_keys_principal ON api_keys(principal);
`;

interface KeyRow {
  id: string;
  principal: string;
  hash: string;
  hint: string;
  label: string | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}
interface PrincipalRow {
  name: string;
  tenant: string;
  roles: string;
  limits: string;
  created_at: string;
}
interface TenantRow {
  name: string;
  limits: string;
  created_at: string;
}

const toKey = (r: KeyRow): ApiKeyRecord => ({
  id: r.id,
  principal: r.principal,
  hash: r.hash,
  hint: r.hint,
  label: r.label,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
});
const toPrincipal = (r: PrincipalRow): Principal => ({
  name: r.name,
  tenant: r.tenant,
  roles: JSON.parse(r.roles) as string[],
  limits: JSON.parse(r.limits) as LimitOverrides,
  createdAt: r.created_at,
});
const toTenant = (r: TenantRow): Tenant => ({ name: r.name, limits: JSON.parse(r.limits) as LimitOverrides, createdAt: r.created_at });

export class SqliteIdentityStore implements IdentityStore {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(dataDir: string) {
    this.db = new Database(join(ensureDataDir(dataDir), 'identity.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    this.stmts = {
      keyByHash: this.db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE hash = ?'),
      keyById: this.db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE id = ?'),
      principal: this.db.prepare<[string], PrincipalRow>('SELECT * FROM principals WHERE name = ?'),
      tenant: this.db.prepare<[string], TenantRow>('SELECT * FROM tenants WHERE name = ?'),
      insertTenant: this.db.prepare('INSERT OR IGNORE INTO tenants (name, limits, created_at) VALUES (?, ?, ?)'),
      insertPrincipal: this.db.prepare('INSERT OR IGNORE INTO principals (name, tenant, roles, limits, created_at) VALUES (?, ?, ?, ?, ?)'),
      insertKey: this.db.prepare(
        'INSERT INTO api_keys (id, principal, hash, hint, label, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      revoke: this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      touch: this.db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?'),
      keys: this.db.prepare<[], KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id'),
      keysOf: this.db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE principal = ? ORDER BY created_at, id'),
    };
  }

  async findKeyByHash(hash: string) {
    const row = this.stmts.keyByHash.get(hash);
    if (!row) return null;
    const p = this.stmts.principal.get(row.principal);
    if (!p) return null;
    const t = this.stmts.tenant.get(p.tenant);
    return { key: toKey(row), principal: toPrincipal(p), tenant: t ? toTenant(t) : null };
  }

  async getPrincipal(name: string) {
    const p = this.stmts.principal.get(name);
    return p ? toPrincipal(p) : null;
  }

  async ensurePrincipal(p: { name: string; tenant: string; roles: string[]; limits: LimitOverrides }) {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.stmts.insertTenant.run(p.tenant, '{}', now);
      this.stmts.insertPrincipal.run(p.name, p.tenant, JSON.stringify(p.roles), JSON.stringify(p.limits), now);
    })();
    const row = this.stmts.principal.get(p.name);
    if (!row) throw new Error(`principal ${p.name} could not be created`);
    return { principal: toPrincipal(row), created: row.created_at === now };
  }

  async createKey(k: NewKey) {
    const now = new Date().toISOString();
    this.stmts.insertKey.run(k.id, k.principal, k.hash, k.hint, k.label ?? null, now, k.expiresAt ?? null);
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

  async touchKeys(used: ReadonlyMap<string, Date>) {
    if (used.size === 0) return;
    this.db.transaction(() => {
      for (const [id, at] of used) this.stmts.touch.run(at.toISOString(), id);
    })();
  }

  async close() {
    this.db.close();
  }
}
