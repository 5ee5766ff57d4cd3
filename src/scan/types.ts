/**
 * The vocabulary of `moat scan`: what the language front-ends find in source code (facts about
 * each inference route) and what the rules turn those facts into (findings). Pure types.
 */

export type Severity = 'high' | 'medium' | 'low';

/** Severities from the most to the least serious, for `--fail-on` comparisons. */
export const SEVERITIES: readonly Severity[] = ['high', 'medium', 'low'];

export type RuleId =
  | 'unauthenticated-endpoint'
  | 'ip-keyed-rate-limit'
  | 'missing-rate-limit'
  | 'logprobs-exposed'
  | 'embeddings-exposed'
  | 'unfiltered-params'
  | 'missing-audit-log';

export type Framework = 'express' | 'fastify' | 'hono' | 'nextjs' | 'fastapi' | 'flask';

export type Language = 'typescript' | 'python';

/** A place in a file and a short description of the code there, e.g. `Depends(get_current_user)`. */
export interface Site {
  line: number;
  what: string;
  /** The file, when it is not the route's own (a handler imported from another module). */
  file?: string;
}

/** Whom a rate limit counts requests for. */
export type LimitKey = 'ip' | 'user' | 'unknown';

/** A control that applies to a route: authentication, a rate limit, or an audit log. */
export type Guard =
  | ({ kind: 'auth' } & Site)
  | ({ kind: 'rate'; key: LimitKey } & Site)
  | ({ kind: 'audit' } & Site);

/** A call that runs a model: a client call, a local model, or an HTTP request to an inference server. */
export interface InferenceCall extends Site {
  kind: 'generate' | 'embeddings' | 'forward';
}

/** What the data-flow analysis of one handler (and the local helpers it calls) found. */
export interface HandlerFacts {
  inference: InferenceCall[];
  /** Controls performed inside the handler itself (an auth check, a limiter call, a log line). */
  guards: Guard[];
  /** `logprobs` / `top_logprobs` requested from the model or read from its answer. */
  logprobs: Site[];
  /** The client's body handed to the model call (or the upstream request) as a whole. */
  unfiltered: Site[];
  /** The model's whole answer object handed back to the client. */
  passthrough: Site[];
  /** Embedding vectors from the model handed back to the client. */
  embeddingsReturned: Site[];
}

/** One route with everything known about it once middleware, dependencies and mounts are resolved. */
export interface RouteFacts extends HandlerFacts {
  file: string;
  line: number;
  framework: Framework;
  method: string;
  path: string;
}

export interface Finding {
  rule: RuleId;
  severity: Severity;
  file: string;
  line: number;
  message: string;
  /** The route the finding is about, e.g. `POST /v1/chat`. */
  route: string;
  framework: Framework;
}

export function emptyFacts(): HandlerFacts {
  return { inference: [], guards: [], logprobs: [], unfiltered: [], passthrough: [], embeddingsReturned: [] };
}

/** Appends every list of `b` to `a` (in place) and returns `a`. */
export function mergeFacts(a: HandlerFacts, b: HandlerFacts): HandlerFacts {
  a.inference.push(...b.inference);
  a.guards.push(...b.guards);
  a.logprobs.push(...b.logprobs);
  a.unfiltered.push(...b.unfiltered);
  a.passthrough.push(...b.passthrough);
  a.embeddingsReturned.push(...b.embeddingsReturned);
  return a;
}
