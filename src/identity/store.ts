/** The identity store contract. SQLite is the embedded default; a PostgreSQL store can implement the same. */
import type { ApiKeyRecord, LimitOverrides, Principal, Tenant } from './types.js';

export interface NewKey {
  id: string;
  principal: string;
  hash: string;
  hint: string;
  label?: string | null;
  expiresAt?: string | null;
}

export interface KeyLookup {
  key: ApiKeyRecord;
  principal: Principal;
  tenant: Tenant | null;
}

export interface IdentityStore {
  findKeyByHash(hash: string): Promise<KeyLookup | null>;
  getPrincipal(name: string): Promise<Principal | null>;
  /** Creates the principal (and its tenant) unless it exists; never changes an existing one. */
  ensurePrincipal(p: { name: string; tenant: string; roles: string[]; limits: LimitOverrides }): Promise<{ principal: Principal; created: boolean }>;
  createKey(k: NewKey): Promise<ApiKeyRecord>;
  getKey(id: string): Promise<ApiKeyRecord | null>;
  listKeys(principal?: string): Promise<ApiKeyRecord[]>;
  revokeKey(id: string, at?: Date): Promise<boolean>;
  /** Records last-used times in one batch (called off the request path). */
  touchKeys(used: ReadonlyMap<string, Date>): Promise<void>;
  close(): Promise<void>;
}
