/**
 * The response policy through a real gateway: an upstream that returns logprobs and internals
 * whatever it was asked, roles with and without the logprobs permission, and embeddings with
 * per-tenant hardening seen through the official client (which asks for base64).
 */
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoUpstream } from '../src/demo/server.js';
import { gatewayRecords } from './helpers/audit.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { startScriptedUpstream } from './helpers/scripted-upstream.js';

const ROLES = {
  researcher: [{ models: ['*'], permissions: ['use' as const, 'list' as const, 'logprobs' as const] }],
  embeddings: [{ models: ['*'], permissions: ['use' as const, 'list' as const, 'embeddings' as const] }],
};

const top = (n: number) => Array.from({ length: n }, (_, i) => ({ token: `t${i}`, logprob: -0.123456789 * (i + 1), bytes: [116] }));
const leakyChoice = { index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'stop', logprobs: { content: [{ token: 't0', logprob: -0.123456789, bytes: [116], top_logprobs: top(8) }] }, prompt_logprobs: [null, { 5: -1.5 }] };
const leakyAnswer = { id: 'x', object: 'chat.completion', created: 0, model: 'internal', system_fingerprint: 'fp_build_42', choices: [leakyChoice], prompt_token_ids: [1, 2, 3], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
const leakyChunk = (content: string) => ({ id: 'x', object: 'chat.completion.chunk', created: 0, model: 'internal', system_fingerprint: 'fp_build_42', choices: [{ index: 0, delta: { content }, logprobs: { content: [{ token: content, logprob: -0.987654, top_logprobs: top(8) }] }, finish_reason: null }] });

let up: Awaited<ReturnType<typeof startScriptedUpstream>>;
let t: TestGateway;
let researcherKey: string;

beforeAll(async () => {
  up = await startScriptedUpstream((_req, res, body) => {
    if ((JSON.parse(body) as { stream?: boolean }).stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const w of ['a', 'b', 'c']) res.write(`data: ${JSON.stringify(leakyChunk(w))}\n\n`);
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(leakyAnswer));
  });
  t = await startTestGateway({ upstreamURL: up.baseURL, rpm: 0, config: { roles: ROLES } });
  researcherKey = (await t.gw.keys.create({ principal: 'rita', tenant: 'lab', roles: ['researcher'], limits: {} })).key;
});
afterAll(async () => {
  await t.close();
  await up.close();
});

async function chat(key: string, body: Record<string, unknown>) {
  const res = await request(`${t.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'moat-demo', messages: [{ role: 'user', content: 'hi' }], ...body }),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('logprobs and internals in answers', () => {
  it('a plain role gets none of them, even from an upstream that sends them unasked', async () => {
    const r = await chat(t.key, {});
    expect(r.status).toBe(200);
    const body = JSON.parse(r.text) as Record<string, unknown>;
    expect(body).not.toHaveProperty('system_fingerprint');
    expect(body).not.toHaveProperty('prompt_token_ids');
    expect((body.choices as Array<Record<string, unknown>>)[0]).toEqual({ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'stop' });
    expect(r.text).not.toContain('internal');
    expect(gatewayRecords(t).at(-1)!.rules).toEqual(['strip:response_internals', 'strip:response_logprobs']);
  });

  it('nor in any streamed chunk', async () => {
    const r = await chat(t.key, { stream: true });
    const events = r.text.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)) as Record<string, unknown>);
    expect(events).toHaveLength(3);
    for (const ev of events) {
      expect(ev).not.toHaveProperty('system_fingerprint');
      expect((ev.choices as Array<Record<string, unknown>>)[0]).not.toHaveProperty('logprobs');
    }
    expect(r.text).not.toMatch(/logprob/);
  });

  it('a role with the logprobs permission gets them rounded, with at most the capped alternatives', async () => {
    const r = await chat(researcherKey, { logprobs: true, top_logprobs: 20 });
    expect(r.status).toBe(200);
    expect(JSON.parse(up.received.at(-1)!.body)).toMatchObject({ logprobs: true, top_logprobs: 5 });
    const lp = (JSON.parse(r.text) as { choices: Array<{ logprobs: { content: Array<{ logprob: number; top_logprobs: Array<{ logprob: number }> }> } }> }).choices[0]!.logprobs.content[0]!;
    expect(lp.logprob).toBe(-0.12);
    expect(lp.top_logprobs.map((x) => x.logprob)).toEqual([-0.12, -0.25, -0.37, -0.49, -0.62]);
    expect(gatewayRecords(t).at(-1)!.rules).toEqual(['cap:top_logprobs', 'strip:response_internals', 'round:logprobs']);

    const s = await chat(researcherKey, { logprobs: true, top_logprobs: 2, stream: true });
    const ev = JSON.parse(s.text.split('\n\n')[0]!.slice(6)) as { choices: Array<{ logprobs: { content: Array<{ logprob: number; top_logprobs: unknown[] }> } }> };
    expect(ev.choices[0]!.logprobs.content[0]).toMatchObject({ logprob: -0.99 });
    expect(ev.choices[0]!.logprobs.content[0]!.top_logprobs).toHaveLength(5);
  });

  it('but never with logit_bias in the same request', async () => {
    const before = up.received.length;
    const r = await chat(researcherKey, { logprobs: true, logit_bias: { '1': 100 } });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ error: { code: 'MOAT_ERR_POLICY_DENIED', param: 'logit_bias' } });
    expect(up.received.length).toBe(before);
  });
});

describe('embeddings', () => {
  let demo: Awaited<ReturnType<typeof startDemoUpstream>>;
  let g: TestGateway;
  const texts = ['the castle', 'the moat', 'a guard at the gate', 'the river feeds the moat'];

  beforeAll(async () => {
    demo = await startDemoUpstream();
    g = await startTestGateway({ upstreamURL: demo.baseURL, rpm: 0, roles: ['embeddings'], tenant: 'acme', config: { roles: ROLES, policy: { embeddings: { dimensions: 16, rotate: true, decimals: 5 }, rotationSecret: 'test-only-rotation-secret-0123456789abcdef' } } });
  });
  afterAll(async () => {
    await g.close();
    await demo.close();
  });

  const cosines = (vs: number[][]) => vs.flatMap((a, i) => vs.slice(i + 1).map((b) => a.reduce((s, x, k) => s + x * b[k]!, 0) / Math.hypot(...a) / Math.hypot(...b)));

  it('are refused to a role without the permission', async () => {
    const { key } = await g.gw.keys.create({ principal: 'plain', tenant: 'acme', roles: ['user'], limits: {} });
    const c = new OpenAI({ baseURL: g.baseURL, apiKey: key, maxRetries: 0 });
    const err = await c.embeddings.create({ model: 'moat-demo', input: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(gatewayRecords(g).at(-1)).toMatchObject({ outcome: 'denied', status: 403, rules: ['deny:embeddings'] });
  });

  it('are truncated, rotated per tenant and rounded, keeping cosine similarity within the tenant', async () => {
    const direct = new OpenAI({ baseURL: demo.baseURL, apiKey: 'none', maxRetries: 0 });
    const raw = (await direct.embeddings.create({ model: 'moat-demo', input: texts, encoding_format: 'float' })).data.map((d) => {
      const v = d.embedding.slice(0, 16);
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    });
    const acme = new OpenAI({ baseURL: g.baseURL, apiKey: g.key, maxRetries: 0 });
    const a = (await acme.embeddings.create({ model: 'moat-demo', input: texts })).data.map((d) => d.embedding);
    expect(a.every((v) => v.length === 16)).toBe(true);
    const want = cosines(raw);
    cosines(a).forEach((c, i) => expect(Math.abs(c - want[i]!)).toBeLessThan(1e-3));
    expect(gatewayRecords(g).at(-1)!.rules).toEqual(['harden:embeddings']);

    const { key } = await g.gw.keys.create({ principal: 'other', tenant: 'globex', roles: ['embeddings'], limits: {} });
    const globex = new OpenAI({ baseURL: g.baseURL, apiKey: key, maxRetries: 0 });
    const b = (await globex.embeddings.create({ model: 'moat-demo', input: texts, encoding_format: 'float' })).data.map((d) => d.embedding);
    // The same text, served to two tenants, does not line up across them.
    const cross = a.map((v, i) => Math.abs(cosines([v, b[i]!])[0]!));
    expect(Math.max(...cross)).toBeLessThan(0.9);
    expect(cross.reduce((s, x) => s + x, 0) / cross.length).toBeLessThan(0.5);
  });
});
