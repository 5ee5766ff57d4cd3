/**
 * Field names, as a naive filter would miss them. The policy decides on parsed JSON, so escaped
 * names (`logit\u005fbias`) and duplicate keys are already resolved by the parser; what remains
 * are names that a lenient server might still read as a leaky parameter: case and separator
 * variants (`Logit_Bias`, `logitBias`, `logit-bias`) and leaky keys nested in pass-through
 * objects (`{"extra_body": {"logprobs": true}}`). Pure logic.
 */

/** `Logit_Bias`, `logitBias` and `logit-bias` all become `logitbias`. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Request parameters that expose logits, in any route; nested copies of these are refused. */
export const LEAKY_PARAMS = ['logit_bias', 'logprobs', 'top_logprobs', 'echo', 'suffix', 'best_of'] as const;

/**
 * Finds the first key, at any depth of `value`, whose normalized name is in `leaky`.
 * Iterative and bounded, so a deeply nested body cannot exhaust the stack.
 */
export function findNestedKey(value: unknown, leaky: ReadonlySet<string>, maxNodes = 100_000): string | null {
  const stack: unknown[] = [value];
  let seen = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (++seen > maxNodes) return '(too deeply nested)';
    if (Array.isArray(v)) {
      for (const x of v) if (typeof x === 'object' && x !== null) stack.push(x);
      continue;
    }
    for (const k of Object.keys(v)) {
      if (leaky.has(normalizeName(k))) return k;
      const x = (v as Record<string, unknown>)[k];
      if (typeof x === 'object' && x !== null) stack.push(x);
    }
  }
  return null;
}
