/**
 * The OpenAI request bodies Moat accepts, with their types. Validation is strict on types
 * (a wrong type is a 400 that names the parameter) and on the top-level field list: a field
 * not listed here is unknown, and unknown fields are refused by default (see the request
 * policy). Nested objects that the API itself extends often (messages, tools) keep their
 * extra fields, since the policy does not act on them.
 */
import { z } from 'zod';
import type { Route } from '../pipeline/context.js';

const num = z.number().finite();
const stop = z.union([z.string(), z.array(z.string()).max(16)]).nullable();
const streamOptions = z.looseObject({ include_usage: z.boolean().optional() }).nullable();
const logitBias = z.record(z.string(), num).nullable();

const contentPart = z.looseObject({ type: z.string() });
const message = z.looseObject({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
  name: z.string().optional(),
});

/** Fields shared by chat and completions. */
const common = {
  model: z.string().min(1),
  frequency_penalty: num.nullable().optional(),
  presence_penalty: num.nullable().optional(),
  logit_bias: logitBias.optional(),
  max_tokens: z.number().int().nonnegative().nullable().optional(),
  n: z.number().int().positive().nullable().optional(),
  seed: z.number().int().nullable().optional(),
  stop: stop.optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: streamOptions.optional(),
  temperature: num.nullable().optional(),
  top_p: num.nullable().optional(),
  user: z.string().optional(),
};

export const chatRequest = z.looseObject({
  ...common,
  messages: z.array(message).min(1),
  logprobs: z.boolean().nullable().optional(),
  top_logprobs: z.number().int().nonnegative().nullable().optional(),
  max_completion_tokens: z.number().int().nonnegative().nullable().optional(),
  response_format: z.looseObject({ type: z.string() }).optional(),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
  tool_choice: z.union([z.string(), z.looseObject({})]).optional(),
  parallel_tool_calls: z.boolean().optional(),
  functions: z.array(z.looseObject({})).optional(),
  function_call: z.union([z.string(), z.looseObject({})]).optional(),
  service_tier: z.string().nullable().optional(),
  store: z.boolean().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
  modalities: z.array(z.string()).nullable().optional(),
  reasoning_effort: z.string().nullable().optional(),
});

const promptInput = z.union([
  z.string(),
  z.array(z.string()).min(1),
  z.array(z.number().int().nonnegative()).min(1),
  z.array(z.array(z.number().int().nonnegative()).min(1)).min(1),
]);

export const completionRequest = z.looseObject({
  ...common,
  prompt: promptInput,
  best_of: z.number().int().positive().nullable().optional(),
  echo: z.boolean().nullable().optional(),
  logprobs: z.number().int().nonnegative().nullable().optional(),
  suffix: z.string().nullable().optional(),
});

export const embeddingRequest = z.looseObject({
  model: z.string().min(1),
  input: promptInput,
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().positive().optional(),
  user: z.string().optional(),
});

export const REQUEST_SCHEMAS = {
  chat: chatRequest,
  completions: completionRequest,
  embeddings: embeddingRequest,
} as const satisfies Record<Route, z.ZodType>;

/** Every top-level field the OpenAI API defines for the route. */
export const KNOWN_FIELDS: Record<Route, ReadonlySet<string>> = {
  chat: new Set(Object.keys(chatRequest.shape)),
  completions: new Set(Object.keys(completionRequest.shape)),
  embeddings: new Set(Object.keys(embeddingRequest.shape)),
};

/** Formats the first zod issue as `messages.0.role: expected string`. */
export function describeFirstIssue(issues: readonly z.core.$ZodIssue[]): { param: string; detail: string } {
  const issue = issues[0]!;
  const param = issue.path.map(String).join('.') || '(body)';
  const what = issue.message.replace(/^Invalid input: /, '');
  return { param, detail: `'${param}': ${what}` };
}
