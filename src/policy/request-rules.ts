/**
 * The request policy as one pure decision over the parsed, validated JSON: which top-level
 * fields may pass, and what happens to each parameter that leaks the model. Each fired rule adds
 * a stable id (`deny:logit_bias`, `strip:logprobs`, `cap:max_tokens` ...) to `rules`, which the
 * audit log records; a refusal throws a MoatError after its id was added.
 * docs/policy-and-audit.md explains each rule and the attack it answers.
 */
import { MoatError } from '../errors.js';
import { KNOWN_FIELDS } from '../openai/schemas.js';
import type { JsonObject, Route } from '../pipeline/context.js';
import type { ParamAction, ResolvedPolicy } from './config.js';
import { LEAKY_PARAMS, findNestedKey, normalizeName } from './field-scan.js';

/** What the caller's roles grant, as far as the policy is concerned. */
export interface Caller {
  /** The 'logprobs' permission on this model. */
  mayLogprobs: boolean;
  /** The 'embeddings' permission on this model. */
  mayEmbeddings: boolean;
}

export interface RequestDecision {
  /** The body to serialize upstream. */
  body: JsonObject;
  /** Set when log-probabilities may be returned: how many alternatives, at what precision. */
  logprobs: { maxTop: number; decimals: number } | null;
}

const isMap = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

// Normalized names of every field that is known or listed, per route, for spotting variants.
const variantIndex = new Map<string, Map<string, string>>();
function variantsOf(route: Route, extras: Record<string, ParamAction>): Map<string, string> {
  const key = route + '\0' + Object.keys(extras).join(',');
  let idx = variantIndex.get(key);
  if (!idx) {
    idx = new Map();
    for (const f of [...KNOWN_FIELDS[route], ...Object.keys(extras), ...LEAKY_PARAMS]) idx.set(normalizeName(f), f);
    if (variantIndex.size > 64) variantIndex.clear();
    variantIndex.set(key, idx);
  }
  return idx;
}

function leakySet(extras: Record<string, ParamAction>): Set<string> {
  const s = new Set<string>(LEAKY_PARAMS.map(normalizeName));
  for (const [k, a] of Object.entries(extras)) if (a !== 'allow') s.add(normalizeName(k));
  return s;
}

class Decider {
  constructor(
    readonly out: JsonObject,
    readonly rules: string[],
  ) {}

  deny(rule: string, param: string, reason: string): never {
    this.rules.push(rule);
    throw new MoatError('POLICY_DENIED', { param: param.slice(0, 64), reason }, { param: param.slice(0, 64) });
  }

  strip(rule: string, ...params: string[]): void {
    this.rules.push(rule);
    for (const p of params) delete this.out[p];
  }

  /** Applies a deny/strip/allow action to a parameter that is present. */
  act(param: string, action: ParamAction, reason: string): void {
    if (action === 'deny') this.deny(`deny:${param}`, param, reason);
    if (action === 'strip') this.strip(`strip:${param}`, param);
  }

  /** A numeric cap: refuse a larger value or lower it to the cap. */
  cap(param: string, max: number, action: 'deny' | 'clamp', reason: string): void {
    const v = this.out[param];
    if (typeof v !== 'number' || v <= max) return;
    if (action === 'deny') this.deny(`deny:${param}`, param, `${reason} (at most ${max})`);
    this.rules.push(`cap:${param}`);
    this.out[param] = max;
  }
}

function checkFields(d: Decider, route: Route, p: ResolvedPolicy): void {
  const known = KNOWN_FIELDS[route];
  const variants = variantsOf(route, p.extraFields);
  let leaky: Set<string> | null = null;
  for (const field of Object.keys(d.out)) {
    if (known.has(field)) continue;
    const canonical = variants.get(normalizeName(field));
    if (canonical !== undefined && canonical !== field) {
      d.deny('deny:field_variant', field, `it is a variant of '${canonical}'; send the exact name, if the policy allows it`);
    }
    const extra = p.extraFields[field];
    if (extra !== undefined && !(extra === 'deny' && p.unknownFields === 'reject')) {
      d.act(field, extra, 'this server-specific field exposes logits or token-level internals');
    } else if (p.unknownFields === 'reject') {
      d.rules.push('deny:unknown_field');
      throw new MoatError('UNKNOWN_FIELD', { field: field.slice(0, 64) }, { param: field.slice(0, 64) });
    } else if ((LEAKY_PARAMS as readonly string[]).includes(field)) {
      d.deny(`deny:${field}`, field, 'it is not a parameter of this route, and a lenient server might still honour it');
    } else if (p.unknownFields === 'strip') {
      d.strip('strip:unknown_field', field);
      continue;
    }
    if (!(field in d.out)) continue;
    leaky ??= leakySet(p.extraFields);
    const nested = findNestedKey(d.out[field], leaky);
    if (nested !== null) d.deny('deny:nested_field', `${field}.${nested}`, 'a leaky parameter nested in a pass-through field');
  }
}

const LOGPROBS_REASON = "log-probabilities leak the model's output layer";

/** Chat and completions: logit_bias, logprobs, echo, suffix, n, best_of, max_tokens. */
function checkGeneration(d: Decider, route: 'chat' | 'completions', p: ResolvedPolicy, caller: Caller): RequestDecision['logprobs'] {
  const o = d.out;
  if (o.logit_bias !== undefined) {
    if (!isMap(o.logit_bias) || Object.keys(o.logit_bias).length === 0) delete o.logit_bias;
    else {
      d.act('logit_bias', p.params.logit_bias, 'biasing logits lets a caller read the full next-token distribution (Carlini et al. 2024)');
      if (isMap(o.logit_bias) && Object.keys(o.logit_bias).length > p.maxLogitBiasEntries) {
        d.deny('deny:logit_bias_size', 'logit_bias', `at most ${p.maxLogitBiasEntries} entries are allowed`);
      }
    }
  }

  const top = route === 'chat' ? o.top_logprobs : o.logprobs;
  const wants = route === 'chat' ? o.logprobs === true || (typeof top === 'number' && top > 0) : typeof o.logprobs === 'number';
  const topParam = route === 'chat' ? 'top_logprobs' : 'logprobs';
  let logprobs: RequestDecision['logprobs'] = null;
  if (!wants) {
    delete o.logprobs;
    delete o.top_logprobs;
  } else if (!caller.mayLogprobs) {
    const present = route === 'chat' && o.logprobs !== true ? 'top_logprobs' : 'logprobs';
    if (p.params.logprobs === 'deny') d.deny(`deny:${present}`, present, LOGPROBS_REASON);
    d.strip('strip:logprobs', 'logprobs', 'top_logprobs');
  } else {
    if (o.logit_bias !== undefined) {
      d.deny('deny:logprobs_with_logit_bias', 'logit_bias', 'logit_bias together with logprobs recovers full logit vectors (Carlini et al. 2024); send one or the other');
    }
    if (route === 'chat') o.logprobs = true;
    d.cap(topParam, p.logprobs.maxTop, 'clamp', 'too many alternatives per token');
    logprobs = { maxTop: p.logprobs.maxTop, decimals: p.logprobs.decimals };
  }

  if (route === 'completions') {
    if (o.echo === true) d.act('echo', p.params.echo, 'echo returns the log-probabilities of the prompt tokens');
    if (o.suffix !== undefined && o.suffix !== null) d.act('suffix', p.params.suffix, 'fill-in-the-middle is not offered through this gateway');
    d.cap('best_of', p.maxChoices, p.choicesAction, 'best_of multiplies hidden sampling');
  }
  d.cap('n', p.maxChoices, p.choicesAction, 'many samples per request make sampling-based extraction cheap');
  if (p.maxTokens !== null) {
    d.cap('max_tokens', p.maxTokens, p.maxTokensAction, 'the answer would be longer than allowed');
    d.cap('max_completion_tokens', p.maxTokens, p.maxTokensAction, 'the answer would be longer than allowed');
  }
  return logprobs;
}

/**
 * Decides a request. Returns the body for the upstream (a new object; `body` is not changed)
 * and whether log-probabilities may come back; throws a MoatError when the request is refused.
 *
 * @example
 *   const rules: string[] = [];
 *   decideRequest('chat', { model: 'm', messages, logprobs: true }, POLICY_DEFAULTS, { mayLogprobs: false, mayEmbeddings: false }, rules);
 *   // -> { body: { model: 'm', messages }, logprobs: null }, rules = ['strip:logprobs']
 */
export function decideRequest(route: Route, body: JsonObject, p: ResolvedPolicy, caller: Caller, rules: string[]): RequestDecision {
  const d = new Decider({ ...body }, rules);
  if (route === 'embeddings' && !caller.mayEmbeddings) {
    rules.push('deny:embeddings');
    throw new MoatError('FORBIDDEN', { action: 'embeddings from this model' });
  }
  checkFields(d, route, p);
  const logprobs = route === 'embeddings' ? null : checkGeneration(d, route, p, caller);
  return { body: d.out, logprobs };
}
