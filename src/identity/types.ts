/** Identity records shared by stores, the CLI and the pipeline. */

/** Per-principal (or per-key, per-tenant) limit overrides; absent means "use the default". */
export interface LimitOverrides {
  rpm?: number;
  tpm?: number;
  tpd?: number;
  concurrency?: number;
}

export interface Tenant {
  name: string;
  createdAt: string;
  limits: LimitOverrides;
}

export interface Principal {
  name: string;
  tenant: string;
  roles: string[];
  limits: LimitOverrides;
  createdAt: string;
}

export interface ApiKeyRecord {
  id: string;
  principal: string;
  /** HMAC-SHA-256 of the key; the key itself is never stored. */
  hash: string;
  /** Non-secret display hint, e.g. `moat_…x9Qa`. */
  hint: string;
  label: string | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/** Who is calling, as established by the authenticate stage from a verified credential. */
export interface Identity {
  principal: string;
  tenant: string;
  roles: readonly string[];
  /** Set when the credential was an API key. */
  keyId: string | null;
  via: 'api_key' | 'jwt';
  /** Principal-level limits merged with tenant-level ones (the tenant's apply separately). */
  limits: LimitOverrides;
  tenantLimits: LimitOverrides;
}
