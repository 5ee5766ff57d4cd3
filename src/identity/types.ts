/** Identity records shared by stores, the CLI, the admin API and the pipeline. */
import type { RoleGrant } from './access.js';

/** Per-principal or per-tenant limit overrides; absent means "use the configured default", 0 means "no limit". */
export interface LimitOverrides {
  rpm?: number;
  tpm?: number;
  tpd?: number;
  concurrency?: number;
}

export const LIMIT_NAMES = ['rpm', 'tpm', 'tpd', 'concurrency'] as const satisfies readonly (keyof LimitOverrides)[];

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

/**
 * What a key may be used for. Inference keys work only on `/v1`, admin keys only on
 * `/admin/v1`, so that a leaked inference key of an administrator grants no administration.
 */
export type KeyScope = 'inference' | 'admin';

export interface ApiKeyRecord {
  id: string;
  principal: string;
  /** HMAC-SHA-256 of the key; the key itself is never stored. */
  hash: string;
  /** Non-secret display hint, e.g. `moat_…x9Qa`. */
  hint: string;
  label: string | null;
  scope: KeyScope;
  /** The key this one replaced, when it was created by a rotation. */
  rotatedFrom: string | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/** A key as shown by listings and the admin API: everything but the hash. */
export type PublicKeyRecord = Omit<ApiKeyRecord, 'hash'>;

/** A role defined through the admin API or the CLI (roles in moat.yaml are not stored). */
export interface StoredRole {
  name: string;
  grants: RoleGrant[];
  createdAt: string;
  updatedAt: string;
}

/**
 * Who is calling, as established by the authenticate stage from a verified credential. One
 * object is shared by the requests a cached credential serves, so it is frozen: read it, never
 * change it.
 */
export interface Identity {
  readonly principal: string;
  readonly tenant: string;
  readonly roles: readonly string[];
  /** Set when the credential was an API key. */
  readonly keyId: string | null;
  readonly via: 'api_key' | 'jwt';
  /** The principal's own limit overrides. */
  readonly limits: Readonly<LimitOverrides>;
  /** The tenant's limit overrides (its buckets are shared by every principal of the tenant). */
  readonly tenantLimits: Readonly<LimitOverrides>;
}
