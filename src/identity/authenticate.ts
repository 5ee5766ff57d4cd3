/**
 * Stage 1, authenticate: turns the presented credential into an Identity, or refuses with 401.
 */
import type { Stage } from '../pipeline/stage.js';
import type { ApiKeys } from './api-keys.js';
import { presentedCredential } from './credentials.js';

export function authenticate(keys: ApiKeys): Stage {
  return {
    name: 'authenticate',
    async request(ctx) {
      ctx.identity = await keys.verify(presentedCredential(ctx.headers));
    },
  };
}
