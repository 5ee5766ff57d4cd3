/**
 * Verifying JWT bearer tokens (jose) from configured issuers. The token's `iss` picks the
 * issuer's settings; the signature, algorithm, audience, expiry and not-before are then checked
 * against that issuer alone. Keys come from the issuer's JWKS URL (cached, fetched with a
 * timeout) or from configured public keys. Verified tokens are cached until they expire (at most
 * a minute), so the signature is checked once, not on every request.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type CryptoKey, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { MoatError } from '../errors.js';
import { mapClaims } from './jwt-claims.js';
import type { IssuerConfig, JwtConfig } from './schema.js';
import type { IdentityStore, PrincipalLookup } from './store.js';
import type { Identity } from './types.js';

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_CACHE = 10_000;
const MAX_CACHE_MS = 60_000;

/** True for something shaped like a JWS compact token (three base64url parts). */
export function looksLikeJwt(s: string): boolean {
  return JWT_SHAPE.test(s);
}

/** Maps jose's error codes to the catalogue; anything unknown counts as a bad signature. */
export function joseToMoat(err: unknown): MoatError {
  if (err instanceof MoatError) return err;
  const e = err as { code?: string; claim?: string; name?: string };
  switch (e.code) {
    case 'ERR_JWT_EXPIRED':
      return new MoatError('TOKEN_EXPIRED');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.claim === 'nbf' || e.claim === 'iat') return new MoatError('TOKEN_NOT_YET_VALID');
      if (e.claim === 'aud') return new MoatError('TOKEN_AUDIENCE');
      if (e.claim === 'iss') return new MoatError('TOKEN_ISSUER');
      return new MoatError('TOKEN_CLAIMS', { claim: String(e.claim ?? 'unknown').slice(0, 64) });
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new MoatError('TOKEN_ALGORITHM');
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return new MoatError('TOKEN_MALFORMED');
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
    case 'ERR_JOSE_GENERIC':
      return new MoatError('TOKEN_KEYS_UNAVAILABLE', { retryAfter: 5 }, { headers: { 'retry-after': '5' } });
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new MoatError('TOKEN_SIGNATURE');
    default:
      // fetch() failures (refused, reset, DNS) reach here as plain errors.
      if (e.name === 'TypeError' || e.name === 'AbortError') return new MoatError('TOKEN_KEYS_UNAVAILABLE', { retryAfter: 5 }, { headers: { 'retry-after': '5' } });
      return new MoatError('TOKEN_SIGNATURE');
  }
}

interface StaticKey {
  kid: string | undefined;
  key: KeyObject;
}

/** Configured public keys (PEM or JWK), imported once; a PEM has no `kid` and fits any token. */
function staticKeys(i: IssuerConfig): StaticKey[] {
  return i.publicKeys!.map((k, n) => {
    try {
      if (typeof k === 'string') return { kid: undefined, key: createPublicKey(k) };
      return { kid: typeof k.kid === 'string' ? k.kid : undefined, key: createPublicKey({ key: k as JsonWebKey, format: 'jwk' }) };
    } catch {
      throw new Error(`identity.jwt: public key ${n + 1} of issuer '${i.issuer}' is not a valid public key`);
    }
  });
}

/** Tries each candidate key; only a signature mismatch moves on to the next one. */
async function verifyWithCandidates(token: string, keys: AsyncIterable<KeyLike> | Iterable<KeyLike>, options: JWTVerifyOptions): Promise<JWTPayload> {
  for await (const key of keys) {
    try {
      return (await jwtVerify(token, key, options)).payload;
    } catch (inner) {
      if ((inner as { code?: string }).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw inner;
    }
  }
  throw new errors.JWSSignatureVerificationFailed();
}

type KeyLike = KeyObject | CryptoKey;

interface Issuer {
  cfg: IssuerConfig;
  remote: JWTVerifyGetKey | null;
  statics: StaticKey[];
}

interface Cached {
  identity: Identity;
  until: number;
}

export class JwtVerifier {
  private readonly issuers = new Map<string, Issuer>();
  private readonly algorithms: ReadonlySet<string>;
  private readonly verified = new Map<string, Cached>();
  private readonly principals = new Map<string, { lookup: PrincipalLookup | null; until: number }>();

  constructor(
    private readonly cfg: JwtConfig,
    private readonly store: Pick<IdentityStore, 'findPrincipal' | 'getTenant'>,
    private readonly cacheTtlMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {
    for (const i of cfg.issuers) {
      const remote = i.jwksUrl ? createRemoteJWKSet(new URL(i.jwksUrl), { timeoutDuration: i.jwksTimeoutMs, cacheMaxAge: i.jwksCacheMs, cooldownDuration: 30_000 }) : null;
      this.issuers.set(i.issuer, { cfg: i, remote, statics: remote ? [] : staticKeys(i) });
    }
    this.algorithms = new Set(cfg.issuers.flatMap((i) => i.algorithms));
  }

  /** A token verified before and not yet expired (no signature check); undefined otherwise. */
  cached(token: string): Identity | undefined {
    const c = this.verified.get(token);
    if (c && c.until > this.now()) return c.identity;
    if (c) this.verified.delete(token);
    return undefined;
  }

  async verify(token: string): Promise<Identity> {
    const hit = this.cached(token);
    if (hit) return hit;
    if (!looksLikeJwt(token)) throw new MoatError('TOKEN_MALFORMED');
    let alg: string | undefined;
    let iss: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
      iss = decodeJwt(token).iss;
    } catch {
      throw new MoatError('TOKEN_MALFORMED');
    }
    // Checked before any key is looked at: `none`, HS* and anything not configured stop here.
    if (!alg || !this.algorithms.has(alg)) throw new MoatError('TOKEN_ALGORITHM');
    const issuer = iss === undefined ? undefined : this.issuers.get(iss);
    if (!issuer) throw new MoatError('TOKEN_ISSUER');
    const options: JWTVerifyOptions = {
      issuer: issuer.cfg.issuer,
      audience: issuer.cfg.audiences,
      algorithms: issuer.cfg.algorithms,
      clockTolerance: this.cfg.clockToleranceSec,
      requiredClaims: ['exp'],
    };
    let payload: JWTPayload;
    try {
      payload = await this.checkSignature(token, issuer, options);
    } catch (err) {
      throw joseToMoat(err);
    }
    const identity = await this.identityOf(issuer.cfg, payload);
    this.remember(token, identity, (payload.exp ?? 0) * 1000);
    return identity;
  }

  private async checkSignature(token: string, issuer: Issuer, options: JWTVerifyOptions): Promise<JWTPayload> {
    if (!issuer.remote) {
      const kid = decodeProtectedHeader(token).kid;
      return verifyWithCandidates(token, issuer.statics.filter((k) => k.kid === undefined || kid === undefined || k.kid === kid).map((k) => k.key), options);
    }
    try {
      return (await jwtVerify(token, issuer.remote, options)).payload;
    } catch (err) {
      // Several published keys fit a token without `kid`: try each.
      if ((err as { code?: string }).code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') return verifyWithCandidates(token, err as AsyncIterable<KeyLike>, options);
      throw err;
    }
  }

  private async identityOf(issuer: IssuerConfig, payload: JWTPayload): Promise<Identity> {
    const claims = mapClaims(issuer, payload as Record<string, unknown>);
    const known = await this.principal(claims.principal);
    if (!known && issuer.requireKnownPrincipal) throw new MoatError('UNKNOWN_PRINCIPAL');
    const tenantName = known?.principal.tenant ?? claims.tenant ?? issuer.defaultTenant;
    const tenant = known ? known.tenant : await this.store.getTenant(tenantName);
    return Object.freeze({
      principal: claims.principal,
      tenant: tenantName,
      roles: [...new Set([...(known?.principal.roles ?? []), ...claims.roles])],
      keyId: null,
      via: 'jwt',
      limits: known?.principal.limits ?? {},
      tenantLimits: tenant?.limits ?? {},
    });
  }

  private async principal(name: string): Promise<PrincipalLookup | null> {
    const now = this.now();
    const c = this.principals.get(name);
    if (c && c.until > now) return c.lookup;
    const lookup = await this.store.findPrincipal(name);
    if (this.principals.size >= MAX_CACHE) this.principals.delete(this.principals.keys().next().value!);
    this.principals.set(name, { lookup, until: now + this.cacheTtlMs });
    return lookup;
  }

  private remember(token: string, identity: Identity, expMs: number): void {
    const until = Math.min(expMs, this.now() + Math.min(MAX_CACHE_MS, Math.max(this.cacheTtlMs, 1)));
    if (until <= this.now()) return;
    if (this.verified.size >= MAX_CACHE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { identity, until });
  }

  /** Drops cached principals and tokens so that a change made in this process is seen at once. */
  invalidate(): void {
    this.verified.clear();
    this.principals.clear();
  }
}
