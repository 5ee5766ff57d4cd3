/**
 * Limits through the gateway: token reservation before forwarding (never overshoot), settlement
 * to real usage, interrupted streams, the output cap, concurrency, tenant-wide limits, and what
 * happens when the shared store (Redis) is unreachable.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { chatAnswer, startScriptedUpstream } from './helpers/scripted-upstream.js';

let up: Awaited<ReturnType<typeof startScriptedUpstream>>;
let t: TestGateway;
let delayMs = 0;

const answer = () =>
  up.setScript((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(chatAnswer('ok')));
    }, delayMs);
  });

const keyFor = async (principal: string, limits: Record<string, number>, tenant = 'acme') => (await t.gw.keys.create({ principal, tenant, limits })).key;

async function chat(key: string, body: Record<string, unknown> = {}) {
  const res = await request(`${t.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'moat-demo', messages: [{ role: 'user', content: 'hello there' }], ...body }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: JSON.parse(text) as { error?: { code: string; message: string } } };
}
const lastSent = () => JSON.parse(up.received.at(-1)!.body) as Record<string, unknown>;
/** Settlement runs when the exchange ends, just after the client has its answer. */
const settled = () => sleep(30);

beforeAll(async () => {
  up = await startScriptedUpstream(() => undefined);
  answer();
  t = await startTestGateway({ upstreamURL: up.baseURL, rpm: 10_000, config: { limits: { maxTokens: { default: 100 } }, policy: { maxTokens: 200 } } });
});
afterAll(async () => {
  await t.close();
  await up.close();
});

describe('token limits', () => {
  it('a request that could exceed the limit is refused before it reaches the upstream', async () => {
    const key = await keyFor('tok1', { tpm: 150 });
    const before = up.received.length;
    const r = await chat(key, { max_tokens: 180 });
    expect(r.status).toBe(429);
    expect(r.json.error?.code).toBe('MOAT_ERR_TOKENS_EXCEED_LIMIT');
    expect(up.received.length).toBe(before);
  });

  it('reserves before forwarding and settles to the usage the upstream reports', async () => {
    const key = await keyFor('tok2', { tpm: 300 });
    // Each request reserves about 190 tokens; without settlement the second would be refused.
    const first = await chat(key, { max_tokens: 180 });
    expect(first.status).toBe(200);
    expect(first.headers['ratelimit-policy']).toBe('"rpm";q=600;w=60, "tpm";q=300;w=60');
    await settled();
    const second = await chat(key, { max_tokens: 180 });
    expect(second.status).toBe(200);
    // What is left reflects 5 used tokens per settled request, not 190 reserved.
    const left = Number(/"tpm";r=(\d+)/.exec(String(second.headers.ratelimit))![1]);
    expect(left).toBeGreaterThan(300 - 5 - 200);
    expect(left).toBeLessThan(300 - 5 - 150);
  });

  it('an interrupted stream keeps its reservation', async () => {
    const key = await keyFor('tok3', { tpm: 300 });
    up.setScript((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: 'par' }, finish_reason: null }] })}\n\n`);
      setTimeout(() => res.destroy(), 20); // cut before any usage chunk
    });
    try {
      const client = new OpenAI({ baseURL: t.baseURL, apiKey: key, maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 180, stream: true });
      await (async () => {
        for await (const _c of stream) void _c;
      })().catch(() => undefined);
    } finally {
      answer();
    }
    await settled();
    const r = await chat(key, { max_tokens: 180 });
    expect(r.status).toBe(429);
    expect(r.json.error?.code).toBe('MOAT_ERR_RATE_LIMITED');
    expect(r.json.error?.message).toContain('tpm (300 tokens per minute)');
  });

  it('a failed upstream call gives the reserved tokens back', async () => {
    const key = await keyFor('tok4', { tpm: 300 });
    up.setScript((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"boom"}');
    });
    try {
      expect((await chat(key, { max_tokens: 180 })).status).toBe(502);
    } finally {
      answer();
    }
    await settled();
    expect((await chat(key, { max_tokens: 180 })).status).toBe(200);
  });

  it('the upstream is held to the reserved output: max_tokens set when absent, lowered above the cap', async () => {
    const key = await keyFor('tok5', { tpd: 100_000 });
    await chat(key);
    expect(lastSent().max_tokens).toBe(100);
    await chat(key, { max_completion_tokens: 5000 });
    expect(lastSent().max_completion_tokens).toBe(200);
    // Without a token limit only the request policy's cap applies.
    await chat(t.key, { max_tokens: 150 });
    expect(lastSent().max_tokens).toBe(150);
    await chat(t.key, { max_tokens: 5000 });
    expect(lastSent().max_tokens).toBe(200);
  });
});

describe('request limits', () => {
  it('concurrency: requests beyond the limit in flight are refused; slots come back when requests end', async () => {
    const key = await keyFor('conc', { concurrency: 2 });
    delayMs = 300;
    answer();
    try {
      const results = await Promise.all([0, 1, 2, 3].map(() => chat(key)));
      expect(results.map((r) => r.status).sort()).toEqual([200, 200, 429, 429]);
      const refused = results.find((r) => r.status === 429)!;
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.json.error?.message).toContain('concurrency (2 requests at once)');
    } finally {
      delayMs = 0;
      answer();
    }
    await settled();
    expect((await chat(key)).status).toBe(200);
  });

  it('a client that waits for each answer never trips its own concurrency limit of 1', async () => {
    const key = await keyFor('one-at-a-time', { concurrency: 1, tpm: 100_000 });
    for (let i = 0; i < 5; i++) expect((await chat(key)).status).toBe(200);
  });

  it('a tenant limit is shared by all principals of the tenant', async () => {
    await t.gw.admin.createTenant('small-team', { rpm: 3 });
    const a = await keyFor('team-a', {}, 'small-team');
    const b = await keyFor('team-b', {}, 'small-team');
    expect((await chat(a)).status).toBe(200);
    expect((await chat(a)).status).toBe(200);
    const third = await chat(b);
    expect(third.status).toBe(200);
    expect(third.headers['ratelimit-policy']).toBe('"rpm";q=600;w=60, "tenant_rpm";q=3;w=60');
    const refused = await chat(b);
    expect(refused.status).toBe(429);
    expect(refused.json.error?.message).toContain('rpm (3 requests per minute for the tenant)');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });
});

describe('when the shared store is unreachable', () => {
  const unreachable = (onUnavailable: 'fail-closed' | 'local') =>
    startTestGateway({ upstreamURL: up.baseURL, rpm: 5, config: { limits: { store: 'redis', redis: { url: 'redis://127.0.0.1:1', onUnavailable, commandTimeoutMs: 100 } } } });

  it('fails closed by default: 503 with a stable code, not ready, logged once, counted', async () => {
    const g = await unreachable('fail-closed');
    try {
      for (let i = 0; i < 3; i++) {
        const res = await request(`${g.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${g.key}` }, body: JSON.stringify({ model: 'moat-demo', messages: [{ role: 'user', content: 'x' }] }) });
        const body = (await res.body.json()) as { error: { code: string } };
        expect(res.statusCode).toBe(503);
        expect(body.error.code).toBe('MOAT_ERR_LIMITS_UNAVAILABLE');
        expect(res.headers['retry-after']).toBe('1');
      }
      const origin = g.baseURL.replace(/\/v1$/, '');
      expect((await request(`${origin}/readyz`)).statusCode).toBe(503);
      const metrics = await (await request(`${origin}/metrics`)).body.text();
      expect(metrics).toMatch(/moat_quota_store_errors_total\{action="refused"\} 3/);
      expect(metrics).toMatch(/moat_quota_store_down 1/);
      expect(g.logs.filter((l) => l.includes('refusing requests (fail closed)'))).toHaveLength(1);
    } finally {
      await g.close();
    }
  });

  it('with onUnavailable: local, limits hold per process and requests go on', async () => {
    const g = await unreachable('local');
    try {
      const c = new OpenAI({ baseURL: g.baseURL, apiKey: g.key, maxRetries: 0 });
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) codes.push(await c.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'x' }] }).then(() => 200, (e: { status: number }) => e.status));
      expect(codes).toEqual([200, 200, 200, 200, 200, 429]);
      expect(g.logs.filter((l) => l.includes('enforcing limits per process'))).toHaveLength(1);
    } finally {
      await g.close();
    }
  });
});
