/**
 * Request rules against logit extraction, as pure functions over the validated JSON. Each rule
 * names the parameter, what it does to a request that carries it, and why (the README explains
 * the attack each one answers).
 */
import type { Route } from '../pipeline/context.js';

export type RuleAction = 'deny' | 'strip';

export interface RequestRule {
  /** Stable id, recorded in the audit log when the rule fires. */
  id: string;
  param: string;
  routes: readonly Route[];
  action: RuleAction;
  /** True when the value is one the rule acts on (e.g. `n` above the cap). */
  applies(value: unknown): boolean;
  reason: string;
}

const present = (v: unknown) => v !== undefined && v !== null && v !== false;
const nonEmptyMap = (v: unknown) => !!v && typeof v === 'object' && Object.keys(v).length > 0;

export interface RequestRuleOptions {
  /** Largest `n` / `best_of` allowed. */
  maxChoices: number;
}

export function defaultRequestRules(o: RequestRuleOptions = { maxChoices: 4 }): RequestRule[] {
  return [
    {
      id: 'deny:logit_bias',
      param: 'logit_bias',
      routes: ['chat', 'completions'],
      action: 'deny',
      applies: nonEmptyMap,
      reason: 'biasing logits lets a caller read the full next-token distribution (Carlini et al. 2024)',
    },
    { id: 'strip:logprobs', param: 'logprobs', routes: ['chat', 'completions'], action: 'strip', applies: present, reason: 'log-probabilities leak the model\'s output layer' },
    { id: 'strip:top_logprobs', param: 'top_logprobs', routes: ['chat'], action: 'strip', applies: present, reason: 'log-probabilities leak the model\'s output layer' },
    { id: 'deny:echo', param: 'echo', routes: ['completions'], action: 'deny', applies: (v) => v === true, reason: 'echo returns log-probabilities of the prompt tokens' },
    { id: 'deny:suffix', param: 'suffix', routes: ['completions'], action: 'deny', applies: present, reason: 'suffix (fill-in-the-middle) is not offered through this gateway' },
    {
      id: 'deny:n',
      param: 'n',
      routes: ['chat', 'completions'],
      action: 'deny',
      applies: (v) => typeof v === 'number' && v > o.maxChoices,
      reason: `more than ${o.maxChoices} samples per request make sampling-based extraction cheap`,
    },
    {
      id: 'deny:best_of',
      param: 'best_of',
      routes: ['completions'],
      action: 'deny',
      applies: (v) => typeof v === 'number' && v > o.maxChoices,
      reason: `best_of above ${o.maxChoices} multiplies hidden sampling`,
    },
  ];
}
