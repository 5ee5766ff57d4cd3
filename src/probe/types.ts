/** The vocabulary of `moat probe`: checks, their outcome, and the fix for each. */
import type { ProbeClient } from './http.js';

export type CheckId =
  | 'auth-required'
  | 'invalid-key-rejected'
  | 'logprobs-withheld'
  | 'logit-bias-ignored'
  | 'echo-withheld'
  | 'n-capped'
  | 'embeddings-protected'
  | 'errors-opaque'
  | 'per-user-rate-limit';

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  id: CheckId;
  status: CheckStatus;
  /** What was sent and what came back, in one or two sentences. */
  evidence: string;
  /** The remedy, shown when the check fails. */
  fix: string;
}

export interface ProbeContext {
  client: ProbeClient;
  base: URL;
  model: string;
  hasKey: boolean;
  /** Why keyed requests cannot run (no working chat with the key), or null. */
  chatBroken: string | null;
}

export const FIXES: Record<CheckId, string> = {
  'auth-required': 'Require a credential on every inference route (API key or token verified by the server) and answer 401 without one.',
  'invalid-key-rejected': 'Verify the presented key against the server-side store (constant-time compare of a keyed hash) and answer 401 to an unknown key; never accept any non-empty key.',
  'logprobs-withheld': 'Strip logprobs/top_logprobs from requests and remove choices[].logprobs from every answer, streamed or not, for callers without an explicit logprobs permission.',
  'logit-bias-ignored': 'Refuse (400) or drop logit_bias before forwarding; with logprobs it reveals the output layer of the model.',
  'echo-withheld': 'Refuse echo=true on /v1/completions (it returns the prompt and its log-probabilities).',
  'n-capped': 'Cap n (and best_of) at a small number such as 4, and refuse larger values.',
  'embeddings-protected': 'Serve raw embeddings only to roles that need them, reduced in precision or dimension (or rotated per tenant), and never without credentials.',
  'errors-opaque': 'Answer errors with a fixed, OpenAI-shaped message and code; log the stack trace and the upstream address on the server, never in the response.',
  'per-user-rate-limit': 'Count requests per authenticated principal (key, user or tenant), in a store shared by all replicas; never key the limit on the client address or a header the client sets.',
};

export function result(id: CheckId, status: CheckStatus, evidence: string): CheckResult {
  return { id, status, evidence, fix: FIXES[id] };
}
