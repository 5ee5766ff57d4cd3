/**
 * Attribution: test a text against every tenant's key and name the best one, correcting for the
 * number of keys tried (Bonferroni: with T tenants the smallest p-value is multiplied by T), so the
 * reported p-value stays a valid false-positive bound however many tenants there are.
 */
import { dedupe, score, type DetectionResult, type Observation } from './detect.js';
import { deriveKey, type KeyScope } from './keys.js';
import { bonferroni } from './stats.js';

export interface Attribution extends DetectionResult {
  /** The attributed tenant: the best key when its corrected p-value is below alpha, else null. */
  tenant: string | null;
  /** Every key tried, best first, with its uncorrected p-value. */
  tenants: { tenant: string; p_value: number }[];
  correction: 'none' | 'bonferroni';
  alpha: number;
}

/** Scores observations against one named tenant (no correction) or many (Bonferroni over them). */
export function attribute(obs: Iterable<Observation>, master: Buffer, scope: KeyScope, names: readonly string[], alpha: number): Attribution {
  if (names.length === 0) throw new Error('no tenants to test');
  const unique = dedupe(obs);
  const results = names.map((name) => ({ name, r: score(unique, deriveKey(master, scope, name)) }));
  results.sort((a, b) => a.r.p_value - b.r.p_value || b.r.z - a.r.z);
  const best = results[0]!;
  const p = bonferroni(best.r.p_value, names.length);
  return {
    ...best.r,
    p_value: p,
    tenant: p < alpha ? best.name : null,
    tenants: results.map(({ name, r }) => ({ tenant: name, p_value: r.p_value })),
    correction: names.length > 1 ? 'bonferroni' : 'none',
    alpha,
  };
}
