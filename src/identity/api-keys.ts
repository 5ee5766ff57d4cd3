/**
 * Creating, rotating and verifying API keys. Verification hashes the presented key with the
 * server secret, looks the hash up (through a short-lived cache, so that a revocation reaches
 * every replica within `cacheTtlMs`), and checks scope, expiry and revocation on every request.
 */
import { MoatError } from '../errors.js';
import { generateApiKey, hashApiKey, hashesEqual, isWellFormedKey } from './api-key.js';
import type { IdentityStore, KeyLookup } from './store.js';
import type { ApiKeyRecord, Identity, KeyScope, LimitOverrides } from './types.js';

export interface CreateKeyInput {
  principal: string;
  tenant?: string;
  roles?: string[];
  limits?: LimitOverrides;
  label?: string | null;
  expiresAt?: Date | null;
  scope?: KeyScope;
}

export interface CreatedKey {
  id: string;
  /** The key itself: shown once, never stored. */
  key: string;
  principal: string;
  tenant: string;
  hint: string;
  scope: KeyScope;
  expiresAt: string | null;
  principalCreated: boolean;
}

interface CacheEntry {
  lookup: KeyLookup | null;
  /** Built once per lookup and shared by the requests it serves (stages only read it). */
  identity: Identity | null;
  until: number;
}

function identityOf(found: KeyLookup): Identity {
  return Object.freeze({
    principal: found.principal.name,
    tenant: found.principal.tenant,
    roles: found.principal.roles,
    keyId: found.key.id,
    via: 'api_key' as const,
    limits: found.principal.limits,
    tenantLimits: found.tenant?.limits ?? {},
  });
}

const MAX_CACHE = 50_000;

export class ApiKeys {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly used = new Map<string, number>();

  constructor(
    readonly store: IdentityStore,
    private readonly secret: Buffer,
    private readonly cacheTtlMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates a key, and its principal and tenant when they do not exist yet. */
  async create(input: CreateKeyInput): Promise<CreatedKey> {
    const scope = input.scope ?? 'inference';
    const { principal, created } = await this.store.ensurePrincipal({
      name: input.principal,
      tenant: input.tenant ?? 'default',
      roles: input.roles ?? [scope === 'admin' ? 'admin' : 'user'],
      limits: input.limits ?? {},
    });
    const rec = await this.issue(principal.name, scope, input.label ?? null, input.expiresAt ? input.expiresAt.toISOString() : null, null);
    return { ...rec, tenant: principal.tenant, principalCreated: created };
  }

  /**
   * Replaces a key with a new one for the same principal, scope and label (and, for a key that
   * expires, the same lifetime from now). The old key keeps working for `overlapMs`, never longer
   * than it would have, so clients can switch over.
   */
  async rotate(old: ApiKeyRecord, overlapMs: number): Promise<CreatedKey & { oldExpiresAt: string }> {
    const now = this.now();
    const at = new Date(now + overlapMs);
    const lifetime = old.expiresAt === null ? null : Date.parse(old.expiresAt) - Date.parse(old.createdAt);
    const expiresAt = lifetime === null ? null : new Date(now + lifetime).toISOString();
    const rec = await this.issue(old.principal, old.scope, old.label, expiresAt, old.id);
    await this.store.expireKeyBy(old.id, at);
    this.invalidate();
    const after = await this.store.getKey(old.id);
    const principal = await this.store.getPrincipal(old.principal);
    return { ...rec, tenant: principal?.tenant ?? 'default', principalCreated: false, oldExpiresAt: after?.expiresAt ?? at.toISOString() };
  }

  private async issue(principal: string, scope: KeyScope, label: string | null, expiresAt: string | null, rotatedFrom: string | null) {
    const { key, id, hint } = generateApiKey();
    await this.store.createKey({ id, principal, hash: hashApiKey(this.secret, key), hint, label, expiresAt, scope, rotatedFrom });
    return { id, key, principal, hint, scope, expiresAt };
  }

  /** The keyed hash of a presented key (used by the failed-authentication throttle too). */
  hash(presented: string): string {
    return hashApiKey(this.secret, presented);
  }

  /** Resolves a presented key to an identity, or throws the MoatError that explains why not. */
  async verify(presented: string, scope: KeyScope = 'inference'): Promise<Identity> {
    if (!isWellFormedKey(presented)) throw new MoatError('MALFORMED_KEY');
    return this.verifyHash(hashApiKey(this.secret, presented), scope);
  }

  /** The rest of verify, for a well-formed key whose hash the caller already computed. */
  async verifyHash(h: string, scope: KeyScope): Promise<Identity> {
    const now = this.now();
    let entry = this.cache.get(h);
    if (!entry || entry.until <= now) {
      const lookup = await this.store.findKeyByHash(h);
      entry = { lookup, identity: lookup ? identityOf(lookup) : null, until: now + this.cacheTtlMs };
      if (this.cache.size >= MAX_CACHE) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(h, entry);
    }
    const found = entry.lookup;
    if (!found || !hashesEqual(found.key.hash, h)) throw new MoatError('INVALID_KEY');
    if (found.key.revokedAt !== null) throw new MoatError('KEY_REVOKED');
    if (found.key.expiresAt !== null && Date.parse(found.key.expiresAt) <= now) throw new MoatError('KEY_EXPIRED');
    if (found.key.scope !== scope) throw new MoatError('WRONG_KEY_SCOPE', { scope: found.key.scope, use: scope === 'admin' ? 'an admin key (moat keys create --admin)' : 'an inference key' });
    this.used.set(found.key.id, now);
    return entry.identity!;
  }

  /** Writes the batched last-used times; called on a timer, off the request path. */
  async flushLastUsed(): Promise<void> {
    if (this.used.size === 0) return;
    const batch = new Map([...this.used].map(([id, at]) => [id, new Date(at)]));
    this.used.clear();
    await this.store.touchKeys(batch);
  }

  /** Drops cached lookups so that a change made in this process is seen at once. */
  invalidate(): void {
    this.cache.clear();
  }
}
