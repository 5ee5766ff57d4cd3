/**
 * The state of one request as it moves through the pipeline. Stages read and fill it; the audit
 * stage turns it into a record at the end. Fields belong to the stage named in their comment.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { MoatError } from '../errors.js';
import type { Identity } from '../identity/types.js';
import type { ModelEntry } from '../upstream/registry.js';
import type { UpstreamResponse } from '../upstream/client.js';

export type JsonObject = Record<string, unknown>;

/** The OpenAI routes Moat protects. */
export type Route = 'chat' | 'completions' | 'embeddings';

export const ROUTE_PATHS: Record<Route, string> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};

export type Outcome =
  | 'allowed' // forwarded and answered
  | 'denied' // refused by Moat (auth, access, limits, policy, detection)
  | 'upstream_error' // forwarded, the upstream failed or timed out
  | 'client_aborted' // the client went away before the answer was complete
  | 'error'; // Moat failed

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export interface RequestContext {
  readonly id: string;
  readonly route: Route;
  /** Wall-clock start (ms since epoch) and a monotonic start for latency. */
  readonly startedAt: number;
  readonly startNs: bigint;
  readonly sourceIp: string;
  readonly headers: IncomingHttpHeaders;

  /** The validated request, as the client sent it (parse & validate). */
  body: JsonObject;
  /** What will be serialized and sent upstream; stages rewrite it (request policy, forward). */
  upstreamBody: JsonObject;
  stream: boolean;

  /** authenticate */
  identity: Identity | null;
  /** authorize */
  model: ModelEntry | null;
  /** Policy rules that fired, e.g. `strip:logprobs` or `deny:logit_bias` (request and response policy). */
  rules: string[];
  /** Headers every response carries (RateLimit, Retry-After ...), set by admit. */
  responseHeaders: Record<string, string>;
  /** Opaque per-stage state, keyed by the stage name (limits ticket, detector verdict ...). */
  stageState: Map<string, unknown>;

  /** forward */
  upstream: UpstreamResponse | null;
  /** Aborts the upstream request (client disconnect, timeouts). */
  readonly abort: AbortController;

  /** Filled as the response is written. */
  outcome: Outcome;
  status: number;
  error: MoatError | null;
  usage: Usage | null;
  outputBytes: number;
  /** Risk score of the principal when the request was decided (detect), null when not scored. */
  risk: number | null;
}

let counter = 0;
// A random per-process prefix keeps ids unique across replicas without a syscall per request.
const bootId = randomBytes(5).toString('hex');

export function newRequestId(): string {
  counter = (counter + 1) >>> 0;
  return `req_${bootId}${counter.toString(36).padStart(6, '0')}`;
}

export function createContext(init: { route: Route; sourceIp: string; headers: IncomingHttpHeaders; id?: string }): RequestContext {
  return {
    id: init.id ?? newRequestId(),
    route: init.route,
    startedAt: Date.now(),
    startNs: process.hrtime.bigint(),
    sourceIp: init.sourceIp,
    headers: init.headers,
    body: {},
    upstreamBody: {},
    stream: false,
    identity: null,
    model: null,
    rules: [],
    responseHeaders: {},
    stageState: new Map(),
    upstream: null,
    abort: new AbortController(),
    outcome: 'allowed',
    status: 200,
    error: null,
    usage: null,
    outputBytes: 0,
    risk: null,
  };
}

export function elapsedMs(ctx: RequestContext): number {
  return Number(process.hrtime.bigint() - ctx.startNs) / 1e6;
}
