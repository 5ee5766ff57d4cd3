/**
 * Role-based access to models. Pure logic: default deny, least privilege.
 *
 * A role is a list of grants; a grant gives permissions on models (`'*'` = every configured
 * model). A principal holding no role that grants a permission does not have it.
 * Built-in roles:
 * - `user` may use and list every configured model and nothing more (no logprobs, no raw
 *   embeddings, no administration), so that a quick-start key works at once;
 * - `admin` may administer (the admin API) and nothing more: it is never granted by default,
 *   and it does not by itself allow calling a model.
 * moat.yaml (`roles:`) may redefine `user` or add roles; the admin API may add further roles.
 *
 * @example
 *   can(BUILTIN_ROLES, ['user'], 'use', 'llama-3')       // true
 *   can(BUILTIN_ROLES, ['user'], 'logprobs', 'llama-3')  // false
 *   isAdmin(BUILTIN_ROLES, ['admin'])                     // true
 */
export const PERMISSIONS = ['use', 'logprobs', 'embeddings', 'list', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export interface RoleGrant {
  /** Model names, or '*' for every configured model. */
  models: readonly string[];
  permissions: readonly Permission[];
}

/** The effective roles by name. A ReadonlyMap fits; so does the live RoleRegistry. */
export interface RoleTable {
  get(name: string): readonly RoleGrant[] | undefined;
}

export const ALL_MODELS = '*';

export const BUILTIN_ROLES: ReadonlyMap<string, readonly RoleGrant[]> = new Map<string, readonly RoleGrant[]>([
  ['user', [{ models: [ALL_MODELS], permissions: ['use', 'list'] }]],
  ['admin', [{ models: [ALL_MODELS], permissions: ['admin'] }]],
]);

/** True when one of the roles grants the permission on the model. */
export function can(roles: RoleTable, held: readonly string[], permission: Permission, model: string): boolean {
  for (const r of held) {
    const grants = roles.get(r);
    if (!grants) continue;
    for (const g of grants) {
      if (!g.permissions.includes(permission)) continue;
      if (g.models.includes(ALL_MODELS) || g.models.includes(model)) return true;
    }
  }
  return false;
}

/** Administration is not per model: only a grant of `admin` on `'*'` counts. */
export function isAdmin(roles: RoleTable, held: readonly string[]): boolean {
  // Asking about the model named '*' matches only grants that list '*' itself.
  return can(roles, held, 'admin', ALL_MODELS);
}

/**
 * Parses the CLI shorthand of a grant, `MODELS=PERMISSIONS`, e.g. `*=use,list` or
 * `llama3:8b,qwen=use,logprobs`. Throws an Error naming what is wrong.
 */
export function parseGrant(text: string): RoleGrant {
  const eq = text.lastIndexOf('=');
  if (eq <= 0) throw new Error(`grant '${text.slice(0, 80)}' must look like MODELS=PERMISSIONS, e.g. '*=use,list'`);
  const models = text.slice(0, eq).split(',').map((s) => s.trim()).filter(Boolean);
  const perms = text.slice(eq + 1).split(',').map((s) => s.trim()).filter(Boolean);
  const bad = perms.filter((p) => !(PERMISSIONS as readonly string[]).includes(p));
  if (models.length === 0 || perms.length === 0) throw new Error(`grant '${text.slice(0, 80)}' names no model or no permission`);
  if (bad.length) throw new Error(`unknown permission ${bad.map((b) => `'${b.slice(0, 40)}'`).join(', ')} (expected ${PERMISSIONS.join(', ')})`);
  return { models, permissions: perms as Permission[] };
}

/** The CLI shorthand of a grant, the inverse of parseGrant. */
export function formatGrant(g: RoleGrant): string {
  return `${g.models.join(',')}=${g.permissions.join(',')}`;
}

/** `role: model` pairs where a grant names a model that is not configured (likely a typo). */
export function grantsOnUnknownModels(roles: Readonly<Record<string, readonly RoleGrant[]>>, known: (model: string) => boolean): string[] {
  const out: string[] = [];
  for (const [role, grants] of Object.entries(roles)) for (const g of grants) for (const m of g.models) if (m !== ALL_MODELS && !known(m)) out.push(`${role}: ${m}`);
  return out;
}
