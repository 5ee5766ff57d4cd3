/** The `audit:` section of moat.yaml. */
import { z } from 'zod';

export const auditSchema = z.strictObject({
  /** How prompts are kept in audit records: full text, a SHA-256 hash, or redacted. */
  prompt: z.enum(['full', 'hash', 'redacted']).default('full'),
  /** Records queued before new requests are shed with 503 (never dropped silently). */
  maxQueue: z.number().int().positive().default(50_000),
  /** Flush period in ms; records are written in one transaction per flush. */
  flushMs: z.number().int().positive().default(50),
  /** Where the log lives: `<dataDir>/audit.db`, or PostgreSQL for several replicas. */
  sink: z.enum(['sqlite', 'postgres']).default('sqlite'),
  postgres: z
    .strictObject({
      /** e.g. postgres://moat:${PGPASSWORD}@127.0.0.1:5432/moat */
      url: z.string().min(1),
      schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case SQL identifier').default('public'),
      poolSize: z.number().int().positive().max(64).default(4),
    })
    .optional(),
  /** Signed checkpoints of the chain head: after this many records, or this many ms with new records. */
  checkpoint: z
    .strictObject({
      everyRecords: z.number().int().positive().default(10_000),
      everyMs: z.number().int().positive().default(10_000),
    })
    .prefault({}),
  /** Ed25519 private key (PKCS#8 PEM) for checkpoints; use `${ENV_VAR}`. Default: generated in the data directory. */
  signingKey: z.string().min(1).optional(),
  /** Records older than this many days are removed (anchored on a signed checkpoint); 0 keeps everything. */
  retentionDays: z.number().nonnegative().default(0),
}).refine((a) => a.sink !== 'postgres' || a.postgres !== undefined, { message: 'audit.sink is postgres: set audit.postgres.url', path: ['postgres'] });

export type AuditConfig = z.output<typeof auditSchema>;
