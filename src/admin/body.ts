/** Reading admin request bodies and query strings against a zod schema, with catalogue errors. */
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { MoatError } from '../errors.js';
import { describeFirstIssue } from '../openai/schemas.js';
import { parseJsonBody } from '../server/inference.js';

function check<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const { param, detail } = describeFirstIssue(r.error.issues);
    throw new MoatError('INVALID_REQUEST', { detail: `${where} ${detail}` }, { param });
  }
  return r.data;
}

/** The JSON body (an empty body counts as `{}`), validated. */
export function bodyOf<S extends z.ZodType>(req: FastifyRequest, schema: S): z.output<S> {
  const raw = req.body;
  const value = raw === undefined || raw === null || (Buffer.isBuffer(raw) && raw.length === 0) ? {} : parseJsonBody(raw);
  return check(schema, value, 'body');
}

export function queryOf<S extends z.ZodType>(req: FastifyRequest, schema: S): z.output<S> {
  return check(schema, req.query ?? {}, 'query');
}

export function paramsOf<S extends z.ZodType>(req: FastifyRequest, schema: S): z.output<S> {
  return check(schema, req.params ?? {}, 'path');
}
