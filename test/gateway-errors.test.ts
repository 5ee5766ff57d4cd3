/**
 * How the gateway behaves on bad input and failing upstreams: the right status, an
 * OpenAI-shaped error with a stable code, nothing from the upstream leaked, and one audit
 * record for each request.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteAuditSink } from '../src/audit/sqlite-sink.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { chatAnswer, startScriptedUpstream } from './helpers/scripted-upstream.js';

let up: Awaited<ReturnType<typeof startScriptedUpstream>>;
let t: TestGateway;

const chat = { model: 'moat-demo', messages: [{ role: 'user', content: 'hello' }] };

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await request(`${t.baseURL}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}`, ...headers },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: (() => { try { return JSON.parse(text) as { error?: { code: string; message: string; type: string } } & Record<string, unknown>; } catch { return null; } })() };
}

function auditRows() {
  const sink = t.gw.auditSink as SqliteAuditSink;
  sink.flush();
  return sink.db.prepare('SELECT seq, outcome, data FROM audit_log ORDER BY seq').all() as Array<{ seq: number; outcome: string; data: string }>;
}

beforeAll(async () => {
  up = await startScriptedUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(chatAnswer('hi there')));
  });
  t = await startTestGateway({ upstreamURL: up.baseURL, rpm: 10_000, config: { server: { host: '127.0.0.1', port: 0, bodyLimit: 4096 } } });
});
afterAll(async () => {
  await t.close();
  await up.close();
});

describe('request errors', () => {
  it('401 without a key, before anything else is looked at', async () => {
    const r = await post('/chat/completions', { nonsense: true }, { authorization: '' });
    expect(r.status).toBe(401);
    expect(r.json?.error).toMatchObject({ code: 'MOAT_ERR_MISSING_CREDENTIALS', type: 'authentication_error' });
  });

  it('400 for malformed JSON', async () => {
    const r = await post('/chat/completions', '{"model": "moat-demo", ');
    expect(r.status).toBe(400);
    expect(r.json?.error?.code).toBe('MOAT_ERR_BAD_JSON');
  });

  it('400 for a body that is not valid UTF-8', async () => {
    const bytes = Buffer.concat([Buffer.from('{"model":"moat-demo","messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]);
    const r = await post('/chat/completions', bytes);
    expect(r.status).toBe(400);
    expect(r.json?.error?.code).toBe('MOAT_ERR_BAD_ENCODING');
  });

  it('400 naming the parameter for a wrong type', async () => {
    const r = await post('/chat/completions', { ...chat, temperature: 'hot' });
    expect(r.status).toBe(400);
    expect(r.json?.error).toMatchObject({ code: 'MOAT_ERR_INVALID_REQUEST', param: 'temperature' });
  });

  it('400 for an unknown top-level parameter', async () => {
    const r = await post('/chat/completions', { ...chat, prompt_logprobs: 5 });
    expect(r.status).toBe(400);
    expect(r.json?.error?.code).toBe('MOAT_ERR_UNKNOWN_FIELD');
  });

  it('404 for an unknown model and for an unknown route', async () => {
    expect((await post('/chat/completions', { ...chat, model: 'nope' })).status).toBe(404);
    const r = await post('/nothing-here', chat);
    expect(r.status).toBe(404);
    expect(r.json?.error?.code).toBe('MOAT_ERR_NOT_FOUND');
  });

  it('413 for a body above the limit', async () => {
    const r = await post('/chat/completions', { ...chat, messages: [{ role: 'user', content: 'x'.repeat(5000) }] });
    expect(r.status).toBe(413);
    expect(r.json?.error?.code).toBe('MOAT_ERR_BODY_TOO_LARGE');
  });

  it('415 for a body that is not JSON', async () => {
    const r = await post('/chat/completions', 'a=b', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(415);
    expect(r.json?.error?.code).toBe('MOAT_ERR_UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('what goes upstream', () => {
  it('is Moat\'s own serialization: upstream model name, no stripped parameters, duplicate keys resolved once', async () => {
    up.received.length = 0;
    const raw = '{"model":"moat-demo","messages":[{"role":"user","content":"a"}],"logprobs":true,"top_logprobs":5,"temperature":0.5,"temperature":0.2}';
    const r = await post('/chat/completions', raw);
    expect(r.status).toBe(200);
    const sent = JSON.parse(up.received[0]!.body) as Record<string, unknown>;
    expect(sent).toEqual({ model: 'moat-demo', messages: [{ role: 'user', content: 'a' }], temperature: 0.2 });
    expect(up.received[0]!.body).toBe(JSON.stringify(sent));
    expect(up.received[0]!.headers.authorization).toBeUndefined();
    // The answer carries the public model name and no logprobs.
    expect(r.json).toMatchObject({ model: 'moat-demo' });
    expect((r.json as { choices: Array<Record<string, unknown>> }).choices[0]).not.toHaveProperty('logprobs');
  });
});

describe('upstream failures', () => {
  it('502 when the upstream fails, without its error body', async () => {
    up.setScript((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"CUDA out of memory at /opt/vllm/worker.py line 12"}}');
    });
    const r = await post('/chat/completions', chat);
    expect(r.status).toBe(502);
    expect(r.json?.error?.code).toBe('MOAT_ERR_UPSTREAM_FAILED');
    expect(r.text).not.toMatch(/CUDA|vllm|127\.0\.0\.1/);
  });

  it('429 with Retry-After when the upstream is busy', async () => {
    up.setScript((_req, res) => {
      res.writeHead(429, { 'retry-after': '7' });
      res.end();
    });
    const r = await post('/chat/completions', chat);
    expect(r.status).toBe(429);
    expect(r.headers['retry-after']).toBe('7');
  });

  it('502 when the answer is not JSON', async () => {
    up.setScript((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>proxy error</html>');
    });
    expect((await post('/chat/completions', chat)).status).toBe(502);
  });

  it('504 when the upstream does not answer in time (non-streaming total timeout)', async () => {
    up.setScript(() => undefined); // never answers
    const r = await post('/chat/completions', chat);
    expect(r.status).toBe(504);
    expect(r.json?.error?.code).toBe('MOAT_ERR_UPSTREAM_TIMEOUT');
  }, 15_000);

  it('streaming: a stall before the first token hits the time-to-first-token timeout', async () => {
    up.setScript((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders(); // headers, then silence
    });
    const started = Date.now();
    const r = await post('/chat/completions', { ...chat, stream: true });
    expect(Date.now() - started).toBeLessThan(4500);
    expect(r.status).toBe(200);
    expect(r.text).toContain('MOAT_ERR_UPSTREAM_TIMEOUT');
    expect(r.text).toContain('first-token');
  }, 15_000);

  it('streaming: a stall mid-stream hits the idle timeout and ends the stream with an error event', async () => {
    up.setScript((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { content: 'Hel' } }] })}\n\n`);
    });
    const r = await post('/chat/completions', { ...chat, stream: true });
    expect(r.text).toContain('"content":"Hel"');
    expect(r.text).toContain('MOAT_ERR_UPSTREAM_TIMEOUT');
    expect(r.text).toContain('idle');
  }, 15_000);

  it('502 when the upstream is down', async () => {
    const down = await startTestGateway({ upstreamURL: 'http://127.0.0.1:9/v1', principal: 'carol' });
    try {
      const res = await request(`${down.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${down.key}` }, body: JSON.stringify(chat) });
      const text = await res.body.text();
      expect(res.statusCode).toBe(502);
      expect(text).not.toContain('127.0.0.1:9');
    } finally {
      await down.close();
    }
  });
});

describe('client disconnects', () => {
  it('a client that goes away mid-stream aborts the upstream request', async () => {
    up.received.length = 0;
    up.setScript((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      const timer = setInterval(() => {
        res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { content: `t${i++}` } }] })}\n\n`);
      }, 20);
      res.on('close', () => clearInterval(timer));
    });
    const ac = new AbortController();
    const res = await request(`${t.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` },
      body: JSON.stringify({ ...chat, stream: true }),
      signal: ac.signal,
    });
    for await (const _chunk of res.body) break; // one chunk, then leave
    ac.abort();
    for (let i = 0; i < 50 && !up.received[0]?.aborted; i++) await sleep(20);
    expect(up.received[0]?.aborted).toBe(true);
    await sleep(50);
    const last = auditRows().at(-1)!;
    expect(last.outcome).toBe('client_aborted');
  });
});

describe('audit', () => {
  it('writes one hash-chained record per request, allowed or denied, without the key', async () => {
    up.setScript((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(chatAnswer('ok')));
    });
    const before = auditRows().length;
    await post('/chat/completions', chat);
    await post('/chat/completions', { ...chat, logit_bias: { '1': 100 } });
    await post('/chat/completions', chat, { authorization: 'Bearer moat_notakey' });
    const rows = auditRows().slice(before);
    expect(rows.map((r) => r.outcome)).toEqual(['allowed', 'denied', 'denied']);
    const recs = rows.map((r) => JSON.parse(r.data) as Record<string, unknown>);
    expect(recs[0]).toMatchObject({ principal: 'alice', tenant: 'acme', model: 'moat-demo', route: 'chat', status: 200, prompt: chat.messages, promptTokens: 3, completionTokens: 2 });
    expect(recs[1]).toMatchObject({ status: 400, errorCode: 'MOAT_ERR_POLICY_DENIED', rules: ['deny:logit_bias'] });
    expect(recs[2]).toMatchObject({ principal: null, status: 401, errorCode: 'MOAT_ERR_MALFORMED_KEY' });
    const all = JSON.stringify(auditRows()) + t.logs.join('');
    expect(all).not.toContain(t.key);
  });
});

describe('operations endpoints', () => {
  it('health, readiness and Prometheus metrics', async () => {
    const base = t.baseURL.replace(/\/v1$/, '');
    expect((await request(`${base}/healthz`)).statusCode).toBe(200);
    expect((await request(`${base}/readyz`)).statusCode).toBe(200);
    const m = await request(`${base}/metrics`);
    const text = await m.body.text();
    expect(text).toMatch(/moat_requests_total\{route="chat",model="moat-demo",status="200",outcome="allowed"\} \d+/);
    expect(text).toMatch(/moat_request_duration_seconds_bucket/);
    expect(text).toMatch(/moat_denials_total\{reason="MOAT_ERR_POLICY_DENIED"\} \d+/);
    expect(text).toMatch(/moat_upstream_errors_total\{model="moat-demo",code="MOAT_ERR_UPSTREAM_FAILED"\} \d+/);
    expect(text).not.toContain(t.key);
  });
});
