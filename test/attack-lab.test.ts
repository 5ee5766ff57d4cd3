/**
 * ATTACK LAB: the logit-extraction attack of Carlini et al. (2024) against a toy model with a
 * known hidden size. Directly against the model's server it recovers the hidden size on every
 * route; through Moat, on the same routes, it recovers nothing, and every attempt is refused
 * and audited.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverHiddenDimension, type Query } from './attack-lab/carlini.js';
import { singularValues } from './attack-lab/svd.js';
import { startToyServer, toyModel } from './attack-lab/toy-lm.js';
import { gatewayRecords } from './helpers/audit.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const VOCAB = 48;
const HIDDEN = 6;
const K = 5; // top_logprobs per query, as hosted APIs allow today
const PROMPTS = HIDDEN + 3;
const model = toyModel(VOCAB, HIDDEN);

interface Variant {
  route: 'chat' | 'completions';
  stream?: boolean;
  n?: number;
  echo?: boolean;
}

const VARIANTS: Array<[string, Variant]> = [
  ['chat', { route: 'chat' }],
  ['chat, streaming', { route: 'chat', stream: true }],
  ['chat, n=3', { route: 'chat', n: 3 }],
  ['completions', { route: 'completions' }],
  ['completions, streaming', { route: 'completions', stream: true }],
  ['completions, echo', { route: 'completions', echo: true }],
];

type TopLogprobs = Array<{ token: string; logprob: number }> | Record<string, number> | null | undefined;

function toMap(top: TopLogprobs): Map<number, number> {
  const out = new Map<number, number>();
  const entries = Array.isArray(top) ? top.map((t) => [t.token, t.logprob] as const) : Object.entries(top ?? {});
  for (const [tok, lp] of entries) {
    const id = model.id(tok);
    if (id !== undefined) out.set(id, lp);
  }
  return out;
}

/** The attacker's query for one route variant, through the official client. Refusals throw. */
function queryFor(client: OpenAI, v: Variant, errors: string[]): Query {
  const fail = (e: unknown): never => {
    errors.push(e instanceof OpenAI.APIError ? `${e.status} ${String(e.code)}` : String(e));
    throw e;
  };
  return async (prompt, bias, k) => {
    const common = { model: 'moat-demo', max_tokens: 1, logit_bias: bias, ...(v.n ? { n: v.n } : {}) };
    if (v.route === 'chat') {
      const req = { ...common, messages: [{ role: 'user' as const, content: prompt }], logprobs: true, top_logprobs: k };
      if (!v.stream) {
        const r = await client.chat.completions.create(req).catch(fail);
        return toMap(r.choices[0]?.logprobs?.content?.[0]?.top_logprobs);
      }
      const s = await client.chat.completions.create({ ...req, stream: true }).catch(fail);
      for await (const chunk of s) {
        const lp = chunk.choices.find((c) => c.index === 0)?.logprobs?.content?.[0];
        if (lp) return toMap(lp.top_logprobs);
      }
      return new Map();
    }
    // With echo, the prompt's tokens come first; the generated token follows them.
    const at = v.echo ? prompt.split(/\s+/).length : 0;
    const req = { ...common, prompt, logprobs: k, ...(v.echo ? { echo: true } : {}) };
    if (!v.stream) {
      const r = await client.completions.create(req).catch(fail);
      return toMap(r.choices[0]?.logprobs?.top_logprobs?.[at]);
    }
    const s = await client.completions.create({ ...req, stream: true }).catch(fail);
    for await (const chunk of s) {
      const lp = chunk.choices.find((c) => c.index === 0)?.logprobs?.top_logprobs?.[at];
      if (lp) return toMap(lp);
    }
    return new Map();
  };
}

let toy: Awaited<ReturnType<typeof startToyServer>>;
let moat: TestGateway;
let researcherKey: string;


beforeAll(async () => {
  toy = await startToyServer(model);
  moat = await startTestGateway({
    upstreamURL: toy.baseURL,
    rpm: 0,
    config: {
      roles: { researcher: [{ models: ['*'], permissions: ['use', 'list', 'logprobs'] }] },
      // Even where an operator allows logit_bias for a trusted role, it never comes with logprobs.
      policy: { overrides: [{ roles: ['researcher'], params: { logit_bias: 'allow' } }] },
      // Extraction detection rightly throttles these sweeps (test/detect covers that); here the
      // policy alone is under test, so detection only records.
      detect: { actions: { throttleRpm: 0 } },
    },
  });
  researcherKey = (await moat.gw.keys.create({ principal: 'rita', tenant: 'lab', roles: ['researcher'], limits: { rpm: 0 } })).key;
});
afterAll(async () => {
  await moat.close();
  await toy.close();
});

describe('the compact SVD', () => {
  it('gives the singular values of a matrix with known spectrum', () => {
    // Rows of an orthogonal matrix scaled by 5, 3, 1, and a zero row: singular values 5, 3, 1, 0.
    const c = Math.SQRT1_2;
    const s = singularValues([
      [5 * c, 5 * c, 0],
      [3 * c, -3 * c, 0],
      [0, 0, 1],
      [0, 0, 0],
    ]);
    s.forEach((x, i) => expect(x).toBeCloseTo([5, 3, 1, 0][i]!, 10));
  });
});

describe('the attack against the toy server directly', () => {
  it.each(VARIANTS)('recovers the hidden size on %s', async (_name, v) => {
    const errors: string[] = [];
    const direct = new OpenAI({ baseURL: toy.baseURL, apiKey: 'none', maxRetries: 0 });
    const r = await recoverHiddenDimension(queryFor(direct, v, errors), { vocab: VOCAB, prompts: PROMPTS, k: K });
    expect(errors).toEqual([]);
    expect(r.vectors).toBe(PROMPTS);
    expect(r.hidden).toBe(HIDDEN);
    // The drop after the d-th singular value is many orders of magnitude.
    expect(r.singularValues[HIDDEN - 1]! / r.singularValues[HIDDEN]!).toBeGreaterThan(1e6);
  });
});

describe('the same attack through Moat', () => {
  const cases: Array<[string, () => string, string]> = [
    ['a plain role', () => moat.key, 'deny:logit_bias'],
    ['a role that may have logprobs, and logit_bias alone', () => researcherKey, 'deny:logprobs_with_logit_bias'],
  ];
  for (const [who, key, rule] of cases) {
    it.each(VARIANTS)(`${who}: recovers nothing on %s; every attempt refused and audited`, async (_name, v) => {
      const errors: string[] = [];
      const before = gatewayRecords(moat).length;
      const upstreamBefore = toy.requests();
      const client = new OpenAI({ baseURL: moat.baseURL, apiKey: key(), maxRetries: 0 });
      const r = await recoverHiddenDimension(queryFor(client, v, errors), { vocab: VOCAB, prompts: PROMPTS, k: K });
      expect(r.hidden).toBeNull();
      expect(r.vectors).toBe(0);
      expect(r.attempts).toBeGreaterThan(PROMPTS * 10);
      expect(r.refused).toBe(r.attempts);
      expect(new Set(errors)).toEqual(new Set(['400 MOAT_ERR_POLICY_DENIED']));
      expect(toy.requests()).toBe(upstreamBefore);
      const records = gatewayRecords(moat).slice(before);
      expect(records).toHaveLength(r.attempts);
      for (const rec of records) expect(rec).toMatchObject({ outcome: 'denied', status: 400, rules: [rule], route: v.route });
    });
  }

  it('a role that may have logprobs, without logit_bias, sees only the rounded top 5 of 48 logits: no full vector', async () => {
    const errors: string[] = [];
    const client = new OpenAI({ baseURL: moat.baseURL, apiKey: researcherKey, maxRetries: 0 });
    const inner = queryFor(client, { route: 'chat' }, errors);
    const seen: number[][] = [];
    const compliant: Query = async (p, _bias, k) => {
      const m = await inner(p, {}, k);
      seen.push([...m.values()]);
      return m;
    };
    const r = await recoverHiddenDimension(compliant, { vocab: VOCAB, prompts: 3, k: K });
    expect(errors).toEqual([]);
    expect(r).toMatchObject({ hidden: null, vectors: 0, refused: 0 });
    for (const lps of seen) {
      expect(lps.length).toBeLessThanOrEqual(K);
      for (const x of lps) expect(Math.round(x * 100) / 100).toBe(x);
    }
  });
});
