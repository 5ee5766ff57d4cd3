/**
 * Stage 2, authorize: resolves the requested model and checks that a role of the caller may use
 * it. A model the caller may not use answers exactly as an unknown one (404), so the API is not
 * an oracle for which models exist.
 */
import { MoatError } from '../errors.js';
import type { Stage } from '../pipeline/stage.js';
import type { ModelRegistry } from '../upstream/registry.js';
import { can, type RoleTable } from './access.js';

export function authorize(models: ModelRegistry, roles: RoleTable): Stage {
  return {
    name: 'authorize',
    request(ctx) {
      const name = ctx.body.model as string;
      const entry = models.get(name);
      if (!entry || !ctx.identity || !can(roles, ctx.identity.roles, 'use', name)) {
        throw new MoatError('UNKNOWN_MODEL', { model: name.slice(0, 128) }, { param: 'model' });
      }
      ctx.model = entry;
    },
  };
}
