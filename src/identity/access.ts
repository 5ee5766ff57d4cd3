/**
 * Role-based access to models. Pure logic: default deny, least privilege.
 * The built-in role `user` may use every configured model and nothing more (no logprobs, no
 * raw embeddings, no administration), so that a quick-start key works at once. The built-in role
 * `embeddings` adds raw embeddings.
 */
export type Permission = 'use' | 'logprobs' | 'embeddings' | 'list' | 'admin';

export interface RoleGrant {
  /** Model names, or '*' for every configured model. */
  models: readonly string[];
  permissions: readonly Permission[];
}

export type RoleTable = ReadonlyMap<string, readonly RoleGrant[]>;

export const BUILTIN_ROLES: RoleTable = new Map([
  ['user', [{ models: ['*'], permissions: ['use', 'list'] }]],
  // Raw embeddings of every model (hardened per tenant when the policy says so).
  ['embeddings', [{ models: ['*'], permissions: ['use', 'list', 'embeddings'] }]],
]);

/** True when one of the roles grants the permission on the model. */
export function can(roles: RoleTable, held: readonly string[], permission: Permission, model: string): boolean {
  for (const r of held) {
    const grants = roles.get(r);
    if (!grants) continue;
    for (const g of grants) {
      if (!g.permissions.includes(permission)) continue;
      if (g.models.includes('*') || g.models.includes(model)) return true;
    }
  }
  return false;
}
