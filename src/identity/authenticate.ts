/**
 * Stage 1, authenticate: turns the presented credential into an Identity, or refuses with 401.
 */
import type { Stage } from '../pipeline/stage.js';
import type { Authenticator } from './authenticator.js';

export function authenticate(auth: Authenticator): Stage {
  return {
    name: 'authenticate',
    async request(ctx) {
      ctx.identity = await auth.authenticate(ctx.headers, ctx.sourceIp, 'inference');
    },
  };
}
