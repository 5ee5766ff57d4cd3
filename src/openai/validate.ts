/**
 * Stage 2, validate: checks the parsed body against the OpenAI schema of its route, so that
 * every later stage works on typed, known values. It runs after authentication, so an
 * anonymous caller learns nothing about the API from validation errors.
 */
import { MoatError } from '../errors.js';
import type { JsonObject } from '../pipeline/context.js';
import type { Stage } from '../pipeline/stage.js';
import { REQUEST_SCHEMAS, describeFirstIssue } from './schemas.js';

export function validate(): Stage {
  return {
    name: 'validate',
    request(ctx) {
      const r = REQUEST_SCHEMAS[ctx.route].safeParse(ctx.body);
      if (!r.success) {
        const { param, detail } = describeFirstIssue(r.error.issues);
        throw new MoatError('INVALID_REQUEST', { detail }, { param });
      }
      ctx.body = r.data as JsonObject;
      ctx.stream = ctx.body.stream === true && ctx.route !== 'embeddings';
    },
  };
}
