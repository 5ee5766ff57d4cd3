/**
 * The rules of `moat scan`: each turns the facts about one inference route into findings that
 * say what is wrong, why it helps someone steal the model (with the CWE), and the secure pattern
 * for the route's framework. Pure logic.
 */
import { remedy } from './remedies.js';
import type { Finding, RouteFacts, RuleId, Severity, Site } from './types.js';

export interface RuleDef {
  id: RuleId;
  severity: Severity;
  title: string;
  cwe: readonly string[];
  /** Why the weakness helps a thief; one or two sentences. */
  why: string;
}

export const RULES: readonly RuleDef[] = [
  {
    id: 'unauthenticated-endpoint',
    severity: 'high',
    title: 'Inference endpoint without authentication',
    cwe: ['CWE-306', 'CWE-285'],
    why: 'Anyone who finds the URL can query the model without limit and train a copy on its answers; no request can be tied to a person, so extraction cannot be detected, throttled or traced (CWE-306 missing authentication, CWE-285 improper authorization).',
  },
  {
    id: 'ip-keyed-rate-limit',
    severity: 'medium',
    title: 'Rate limit keyed on the client IP address',
    cwe: ['CWE-770', 'CWE-307'],
    why: 'A limit counted per IP address is escaped by rotating proxies or by sending a new X-Forwarded-For header with each request, so one account can send unbounded queries (CWE-770) and guess keys without bound (CWE-307).',
  },
  {
    id: 'missing-rate-limit',
    severity: 'high',
    title: 'Inference endpoint without a rate limit',
    cwe: ['CWE-770', 'CWE-307'],
    why: 'Query-based extraction needs tens of thousands of answers; without a limit one caller gets them as fast as the model can produce them (CWE-770 allocation without limits), and keys can be guessed without bound (CWE-307).',
  },
  {
    id: 'logprobs-exposed',
    severity: 'high',
    title: 'Log-probabilities reach the client',
    cwe: ['CWE-200'],
    why: "Log-probabilities (with logit_bias) let an attacker recover the model's output projection layer and hidden size (Carlini et al. 2024) and distil a copy far faster than from text alone (CWE-200 exposure of sensitive information).",
  },
  {
    id: 'embeddings-exposed',
    severity: 'medium',
    title: 'Raw embedding vectors returned to the client',
    cwe: ['CWE-200'],
    why: 'Full-precision embedding vectors let a caller fit a copy of the encoder from (text, vector) pairs and, in part, invert them back to text (CWE-200).',
  },
  {
    id: 'unfiltered-params',
    severity: 'high',
    title: "The client's request body is forwarded to the model wholesale",
    cwe: ['CWE-915'],
    why: 'Every parameter the client sends reaches the model, including logit_bias, logprobs, top_logprobs, echo and n, the levers of logit extraction (CWE-915 uncontrolled modification of object attributes).',
  },
  {
    id: 'missing-audit-log',
    severity: 'low',
    title: 'No audit log of who asked what',
    cwe: ['CWE-778'],
    why: 'Without a record of the caller and the prompt per request, an extraction campaign cannot be noticed or proven afterwards, nor a leaked key traced (CWE-778 insufficient logging).',
  },
];

const BY_ID = new Map(RULES.map((r) => [r.id, r]));

export function ruleDef(id: RuleId): RuleDef {
  return BY_ID.get(id)!;
}

/** True when severity `s` is at least as serious as `threshold`. */
export function atLeast(s: Severity, threshold: Severity): boolean {
  const order: Record<Severity, number> = { high: 3, medium: 2, low: 1 };
  return order[s] >= order[threshold];
}

const describe = (sites: readonly Site[]) => [...new Set(sites.map((s) => `${s.file ? `${s.file}:` : 'line '}${s.line}: ${s.what}`))].slice(0, 3).join('; ');

/** The findings for one route; none when the route runs no model. */
export function evaluateRoute(r: RouteFacts): Finding[] {
  if (r.inference.length === 0) return [];
  const out: Finding[] = [];
  const route = `${r.method} ${r.path}`;
  const model = describe(r.inference);
  const add = (id: RuleId, at: number | Site, wrong: string) => {
    const def = ruleDef(id);
    const file = typeof at === 'number' ? r.file : (at.file ?? r.file);
    const line = typeof at === 'number' ? at : at.line;
    out.push({ rule: id, severity: def.severity, file, line, route, framework: r.framework, message: `${wrong} ${def.why} Fix: ${remedy(id, r.framework)}` });
  };

  const auth = r.guards.filter((g) => g.kind === 'auth');
  const limits = r.guards.filter((g) => g.kind === 'rate');
  const audit = r.guards.filter((g) => g.kind === 'audit');

  if (auth.length === 0) add('unauthenticated-endpoint', r.line, `${route} calls the model (${model}) and has no authentication dependency, middleware or check.`);
  if (limits.length === 0) add('missing-rate-limit', r.line, `${route} calls the model (${model}) and has no rate limit.`);
  else if (!limits.some((l) => l.key === 'user') && limits.some((l) => l.key === 'ip')) {
    const ipLimits = limits.filter((l) => l.key === 'ip');
    add('ip-keyed-rate-limit', ipLimits[0]!, `${route} is rate-limited per client IP address: ${describe(ipLimits)}.`);
  }
  const generates = r.inference.some((i) => i.kind !== 'embeddings');
  if (r.logprobs.length > 0) add('logprobs-exposed', r.logprobs[0]!, `${route} requests or returns log-probabilities: ${describe(r.logprobs)}.`);
  else if (generates && r.unfiltered.length > 0 && r.passthrough.length > 0) {
    add('logprobs-exposed', r.passthrough[0]!, `${route} passes the client's logprobs/top_logprobs through and returns the model's whole answer, log-probabilities included: ${describe(r.passthrough)}.`);
  }
  if (r.embeddingsReturned.length > 0) add('embeddings-exposed', r.embeddingsReturned[0]!, `${route} returns raw embedding vectors: ${describe(r.embeddingsReturned)}.`);
  if (r.unfiltered.length > 0) add('unfiltered-params', r.unfiltered[0]!, `${route} hands the client's request body to the model as a whole: ${describe(r.unfiltered)}.`);
  if (audit.length === 0) add('missing-audit-log', r.line, `${route} calls the model but logs neither the caller's identity nor the prompt.`);
  return out;
}
