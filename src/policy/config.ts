/**
 * The `policy:` section of moat.yaml: what the request and response policy do with each leaky
 * parameter, per role and per model. A base layer applies to everyone; `overrides` layer on top
 * for the roles and models they name, later ones winning. Every field of a layer is optional and
 * falls back to {@link POLICY_DEFAULTS}, so the schema here carries no defaults of its own.
 *
 * @example
 *   policy:
 *     maxChoices: 2
 *     overrides:
 *       - roles: [researcher]
 *         logprobs: { maxTop: 3, decimals: 1 }
 */
import { z } from 'zod';

/** What happens to a request that carries the parameter: refuse it (400), drop the parameter, or pass it on. */
export const paramAction = z.enum(['deny', 'strip', 'allow']);
export type ParamAction = z.output<typeof paramAction>;

const count = z.number().int().nonnegative();
const name = z.string().regex(/^[\w.:/@*-]{1,128}$/, 'expected a name of letters, digits and ._:/@-, or *');

const layer = z.strictObject({
  /** logit_bias, echo and suffix: deny, strip or allow. logprobs/top_logprobs: deny or strip (allowing them is the 'logprobs' permission). */
  params: z
    .strictObject({
      logit_bias: paramAction.optional(),
      logprobs: z.enum(['deny', 'strip']).optional(),
      echo: paramAction.optional(),
      suffix: paramAction.optional(),
    })
    .optional(),
  /** Largest `n` and `best_of`. */
  maxChoices: z.number().int().positive().optional(),
  /** What a larger `n`/`best_of` gets: refused, or lowered to the cap. */
  choicesAction: z.enum(['deny', 'clamp']).optional(),
  /** Largest `max_tokens` / `max_completion_tokens` a client may ask for; null: no cap. */
  maxTokens: z.number().int().positive().nullable().optional(),
  maxTokensAction: z.enum(['deny', 'clamp']).optional(),
  /** Most entries an allowed `logit_bias` map may have. */
  maxLogitBiasEntries: count.optional(),
  /** Top-level fields the OpenAI API does not define: refuse (400), drop, or pass on (still scanned for leaky keys). */
  unknownFields: z.enum(['reject', 'strip', 'allow']).optional(),
  /** Server-specific fields that expose logits (vLLM `prompt_logprobs`, TGI `top_n_tokens` ...), by name; merged over the built-in list. */
  extraFields: z.record(z.string().min(1).max(128), paramAction).optional(),
  /** For roles with the 'logprobs' permission. */
  logprobs: z
    .strictObject({
      /** Largest `top_logprobs` (chat) or integer `logprobs` (completions); larger requests are lowered to it. */
      maxTop: z.number().int().min(0).max(20).optional(),
      /** Decimal places kept in every returned log-probability. */
      decimals: z.number().int().min(0).max(8).optional(),
    })
    .optional(),
  response: z
    .strictObject({
      /** Remove `system_fingerprint` (it identifies the serving build and configuration). */
      stripSystemFingerprint: z.boolean().optional(),
      /** Fields removed from every answer and chunk, at the top level and in each choice. */
      stripFields: z.array(z.string().min(1).max(128)).optional(),
    })
    .optional(),
  embeddings: z
    .strictObject({
      /** Decimal places kept in each component; null keeps full precision. */
      decimals: z.number().int().min(1).max(8).nullable().optional(),
      /** Keep only the first N components (then re-normalize); null keeps all. */
      dimensions: z.number().int().positive().nullable().optional(),
      /** Rotate vectors by a secret orthogonal matrix per tenant: cosine similarity holds within a tenant, vectors of different tenants do not line up. */
      rotate: z.boolean().optional(),
    })
    .optional(),
});

export type PolicyLayer = z.output<typeof layer>;

export const policySchema = layer.extend({
  /** Secret for the per-tenant embedding rotation (share it across replicas). Default: generated in the data directory. */
  rotationSecret: z.string().min(32, 'expected at least 32 characters of secret').optional(),
  overrides: z
    .array(
      layer.extend({
        /** Applies when the caller holds one of these roles; absent: every role. */
        roles: z.array(name).min(1).optional(),
        /** Applies to these models ('*' for all); absent: every model. */
        models: z.array(name).min(1).optional(),
      }),
    )
    .default([]),
});

export type PolicyConfig = z.output<typeof policySchema>;

/** Server-specific request fields that return log-probabilities, logits or token-level internals. */
export const LEAKY_EXTRA_FIELDS: Readonly<Record<string, ParamAction>> = {
  prompt_logprobs: 'deny', // vLLM: logprobs of every prompt token
  logits_processors: 'deny', // vLLM: arbitrary logit processing
  allowed_token_ids: 'deny', // vLLM: restricting the vocabulary acts like logit_bias
  bad_words: 'deny', // vLLM: a negative bias on chosen tokens
  return_tokens_as_token_ids: 'deny', // vLLM: token ids in logprobs
  return_token_ids: 'deny', // vLLM: token ids of prompt and answer
  top_n_tokens: 'deny', // TGI: top-n logprobs
  decoder_input_details: 'deny', // TGI: prompt logprobs
  details: 'deny', // TGI: token-level details
  n_probs: 'deny', // llama.cpp: top-n probabilities
  post_sampling_probs: 'deny', // llama.cpp
  logprobs_mode: 'deny', // vLLM: raw logits instead of logprobs
  extra_body: 'deny', // a client-side wrapper some servers unwrap
  extra_query: 'deny',
  extra_headers: 'deny',
  options: 'deny', // Ollama native options (logit-level sampling settings)
};

/** A policy with every field decided: what the stages work with. */
export interface ResolvedPolicy {
  params: { logit_bias: ParamAction; logprobs: 'deny' | 'strip'; echo: ParamAction; suffix: ParamAction };
  maxChoices: number;
  choicesAction: 'deny' | 'clamp';
  maxTokens: number | null;
  maxTokensAction: 'deny' | 'clamp';
  maxLogitBiasEntries: number;
  unknownFields: 'reject' | 'strip' | 'allow';
  extraFields: Record<string, ParamAction>;
  logprobs: { maxTop: number; decimals: number };
  response: { stripSystemFingerprint: boolean; stripFields: string[] };
  embeddings: { decimals: number | null; dimensions: number | null; rotate: boolean };
}

export const POLICY_DEFAULTS: ResolvedPolicy = {
  params: { logit_bias: 'deny', logprobs: 'strip', echo: 'deny', suffix: 'deny' },
  maxChoices: 4,
  choicesAction: 'deny',
  maxTokens: 4096,
  maxTokensAction: 'clamp',
  maxLogitBiasEntries: 300,
  unknownFields: 'reject',
  extraFields: { ...LEAKY_EXTRA_FIELDS },
  logprobs: { maxTop: 5, decimals: 2 },
  response: { stripSystemFingerprint: true, stripFields: ['prompt_logprobs', 'prompt_token_ids', 'token_ids', 'kv_transfer_params'] },
  embeddings: { decimals: null, dimensions: null, rotate: false },
};

const defined = <T extends object>(o: T | undefined): Partial<T> => {
  const out: Partial<T> = {};
  if (o) for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out;
};

/** Lays `l` over `base`; nested sections merge field by field. Pure. */
export function applyLayer(base: ResolvedPolicy, l: PolicyLayer): ResolvedPolicy {
  return {
    params: { ...base.params, ...defined(l.params) },
    maxChoices: l.maxChoices ?? base.maxChoices,
    choicesAction: l.choicesAction ?? base.choicesAction,
    maxTokens: l.maxTokens !== undefined ? l.maxTokens : base.maxTokens,
    maxTokensAction: l.maxTokensAction ?? base.maxTokensAction,
    maxLogitBiasEntries: l.maxLogitBiasEntries ?? base.maxLogitBiasEntries,
    unknownFields: l.unknownFields ?? base.unknownFields,
    extraFields: { ...base.extraFields, ...l.extraFields },
    logprobs: { ...base.logprobs, ...defined(l.logprobs) },
    response: { ...base.response, ...defined(l.response) },
    embeddings: { ...base.embeddings, ...defined(l.embeddings) },
  };
}

/**
 * The policy for a caller's roles on a model: defaults, then the base layer, then each matching
 * override in order. Results are cached; the set of role combinations in use is small, and the
 * cache is cleared if it ever grows past a bound.
 */
export class PolicySet {
  private readonly base: ResolvedPolicy;
  private readonly cache = new Map<string, ResolvedPolicy>();

  constructor(private readonly config: PolicyConfig) {
    this.base = applyLayer(POLICY_DEFAULTS, config);
  }

  resolve(roles: readonly string[], model: string): ResolvedPolicy {
    if (this.config.overrides.length === 0) return this.base;
    const key = `${model}\0${roles.join('\0')}`;
    let p = this.cache.get(key);
    if (p) return p;
    p = this.base;
    for (const o of this.config.overrides) {
      if (o.roles && !o.roles.some((r) => roles.includes(r))) continue;
      if (o.models && !o.models.includes('*') && !o.models.includes(model)) continue;
      p = applyLayer(p, o);
    }
    if (this.cache.size >= 1024) this.cache.clear();
    this.cache.set(key, p);
    return p;
  }
}
