/**
 * Tables of the embedded identity store, their small forward-only migrations, and the mapping
 * from rows to records.
 */
import type Database from 'better-sqlite3';
import type { RoleGrant } from './access.js';
import type { ApiKeyRecord, KeyScope, LimitOverrides, Principal, StoredRole, Tenant } from './types.js';

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
CREATE TABLE IF NOT EXISTS roles (
  name TEXT PRIMARY KEY,
  grants TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
`;

/** Columns added after the first release; each is added once to an older database. */
const ADDED_COLUMNS: Array<[table: string, column: string, ddl: string]> = [
  ['api_keys', 'scope', "ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'inference'"],
  ['api_keys', 'rotated_from', 'ALTER TABLE api_keys ADD COLUMN rotated_from TEXT'],
];

export function migrate(db: Database.Database): void {
  db.exec(SCHEMA);
  for (const [table, column, ddl] of ADDED_COLUMNS) {
    const cols = db.prepare<[], { name: string }>(`PRAGMA table_info(${table})`).all();
    if (!cols.some((c) => c.name === column)) db.exec(ddl);
  }
}

export interface KeyRow {
  id: string;
  principal: string;
  hash: string;
  hint: string;
  label: string | null;
  scope: string;
  rotated_from: string | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}
export interface PrincipalRow {
  name: string;
  tenant: string;
  roles: string;
  limits: string;
  created_at: string;
}
export interface TenantRow {
  name: string;
  limits: string;
  created_at: string;
}
export interface RoleRow {
  name: string;
  grants: string;
  created_at: string;
  updated_at: string;
}

export const toKey = (r: KeyRow): ApiKeyRecord => ({
  id: r.id,
  principal: r.principal,
  hash: r.hash,
  hint: r.hint,
  label: r.label,
  scope: r.scope as KeyScope,
  rotatedFrom: r.rotated_from,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
});
export const toPrincipal = (r: PrincipalRow): Principal => ({
  name: r.name,
  tenant: r.tenant,
  roles: JSON.parse(r.roles) as string[],
  limits: JSON.parse(r.limits) as LimitOverrides,
  createdAt: r.created_at,
});
export const toTenant = (r: TenantRow): Tenant => ({ name: r.name, limits: JSON.parse(r.limits) as LimitOverrides, createdAt: r.created_at });
export const toRole = (r: RoleRow): StoredRole => ({ name: r.name, grants: JSON.parse(r.grants) as RoleGrant[], createdAt: r.created_at, updatedAt: r.updated_at });
