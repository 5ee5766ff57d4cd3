/**
 * The `watermark:` section of moat.yaml.
 *
 * @example
 *   watermark:
 *     enabled: false          # true: every model, every tenant (same as `moat serve --watermark`)
 *     models: [llama-3-70b]   # or only these models ...
 *     tenants: [acme]         # ... or only these tenants
 *     keyBy: tenant           # one key per tenant (or per principal)
 *     secret: ${MOAT_WATERMARK_SECRET}
 */
import { z } from 'zod';

export const watermarkSchema = z.strictObject({
  /** Watermark every answer of every model for every caller. */
  enabled: z.boolean().default(false),
  /** Watermark every answer of these models. */
  models: z.array(z.string().min(1)).default([]),
  /** Watermark every answer to these tenants. */
  tenants: z.array(z.string().min(1)).default([]),
  /** Whose key marks an answer: the caller's tenant (trace a copy to an organization) or principal. */
  keyBy: z.enum(['tenant', 'principal']).default('tenant'),
  /** Master secret the keys derive from. Default: MOAT_WATERMARK_SECRET, else a random secret kept in the data directory. */
  secret: z.string().min(32, 'expected at least 32 characters of secret').optional(),
});

export type WatermarkConfig = z.output<typeof watermarkSchema>;
