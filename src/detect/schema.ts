/**
 * The `detect:` section of moat.yaml. Defaults suit a production start: record and alert,
 * throttle at high risk, never block unless the operator turns blocking on.
 */
import { z } from 'zod';

const unit = z.number().min(0).max(1);

/** A signal's ramp: its score is 0 at `lo`, 1 at `hi` (linear between). */
const ramp = (lo: number, hi: number) => z.strictObject({ lo: z.number().default(lo), hi: z.number().default(hi) }).prefault({});

export const signalTuningSchema = z.strictObject({
  nearDuplicate: ramp(0.3, 0.7),
  template: ramp(0.4, 0.8),
  enumeration: ramp(0.25, 0.55),
  signature: ramp(0.15, 0.45),
  probe: ramp(0.2, 0.5),
  unnatural: ramp(0.25, 0.55),
  /** Distinct-bigram ratio: low diversity scores high (lo > hi on purpose). */
  diversity: ramp(0.45, 0.2),
  /** Requests in the last hour against the larger of the principal's and its tenant's usual hourly rate. */
  volume: ramp(4, 12),
  /** Bias-corrected MMD² of the window against the benign reference. */
  topic: ramp(0.04, 0.12),
  /** Sustained harvesting: requests beyond a person's pace (leaky buckets), weighted by the share of single-turn requests. */
  harvest: z
    .strictObject({
      /** The pace one person can sustain: requests an hour (over a session) and a day. */
      perHour: z.number().positive().default(60),
      perDay: z.number().positive().default(400),
      /** Score 0 at `lo` requests beyond that pace, 1 at `hi`. */
      lo: z.number().default(100),
      hi: z.number().default(300),
      /** Share of single-turn requests (no earlier assistant turn) from which the evidence counts. */
      singleTurn: ramp(0.6, 0.9),
    })
    .prefault({}),
});

export const detectSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Risk at which a principal is flagged (recorded and alerted), throttled, and blocked. */
  thresholds: z
    .strictObject({
      flag: unit.default(0.5),
      throttle: unit.default(0.9),
      block: unit.default(0.97),
    })
    .prefault({}),
  actions: z
    .strictObject({
      /** Requests per minute allowed to a principal at or above the throttle threshold (0: no throttle). */
      throttleRpm: z.number().int().nonnegative().default(10),
      /** At or above the flag threshold: cap max_tokens and force the watermark (off by default). */
      degrade: z.boolean().default(false),
      degradeMaxTokens: z.number().int().positive().default(256),
      /** Refuse requests at or above the block threshold. Off by default: a false positive must not become an outage. */
      block: z.boolean().default(false),
    })
    .prefault({}),
  alert: z
    .strictObject({
      /** Webhook that receives a Slack-compatible JSON body for every newly flagged principal or cluster. */
      webhookURL: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
      /** Minimum time between two alerts about the same principal. */
      cooldownMs: z.number().int().nonnegative().default(3_600_000),
      timeoutMs: z.number().int().positive().default(5_000),
    })
    .prefault({}),
  /** Principals never scored or acted on (known batch integrations). More can be added at run time. */
  allow: z.array(z.string().min(1)).default([]),
  /** Signature model file (JSON); default: the model shipped with Moat. */
  modelFile: z.string().min(1).optional(),
  /** How often risk state is written to `<dataDir>/detect.db`. */
  persistMs: z.number().int().positive().default(5_000),
  /** Principals kept in memory; the least recently seen are evicted (after being persisted). */
  maxPrincipals: z.number().int().positive().default(50_000),
  signals: signalTuningSchema.prefault({}),
});

export type DetectConfig = z.output<typeof detectSchema>;
export type SignalTuning = z.output<typeof signalTuningSchema>;
export type HarvestTuning = SignalTuning['harvest'];

/** The defaults, as replay and evaluation use them. */
export function defaultDetectConfig(): DetectConfig {
  return detectSchema.parse({});
}
