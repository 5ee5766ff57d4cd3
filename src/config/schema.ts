/**
 * The shape of `moat.yaml`. Every object is strict: an unknown key stops start-up with a
 * message that names it. Each domain owns the schema of its own section; this file only
 * composes them, so a new capability adds one line here.
 */
import { z } from 'zod';
import { detectSchema } from '../detect/schema.js';
import { auditSchema } from '../audit/config.js';
import { adminSchema, identitySchema, rolesSchema } from '../identity/schema.js';
import { limitsSchema } from '../limits/schema.js';
import { policySchema } from '../policy/config.js';
import { watermarkSchema } from '../watermark/config.js';

const ms = (def: number) => z.number().int().positive().default(def);

export const timeoutsSchema = z.strictObject({
  /** TCP/TLS connect and response headers. */
  connectMs: ms(10_000),
  /** Streaming: from the request until the first body byte of the upstream. */
  firstTokenMs: ms(60_000),
  /** Streaming: the longest silence between two body chunks. */
  idleMs: ms(30_000),
  /** Whole request, non-streaming. */
  totalMs: ms(600_000),
});

export const upstreamSchema = z.strictObject({
  /** Base URL of the OpenAI-compatible API, including the `/v1` prefix, e.g. http://127.0.0.1:8000/v1 */
  baseURL: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL such as http://127.0.0.1:8000/v1' }),
  /** Model name the upstream knows (defaults to the public name). */
  model: z.string().min(1).optional(),
  /** Credential sent upstream as `Authorization: Bearer`; use `${ENV_VAR}` to keep it out of the file. */
  apiKey: z.string().min(1).optional(),
  timeouts: timeoutsSchema.prefault({}),
  /** Keep-alive connections per upstream origin. */
  connections: z.number().int().positive().max(4096).default(128),
});

export const modelSchema = z.strictObject({
  upstream: upstreamSchema,
  /** Shown by GET /v1/models as `owned_by`. */
  ownedBy: z.string().default('moat'),
});

export const serverSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** Largest request body accepted (bytes). */
  bodyLimit: z.number().int().positive().default(1_048_576),
  /** Trust X-Forwarded-For for the source address (only behind your own proxy). Never used for identity. */
  trustProxy: z.boolean().default(false),
});

export const configSchema = z.strictObject({
  server: serverSchema.prefault({}),
  /** Where SQLite files and the generated secrets live. */
  dataDir: z.string().default('./.moat'),
  models: z.record(z.string().regex(/^[\w.:/@-]{1,128}$/, 'expected a model name of letters, digits and ._:/@-'), modelSchema),
  identity: identitySchema.prefault({}),
  /** Roles by name: each a list of grants `{ models: [...], permissions: [...] }` (see docs/identity.md). */
  roles: rolesSchema.default({}),
  admin: adminSchema.prefault({}),
  limits: limitsSchema.prefault({}),
  audit: auditSchema.prefault({}),
  detect: detectSchema.prefault({}),
  policy: policySchema.prefault({}),
  watermark: watermarkSchema.prefault({}),
  logging: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
});

export type MoatConfig = z.output<typeof configSchema>;
export type ModelConfig = z.output<typeof modelSchema>;
export type UpstreamConfig = z.output<typeof upstreamSchema>;
export type ConfigInput = z.input<typeof configSchema>;
