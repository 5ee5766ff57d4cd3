/**
 * Mapping verified JWT claims to who the caller is in Moat: principal, tenant and roles, as the
 * issuer's configuration says. Pure logic.
 */
import { MoatError } from '../errors.js';
import type { IssuerConfig } from './schema.js';

/** Principal and tenant names from tokens: printable, no spaces, bounded (they key limits and audit records). */
const CLAIM_NAME = /^[\x21-\x7e]{1,256}$/;

export function claimAt(payload: Record<string, unknown>, path: string): unknown {
  let cur: unknown = payload;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function nameClaim(payload: Record<string, unknown>, path: string): string | undefined {
  const v = claimAt(payload, path);
  const s = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
  if (s === undefined || s === null) return undefined;
  if (typeof s !== 'string' || !CLAIM_NAME.test(s)) throw new MoatError('TOKEN_CLAIMS', { claim: `${path} (a printable name without spaces)` });
  return s;
}

/** Role names in a claim: an array of strings, or one string separated by spaces or commas. */
export function rolesIn(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

export interface MappedClaims {
  principal: string;
  /** Undefined when the token carries no tenant claim. */
  tenant: string | undefined;
  roles: string[];
}

export function mapClaims(issuer: Pick<IssuerConfig, 'claims' | 'defaultRoles' | 'roleMap'>, payload: Record<string, unknown>): MappedClaims {
  const principal = nameClaim(payload, issuer.claims.principal);
  if (principal === undefined) throw new MoatError('TOKEN_CLAIMS', { claim: issuer.claims.principal });
  const tenant = issuer.claims.tenant ? nameClaim(payload, issuer.claims.tenant) : undefined;
  let claimed = issuer.claims.roles ? rolesIn(claimAt(payload, issuer.claims.roles)) : [];
  if (issuer.roleMap) {
    const map = issuer.roleMap;
    claimed = claimed.filter((r) => Object.hasOwn(map, r)).map((r) => map[r]!);
  }
  return { principal, tenant, roles: [...new Set([...issuer.defaultRoles, ...claimed])] };
}
