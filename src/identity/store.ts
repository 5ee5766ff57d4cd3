/**
 * The identity store contract. SQLite is the embedded default; a PostgreSQL store can implement
 * the same. Creations return null when the name is taken; updates return null when the entity
 * does not exist. The store never sees a key, only its keyed hash.
 */
import type { RoleGrant } from './access.js';
import type { ApiKeyRecord, KeyScope, LimitOverrides, Principal, StoredRole, Tenant } from './types.js';

export interface NewKey {
  id: string;
  principal: string;
  hash: string;
  hint: string;
  label?: string | null;
  expiresAt?: string | null;
  scope?: KeyScope;
  rotatedFrom?: string | null;
}

export interface NewPrincipal {
  name: string;
  tenant: string;
  roles: string[];
  limits: LimitOverrides;
}

export interface KeyLookup {
  key: ApiKeyRecord;
  principal: Principal;
  tenant: Tenant | null;
}

export interface PrincipalLookup {
  principal: Principal;
  tenant: Tenant | null;
}

export interface IdentityStore {
  findKeyByHash(hash: string): Promise<KeyLookup | null>;
  findPrincipal(name: string): Promise<PrincipalLookup | null>;
  getPrincipal(name: string): Promise<Principal | null>;
  listPrincipals(tenant?: string): Promise<Principal[]>;
  /** Creates the principal (and its tenant) unless it exists; never changes an existing one. */
  ensurePrincipal(p: NewPrincipal): Promise<{ principal: Principal; created: boolean }>;
  updatePrincipal(name: string, change: { roles?: string[]; limits?: LimitOverrides }): Promise<Principal | null>;

  getTenant(name: string): Promise<Tenant | null>;
  listTenants(): Promise<Tenant[]>;
  createTenant(t: { name: string; limits: LimitOverrides }): Promise<Tenant | null>;
  updateTenant(name: string, change: { limits: LimitOverrides }): Promise<Tenant | null>;

  createKey(k: NewKey): Promise<ApiKeyRecord>;
  getKey(id: string): Promise<ApiKeyRecord | null>;
  listKeys(principal?: string): Promise<ApiKeyRecord[]>;
  revokeKey(id: string, at?: Date): Promise<boolean>;
  /** Moves the expiry of a key earlier (never later); used by rotation to end the overlap window. */
  expireKeyBy(id: string, at: Date): Promise<boolean>;
  /** Records last-used times in one batch (called off the request path). */
  touchKeys(used: ReadonlyMap<string, Date>): Promise<void>;

  listRoles(): Promise<StoredRole[]>;
  putRole(name: string, grants: RoleGrant[]): Promise<{ role: StoredRole; created: boolean }>;
  deleteRole(name: string): Promise<boolean>;

  close(): Promise<void>;
}
