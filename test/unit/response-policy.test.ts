import { describe, expect, it } from 'vitest';
import { decodeVector, encodeVector, hardenEmbeddings, hardenVector } from '../../src/policy/embeddings.js';
import { applyResponseRules, type ResponseRules } from '../../src/policy/response-rules.js';
import { TenantRotations, randomOrthogonal, Keystream } from '../../src/policy/rotation.js';
import type { JsonObject } from '../../src/pipeline/context.js';

const strip: ResponseRules = { logprobs: null, stripSystemFingerprint: true, stripFields: ['prompt_logprobs', 'token_ids'] };
const trusted: ResponseRules = { ...strip, logprobs: { maxTop: 2, decimals: 2 } };

const chatLp = () => ({
  content: [
    { token: 'a', logprob: -0.123456, bytes: [97], top_logprobs: [{ token: 'a', logprob: -0.123456 }, { token: 'b', logprob: -2.34567 }, { token: 'c', logprob: -3.5 }] },
  ],
  refusal: null,
});
const completionLp = () => ({ tokens: ['a'], token_logprobs: [-0.987654], top_logprobs: [{ a: -0.987654, b: -1.5, c: -9.25, d: -0.5 }], text_offset: [0] });

describe('response rules', () => {
  it('remove logprobs from every choice, and internals from the answer and the choices', () => {
    const body: JsonObject = {
      system_fingerprint: 'fp_x',
      prompt_logprobs: [{}],
      choices: [
        { index: 0, message: { content: 'x' }, logprobs: chatLp(), token_ids: [1, 2] },
        { index: 1, text: 'y', logprobs: completionLp() },
        { index: 2, text: 'z', logprobs: null },
      ],
    };
    const fired = new Set<string>();
    applyResponseRules(body, strip, fired);
    expect(body).toEqual({ choices: [{ index: 0, message: { content: 'x' } }, { index: 1, text: 'y' }, { index: 2, text: 'z', logprobs: null }] });
    expect([...fired].sort()).toEqual(['strip:response_internals', 'strip:response_logprobs']);
  });

  it('for a trusted role: round every value and cut alternatives to the cap, whatever the upstream sent', () => {
    const body: JsonObject = { choices: [{ index: 0, logprobs: chatLp() }, { index: 1, logprobs: completionLp() }] };
    const fired = new Set<string>();
    applyResponseRules(body, trusted, fired);
    const [c, p] = body.choices as Array<{ logprobs: JsonObject }>;
    expect(c!.logprobs.content).toEqual([{ token: 'a', logprob: -0.12, bytes: [97], top_logprobs: [{ token: 'a', logprob: -0.12 }, { token: 'b', logprob: -2.35 }] }]);
    expect(p!.logprobs.token_logprobs).toEqual([-0.99]);
    expect(p!.logprobs.top_logprobs).toEqual([{ d: -0.5, a: -0.99 }]);
    expect([...fired]).toEqual(['round:logprobs']);
  });

  it('keep system_fingerprint when configured to', () => {
    const body: JsonObject = { system_fingerprint: 'fp', choices: [] };
    applyResponseRules(body, { ...strip, stripSystemFingerprint: false }, new Set());
    expect(body.system_fingerprint).toBe('fp');
  });
});

const cos = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return d / Math.sqrt(na * nb);
};

function randomVectors(n: number, dim: number, seed: number): Float64Array[] {
  const ks = new Keystream(Buffer.alloc(32, seed));
  return Array.from({ length: n }, () => Float64Array.from({ length: dim }, () => ks.gaussian()));
}

describe('per-tenant rotation', () => {
  const rot = new TenantRotations(Buffer.alloc(32, 7));

  it('is orthogonal: a random 32x32 block times its transpose is the identity', () => {
    const n = 32;
    const q = randomOrthogonal(n, new Keystream(Buffer.alloc(32, 1)));
    let worst = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let d = 0;
        for (let k = 0; k < n; k++) d += q[i * n + k]! * q[j * n + k]!;
        worst = Math.max(worst, Math.abs(d - (i === j ? 1 : 0)));
      }
    }
    expect(worst).toBeLessThan(1e-12);
  });

  it('keeps every cosine similarity within a tenant, for a dimension that is not a multiple of the block', () => {
    const dim = 1000;
    const vs = randomVectors(12, dim, 3);
    const r = rot.forTenant('acme', dim);
    const rs = vs.map((v) => r.apply(v));
    for (let i = 0; i < vs.length; i++) {
      for (let j = 0; j < vs.length; j++) expect(Math.abs(cos(rs[i]!, rs[j]!) - cos(vs[i]!, vs[j]!))).toBeLessThan(1e-10);
    }
  });

  it('puts the same text in unrelated places for two tenants, and is the same on every replica', () => {
    const dim = 768;
    const vs = randomVectors(20, dim, 4);
    const a = rot.forTenant('acme', dim);
    const b = rot.forTenant('globex', dim);
    const cross = vs.map((v) => Math.abs(cos(a.apply(v), b.apply(v))));
    // Unrelated directions in 768 dimensions have |cos| around 1/sqrt(768) = 0.036.
    expect(Math.max(...cross)).toBeLessThan(0.2);
    const replica = new TenantRotations(Buffer.alloc(32, 7)).forTenant('acme', dim);
    expect(Array.from(replica.apply(vs[0]!))).toEqual(Array.from(a.apply(vs[0]!)));
    const otherSecret = new TenantRotations(Buffer.alloc(32, 8)).forTenant('acme', dim);
    expect(Math.abs(cos(otherSecret.apply(vs[0]!), a.apply(vs[0]!)))).toBeLessThan(0.2);
  });
});

describe('embedding hardening', () => {
  it('round-trips base64 float32 and number arrays', () => {
    const v = Float64Array.from([0.5, -0.25, 0.125]);
    expect(Array.from(decodeVector(encodeVector(v, true))!)).toEqual([0.5, -0.25, 0.125]);
    expect(decodeVector([1, 2])).toEqual(Float64Array.from([1, 2]));
    expect(decodeVector('abc')).toBeNull();
    expect(decodeVector([1, 'x'])).toBeNull();
  });

  it('truncates and re-normalizes, rounds, and rotates, keeping the encoding', () => {
    const rot = new TenantRotations(Buffer.alloc(32, 9));
    const [v] = randomVectors(1, 64, 5);
    const h = hardenVector(v!, { dimensions: 16, decimals: 3, rotation: (d) => rot.forTenant('t', d) });
    expect(h.length).toBe(16);
    expect(Math.hypot(...h)).toBeCloseTo(1, 2);
    for (const x of h) expect(Math.round(x * 1000) / 1000).toBe(x);

    const body: JsonObject = { data: [{ embedding: encodeVector(v!, true) }, { embedding: Array.from(v!) }] };
    expect(hardenEmbeddings(body, { dimensions: 8, decimals: null, rotation: null })).toBe(true);
    const [a, b] = body.data as Array<{ embedding: unknown }>;
    expect(typeof a!.embedding).toBe('string');
    expect(decodeVector(a!.embedding)!.length).toBe(8);
    expect((b!.embedding as number[]).length).toBe(8);
  });

  it('reports a vector it cannot read instead of passing it on', () => {
    expect(hardenEmbeddings({ data: [{ embedding: { x: 1 } }] }, { dimensions: 8, decimals: null, rotation: null })).toBe(false);
  });
});
