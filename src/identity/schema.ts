/**
 * The identity sections of moat.yaml: `identity:` (key hashing, caches, JWT issuers, the
 * failed-authentication throttle), `roles:` and `admin:`. Also the shapes the admin API and the
 * CLI accept for names, limits and grants, so both validate alike.
 */
import { z } from 'zod';
import { PERMISSIONS } from './access.js';

/** Principal, tenant and role names: safe to show, log and use in bucket keys. */
export const NAME_RE = /^[A-Za-z0-9][\w.@-]{0,127}$/;
export const nameSchema = z.string().regex(NAME_RE, 'expected 1-128 letters, digits and . _ @ -, starting with a letter or digit');

const limitValue = z.number().int().nonnegative().max(1e12);
/** Limit overrides: a number sets one (0 = no limit), an absent field keeps the default. */
export const limitOverridesSchema = z.strictObject({
  rpm: limitValue.optional(),
  tpm: limitValue.optional(),
  tpd: limitValue.optional(),
  concurrency: limitValue.optional(),
});
/** A change of limit overrides: `null` removes an override so the default applies again. */
export const limitChangeSchema = z.strictObject({
  rpm: limitValue.nullable().optional(),
  tpm: limitValue.nullable().optional(),
  tpd: limitValue.nullable().optional(),
  concurrency: limitValue.nullable().optional(),
});

export const grantSchema = z.strictObject({
  models: z.array(z.string().min(1).max(128)).min(1, 'expected at least one model name or "*"'),
  permissions: z.array(z.enum(PERMISSIONS)).min(1, `expected at least one of ${PERMISSIONS.join(', ')}`),
});
export const grantsSchema = z.array(grantSchema).max(64);

/** `roles:` in moat.yaml: role name -> grants. */
export const rolesSchema = z.record(nameSchema, grantsSchema);

/** Asymmetric algorithms only: a shared HMAC secret would let every holder mint tokens, and excluding HS* rules out HS/RS confusion. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const jwksUrl = z.url({ protocol: /^https?$/ }).refine((u) => u.startsWith('https://') || LOOPBACK.has(new URL(u).hostname), {
  message: 'expected an https:// URL (plain http only on the loopback address)',
});

/** A claim path: a claim name, with dots for nested claims, e.g. `realm_access.roles`. */
const claimPath = z.string().regex(/^[\w:/-]+(\.[\w:/-]+)*$/, 'expected a claim name, with dots for nested claims');

export const issuerSchema = z
  .strictObject({
    /** Exact `iss` value of the tokens. */
    issuer: z.string().min(1),
    /** Accepted `aud` values; a token must name one of them. */
    audiences: z.array(z.string().min(1)).min(1, 'expected at least one audience'),
    algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).default(['RS256']),
    /** Where the issuer publishes its keys (cached; refetched for an unknown key id). */
    jwksUrl: jwksUrl.optional(),
    /** Or the issuer's public keys: PEM (SPKI) text or JWK objects. */
    publicKeys: z.array(z.union([z.string().includes('PUBLIC KEY', { message: 'expected a PEM public key (-----BEGIN PUBLIC KEY-----)' }), z.looseObject({ kty: z.string() })])).min(1).optional(),
    jwksTimeoutMs: z.number().int().positive().max(30_000).default(2_000),
    jwksCacheMs: z.number().int().positive().default(600_000),
    claims: z
      .strictObject({
        principal: claimPath.default('sub'),
        tenant: claimPath.optional(),
        roles: claimPath.optional(),
      })
      .prefault({}),
    /** Tenant of a token without a tenant claim (a known principal keeps its stored tenant). */
    defaultTenant: nameSchema.default('default'),
    /** Roles every token of this issuer gets. Nothing by default: least privilege. */
    defaultRoles: z.array(nameSchema).default([]),
    /** IdP role -> Moat role. When set, only the roles listed here are taken from tokens. */
    roleMap: z.record(z.string(), nameSchema).optional(),
    /** Refuse tokens whose principal was not created in Moat (admin API or CLI). */
    requireKnownPrincipal: z.boolean().default(false),
  })
  .refine((i) => (i.jwksUrl === undefined) !== (i.publicKeys === undefined), { message: 'give exactly one of jwksUrl or publicKeys' });

export const jwtSchema = z.strictObject({
  issuers: z.array(issuerSchema).min(1, 'expected at least one issuer'),
  /** Allowed clock difference with the issuer for exp and nbf. */
  clockToleranceSec: z.number().int().nonnegative().max(300).default(30),
});

const throttleRule = (failures: number) =>
  z.strictObject({ failures: z.number().int().positive().default(failures), windowMs: z.number().int().positive().default(60_000) }).prefault({});

export const authThrottleSchema = z.strictObject({
  /** Failed authentications allowed per client address per window, then 429 (CWE-307). */
  perAddress: throttleRule(30),
  /** Failed attempts per API-key prefix (guessing the rest of a partly leaked key). */
  perKeyPrefix: throttleRule(10),
  /** A credential that verified recently is never throttled, so a key's owner is not locked out. */
  knownGoodTtlMs: z.number().int().positive().default(86_400_000),
});

export const identitySchema = z.strictObject({
  /** Server secret for the keyed hash of API keys. Defaults to a random secret kept in the data directory. */
  keySecret: z.string().min(32, 'expected at least 32 characters of secret').optional(),
  /** How long a verified key (and the stored roles) stay cached; revocation takes effect within it. */
  cacheTtlMs: z.number().int().nonnegative().default(5_000),
  /** JWT / OIDC bearer tokens; absent means only API keys are accepted. */
  jwt: jwtSchema.optional(),
  authThrottle: authThrottleSchema.prefault({}),
});

export type JwtConfig = z.output<typeof jwtSchema>;
export type IssuerConfig = z.output<typeof issuerSchema>;
export type AuthThrottleConfig = z.output<typeof authThrottleSchema>;

export const adminSchema = z.strictObject({
  /** Serve the admin API under /admin/v1 (admin keys or an admin role in a JWT only). */
  enabled: z.boolean().default(true),
});
