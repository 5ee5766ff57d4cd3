import { describe, expect, it } from 'vitest';
import { rateLimitHeaders, type Reservation } from '../../src/limits/admit.js';
import { effectiveLimits, planBuckets, type LimitPlan } from '../../src/limits/plan.js';
import { settlement, tokenAdjustment } from '../../src/limits/settle.js';
import { countPromptTokens, loadTokenizer, outputBudget } from '../../src/limits/tokens.js';

const plan: LimitPlan = {
  defaults: { rpm: 60, tpm: 0, tpd: 0, concurrency: 0 },
  tenantDefaults: { rpm: 0, tpm: 10_000, tpd: 0, concurrency: 4 },
  concurrencyLeaseMs: 900_000,
};
const who = { principal: 'alice', tenant: 'acme', limits: { tpd: 500 }, tenantLimits: { concurrency: 0 } };

describe('limit plan', () => {
  it('overrides win over defaults; 0 adds no bucket; principal and tenant buckets are distinct', () => {
    const lim = effectiveLimits(plan, who);
    expect(lim).toEqual({ principal: { rpm: 60, tpm: 0, tpd: 500, concurrency: 0 }, tenant: { rpm: 0, tpm: 10_000, tpd: 0, concurrency: 0 } });
    expect(planBuckets(plan, who, lim, null).map((b) => b.key)).toEqual(['p:alice:rpm']);
    const withTokens = planBuckets(plan, who, lim, 120);
    expect(withTokens.map((b) => [b.key, b.name, b.cost])).toEqual([
      ['p:alice:rpm', 'rpm', 1],
      ['p:alice:tpd', 'tpd', 120],
      ['t:acme:tpm', 'tenant_tpm', 120],
    ]);
  });

  it('RateLimit headers name every quota, but not concurrency slots', () => {
    const specs = planBuckets(plan, { principal: 'p', tenant: 't' }, { principal: { rpm: 60, tpm: 1000, tpd: 0, concurrency: 2 }, tenant: plan.tenantDefaults }, 10);
    const h = rateLimitHeaders(specs, specs.map((s) => s.limit - s.cost));
    expect(h['ratelimit-policy']).toBe('"rpm";q=60;w=60, "tpm";q=1000;w=60, "tenant_tpm";q=10000;w=60');
    expect(h.ratelimit).toBe('"rpm";r=59;t=1, "tpm";r=990;t=1, "tenant_tpm";r=9990;t=1');
  });
});

describe('token reservation', () => {
  it('counts chat prompts with a real tokenizer, plus per-message framing', async () => {
    const count = await loadTokenizer();
    const one = countPromptTokens('chat', { messages: [{ role: 'user', content: 'Hello world' }] }, count);
    expect(one).toBe(count('Hello world') + 4 + 3);
    const parts = countPromptTokens('chat', { messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello world' }] }] }, count);
    expect(parts).toBe(one);
    expect(countPromptTokens('completions', { prompt: [[1, 2, 3], [4]] }, count)).toBe(4);
    expect(countPromptTokens('embeddings', { input: ['a b', 'c'] }, count)).toBe(count('a b') + count('c'));
    // Special-token markup in user text is just text: counting never throws on it.
    expect(countPromptTokens('completions', { prompt: 'x <|endoftext|> y' }, count)).toBeGreaterThan(3);
  });

  it('the output budget is max_tokens capped, the default when absent, times the choices', () => {
    const cfg = { default: 256, cap: 1000 };
    expect(outputBudget('chat', { max_tokens: 50 }, cfg)).toEqual({ perChoice: 50, choices: 1, field: 'max_tokens', lowered: false });
    expect(outputBudget('chat', { max_completion_tokens: 5000, n: 3 }, cfg)).toEqual({ perChoice: 1000, choices: 3, field: 'max_completion_tokens', lowered: true });
    expect(outputBudget('chat', {}, cfg)).toMatchObject({ perChoice: 256, lowered: true });
    expect(outputBudget('completions', { best_of: 4, n: 2 }, cfg)).toMatchObject({ perChoice: 16, choices: 4 });
    expect(outputBudget('embeddings', {}, cfg)).toBeNull();
  });

  it('settles to real usage, refunds what never reached the upstream, keeps an interrupted reservation', () => {
    const upstream = {} as never;
    expect(tokenAdjustment({ usage: { promptTokens: 10, completionTokens: 20 }, upstream }, 100)).toBe(70);
    expect(tokenAdjustment({ usage: { promptTokens: 90, completionTokens: 40 }, upstream }, 100)).toBe(-30);
    expect(tokenAdjustment({ usage: null, upstream: null }, 100)).toBe(100);
    expect(tokenAdjustment({ usage: null, upstream }, 100)).toBe(0);
    const r: Reservation = {
      tokens: 100,
      budget: null,
      specs: planBuckets(plan, { principal: 'p', tenant: 't' }, { principal: { rpm: 5, tpm: 500, tpd: 0, concurrency: 2 }, tenant: plan.tenantDefaults }, 100),
    };
    expect(settlement({ usage: { promptTokens: 10, completionTokens: 20 }, upstream }, r).map((b) => [b.name, b.cost])).toEqual([
      ['concurrency', 1],
      ['tpm', 70],
      ['tenant_concurrency', 1],
      ['tenant_tpm', 70],
    ]);
    expect(settlement({ usage: null, upstream }, r).map((b) => b.name)).toEqual(['concurrency', 'tenant_concurrency']);
  });
});
