/**
 * The request path, in one place. Each line is one stage with one job; open its file to read it.
 *
 *   parse JSON (server/inference.ts)
 *   -> authenticate -> validate -> authorize -> admit -> request policy -> detect -> forward
 *   -> response policy -> audit
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
import { admit, type LimitDefaults } from '../limits/admit.js';
import type { QuotaStore } from '../limits/store.js';
import { validate } from '../openai/validate.js';
import { requestPolicy } from '../policy/request-policy.js';
import type { RequestRule } from '../policy/request-rules.js';
import { responsePolicy } from '../policy/response-policy.js';
import { forward } from '../upstream/forward.js';
import type { ModelRegistry } from '../upstream/registry.js';
import { Pipeline } from './pipeline.js';

export interface PipelineDeps {
  keys: ApiKeys;
  /** API keys and JWTs, with the failed-authentication throttle. */
  auth: Authenticator;
  models: ModelRegistry;
  /** The effective role table (built-in, moat.yaml, stored); consult it with `can()`. */
  roles: RoleTable;
  quotas: QuotaStore;
  limits: LimitDefaults;
  requestRules: readonly RequestRule[];
  auditSink: AuditSink;
  detector: DetectEngine;
  promptMode: PromptMode;
  log: Logger;
}

export function assemblePipeline(d: PipelineDeps): Pipeline {
  return new Pipeline(
    [
      authenticate(d.auth), // who is calling (API key or JWT)
      validate(), // is the body a well-typed OpenAI request
      authorize(d.models, d.roles), // may they use this model
      admit(d.quotas, d.limits, d.auditSink), // within their limits, and can we record it
      requestPolicy(d.requestRules), // strip or refuse what leaks the model
      detect(d.detector, d.quotas), // act on the principal's extraction risk; observes every request at finish (before audit)
      forward(), // call the upstream with Moat's own serialization
      responsePolicy(), // scrub logprobs from answers and stream events
      audit(d.auditSink, d.promptMode), // one hash-chained record per request
    ],
    d.log,
  );
}
