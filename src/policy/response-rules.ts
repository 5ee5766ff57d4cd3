/**
 * What the response policy does to a chat or completions answer, or to one streamed chunk of
 * it, as pure functions that rewrite the parsed JSON in place:
 * - per-choice `logprobs` are removed unless the caller may have them; when it may, each value
 *   is rounded and the alternatives per token are cut to the cap, whatever the upstream sent;
 * - server internals (`prompt_logprobs`, token ids ...) are removed from the answer and each choice;
 * - `system_fingerprint` is removed where configured.
 */
import type { JsonObject } from '../pipeline/context.js';

export interface ResponseRules {
  /** Null: logprobs are removed. Otherwise the cap on alternatives and the decimals kept. */
  logprobs: { maxTop: number; decimals: number } | null;
  stripSystemFingerprint: boolean;
  stripFields: readonly string[];
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function rounder(decimals: number): (x: unknown) => unknown {
  const f = 10 ** decimals;
  return (x) => (typeof x === 'number' && Number.isFinite(x) ? Math.round(x * f) / f : x);
}

/** Chat shape: `{content: [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}], refusal: [...]}`. */
function limitChatLogprobs(lp: JsonObject, maxTop: number, round: (x: unknown) => unknown): void {
  for (const key of ['content', 'refusal']) {
    const items = lp[key];
    if (!Array.isArray(items)) continue;
    for (const it of items) {
      if (!isObject(it)) continue;
      it.logprob = round(it.logprob);
      if (Array.isArray(it.top_logprobs)) {
        const top = it.top_logprobs.slice(0, maxTop);
        for (const alt of top) if (isObject(alt)) alt.logprob = round(alt.logprob);
        it.top_logprobs = top;
      }
    }
  }
}

/** Completions shape: `{tokens, token_logprobs: number[], top_logprobs: [{token: logprob}], text_offset}`. */
function limitCompletionLogprobs(lp: JsonObject, maxTop: number, round: (x: unknown) => unknown): void {
  if (Array.isArray(lp.token_logprobs)) lp.token_logprobs = lp.token_logprobs.map(round);
  if (Array.isArray(lp.top_logprobs)) {
    lp.top_logprobs = lp.top_logprobs.map((m: unknown) => {
      if (!isObject(m)) return m;
      const entries = Object.entries(m).sort((a, b) => Number(b[1]) - Number(a[1]));
      return Object.fromEntries(entries.slice(0, maxTop).map(([t, v]) => [t, round(v)]));
    });
  }
}

/**
 * Rewrites an answer or chunk in place; adds the ids of the rules that changed something to
 * `fired` (a set, since a stream fires the same rule on many chunks).
 */
export function applyResponseRules(body: JsonObject, r: ResponseRules, fired: Set<string>): void {
  if (r.stripSystemFingerprint && 'system_fingerprint' in body) delete body.system_fingerprint;
  for (const f of r.stripFields) {
    if (f in body) {
      delete body[f];
      fired.add('strip:response_internals');
    }
  }
  const choices = body.choices;
  if (!Array.isArray(choices)) return;
  const round = r.logprobs ? rounder(r.logprobs.decimals) : null;
  for (const c of choices) {
    if (!isObject(c)) continue;
    for (const f of r.stripFields) {
      if (f in c) {
        delete c[f];
        fired.add('strip:response_internals');
      }
    }
    const lp = c.logprobs;
    if (lp === undefined || lp === null) continue;
    if (!r.logprobs || !isObject(lp)) {
      delete c.logprobs;
      fired.add('strip:response_logprobs');
      continue;
    }
    if (Array.isArray(lp.token_logprobs) || Array.isArray(lp.tokens)) limitCompletionLogprobs(lp, r.logprobs.maxTop, round!);
    else limitChatLogprobs(lp, r.logprobs.maxTop, round!);
    fired.add('round:logprobs');
  }
}
