/**
 * The request path, in one place. Each line is one stage with one job; open its file to read it.
 *
 *   parse JSON (server/inference.ts)
 *   -> authenticate -> validate -> authorize -> admit -> request policy -> settle -> detect -> forward
 *   -> response policy -> watermark -> audit
 */
import type { Logger } from 'pino';
import { audit } from '../audit/stage.js';
import type { AuditSink } from '../audit/sink.js';
import type { PromptMode } from '../audit/record.js';
import type { RoleTable } from '../identity/access.js';
import type { ApiKeys } from '../identity/api-keys.js';
import { authenticate } from '../identity/authenticate.js';
import type { Authenticator } from '../identity/authenticator.js';
import { authorize } from '../identity/authorize.js';
import type { DetectEngine } from '../detect/engine.js';
import { detect } from '../detect/stage.js';
import { admit, type AdmitDeps } from '../limits/admit.js';
import { settle } from '../limits/settle.js';
import type { QuotaStore } from '../limits/store.js';
import { validate } from '../openai/validate.js';
import type { PolicySet } from '../policy/config.js';
import { requestPolicy } from '../policy/request-policy.js';
import { responsePolicy } from '../policy/response-policy.js';
import type { TenantRotations } from '../policy/rotation.js';
import { forward } from '../upstream/forward.js';
import { watermarkStage, type WatermarkDeps } from '../watermark/stage.js';
import type { ModelRegistry } from '../upstream/registry.js';
import { Pipeline } from './pipeline.js';

export interface PipelineDeps {
  keys: ApiKeys;
  /** API keys and JWTs, with the failed-authentication throttle. */
  auth: Authenticator;
  models: ModelRegistry;
  /** The effective role table (built-in, moat.yaml, stored); consult it with `can()`. */
  roles: RoleTable;
  /** Where limit buckets live (memory or Redis); generic, so other domains may keep buckets there too. */
  quotas: QuotaStore;
  limits: Pick<AdmitDeps, 'plan' | 'maxTokens' | 'tokenizer'>;
  policies: PolicySet;
  /** Per-tenant embedding rotations; null when no policy rotates embeddings. */
  rotations: TenantRotations | null;
  auditSink: AuditSink;
  detector: DetectEngine;
  promptMode: PromptMode;
  watermark: WatermarkDeps;
  log: Logger;
}

export function assemblePipeline(d: PipelineDeps): Pipeline {
  return new Pipeline(
    [
      authenticate(d.auth), // who is calling (API key or JWT)
      validate(), // is the body a well-typed OpenAI request
      authorize(d.models, d.roles), // may they use this model
      admit({ store: d.quotas, ...d.limits, outputCap: (ctx) => d.policies.resolve(ctx.identity!.roles, ctx.model!.name).maxTokens ?? Infinity, backpressure: d.auditSink }), // within their limits (tokens reserved), and can we record it
      requestPolicy(d.policies, d.roles), // strip or refuse what leaks the model
      settle(d.quotas, d.log), // hold the upstream to the reserved output; at the end, settle to real usage
      detect(d.detector, d.quotas), // act on the principal's extraction risk (after settle, so a degraded max_tokens stands); observes every request at finish, before audit
      forward(), // call the upstream with Moat's own serialization
      responsePolicy(d.rotations), // scrub logprobs and internals, harden embeddings
      watermarkStage(d.watermark), // mark the answer's words with the caller's key
      audit(d.auditSink, d.promptMode), // one hash-chained record per request
    ],
    d.log,
  );
}
