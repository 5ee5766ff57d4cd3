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

export const identitySchema = z.strictObject({
  /** Server secret for the keyed hash of API keys. Defaults to a random secret kept in the data directory. */
  keySecret: z.string().min(32, 'expected at least 32 characters of secret').optional(),
  /** How long a verified key (and the stored roles) stay cached; revocation takes effect within it. */
  cacheTtlMs: z.number().int().nonnegative().default(5_000),
});

export const adminSchema = z.strictObject({
  /** Serve the admin API under /admin/v1 (admin keys or an admin role in a JWT only). */
  enabled: z.boolean().default(true),
});
