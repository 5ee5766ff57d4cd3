/**
 * Creating and verifying API keys. Verification hashes the presented key with the server secret,
 * looks the hash up (through a short-lived cache, so that a revocation reaches every replica
 * within `cacheTtlMs`), and checks expiry and revocation on every request.
 */
import { MoatError } from '../errors.js';
import { generateApiKey, hashApiKey, hashesEqual, isWellFormedKey } from './api-key.js';
import type { IdentityStore, KeyLookup } from './store.js';
import type { Identity, LimitOverrides } from './types.js';

export interface CreateKeyInput {
  principal: string;
  tenant?: string;
  roles?: string[];
  limits?: LimitOverrides;
  label?: string | null;
  expiresAt?: Date | null;
}

export interface CreatedKey {
  id: string;
  key: string;
  principal: string;
  tenant: string;
  hint: string;
  principalCreated: boolean;
}

interface CacheEntry {
  lookup: KeyLookup | null;
  until: number;
}

const MAX_CACHE = 50_000;

export class ApiKeys {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly used = new Map<string, Date>();

  constructor(
    readonly store: IdentityStore,
    private readonly secret: Buffer,
    private readonly cacheTtlMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  async create(input: CreateKeyInput): Promise<CreatedKey> {
    const { principal, created } = await this.store.ensurePrincipal({
      name: input.principal,
      tenant: input.tenant ?? 'default',
      roles: input.roles ?? ['user'],
      limits: input.limits ?? {},
    });
    const { key, id, hint } = generateApiKey();
    await this.store.createKey({
      id,
      principal: principal.name,
      hash: hashApiKey(this.secret, key),
      hint,
      label: input.label ?? null,
      expiresAt: input.expiresAt ? input.expiresAt.toISOString() : null,
    });
    return { id, key, principal: principal.name, tenant: principal.tenant, hint, principalCreated: created };
  }

  /** Resolves a presented key to an identity, or throws the MoatError that explains why not. */
  async verify(presented: string): Promise<Identity> {
    if (!isWellFormedKey(presented)) throw new MoatError('MALFORMED_KEY');
    const hash = hashApiKey(this.secret, presented);
    const now = this.now();
    let entry = this.cache.get(hash);
    if (!entry || entry.until <= now) {
      const lookup = await this.store.findKeyByHash(hash);
      entry = { lookup, until: now + this.cacheTtlMs };
      if (this.cache.size >= MAX_CACHE) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(hash, entry);
    }
    const found = entry.lookup;
    if (!found || !hashesEqual(found.key.hash, hash)) throw new MoatError('INVALID_KEY');
    if (found.key.revokedAt !== null) throw new MoatError('KEY_REVOKED');
    if (found.key.expiresAt !== null && Date.parse(found.key.expiresAt) <= now) throw new MoatError('KEY_EXPIRED');
    this.used.set(found.key.id, new Date(now));
    return {
      principal: found.principal.name,
      tenant: found.principal.tenant,
      roles: found.principal.roles,
      keyId: found.key.id,
      via: 'api_key',
      limits: found.principal.limits,
      tenantLimits: found.tenant?.limits ?? {},
    };
  }

  /** Writes the batched last-used times; called on a timer, off the request path. */
  async flushLastUsed(): Promise<void> {
    if (this.used.size === 0) return;
    const batch = new Map(this.used);
    this.used.clear();
    await this.store.touchKeys(batch);
  }

  /** Drops cached lookups so that a change made in this process is seen at once. */
  invalidate(): void {
    this.cache.clear();
  }
}
