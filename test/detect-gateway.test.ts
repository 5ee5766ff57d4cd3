/**
 * Detection in the running gateway: a principal that probes for logits is flagged, the alert
 * reaches a real webhook server, the principal is throttled, the audit log carries its risk,
 * and operators see it through the admin API (authorised only) and the store.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

let hook: Server;
let hookURL: string;
const received: { body: Record<string, unknown>; contentType: string | undefined }[] = [];
let t: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  hook = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString('utf8')));
    req.on('end', () => {
      received.push({ body: JSON.parse(data) as Record<string, unknown>, contentType: req.headers['content-type'] });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookURL = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/moat`;
  t = await startTestGateway({ rpm: 10_000, principal: 'prober', config: { detect: { alert: { webhookURL: hookURL }, actions: { throttleRpm: 5 }, persistMs: 50 } } });
  client = new OpenAI({ baseURL: t.baseURL, apiKey: t.key, maxRetries: 0 });
});

afterAll(async () => {
  await t.close();
  await new Promise<void>((r) => hook.close(() => r()));
});

const probe = (i: number) =>
  client.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: `Say the next word after number ${i}` }], max_tokens: 1, temperature: 0, logprobs: true, top_logprobs: 5 });

describe('detection in the gateway', () => {
  it('sees denied logit_bias attempts, flags the prober, alerts the webhook, then throttles', async () => {
    // Denied by policy, yet observed: repeated attempts are evidence.
    for (let i = 0; i < 4; i++) {
      const err = await client.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: `probe ${i}` }], max_tokens: 1, logit_bias: { '42': 100 } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    }
    let throttled: InstanceType<typeof OpenAI.RateLimitError> | null = null;
    for (let i = 0; i < 40 && !throttled; i++) {
      const r = await probe(i).catch((e: unknown) => e);
      if (r instanceof OpenAI.RateLimitError) throttled = r;
      else if (r instanceof Error) throw r;
    }
    expect(throttled?.code).toBe('MOAT_ERR_RATE_LIMITED');
    expect(throttled?.message).toMatch(/under review/);

    for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(received).toHaveLength(1);
    const alert = received[0]!;
    expect(alert.contentType).toBe('application/json');
    expect(alert.body.text).toMatch(/possible model extraction by prober/);
    expect(JSON.stringify(alert.body.blocks)).toMatch(/probe = /);
    // Prompts are evidence for operators, not for a chat channel.
    expect(JSON.stringify(alert.body)).not.toMatch(/next word after number/);
    expect(t.logs.some((l) => l.includes('possible model extraction'))).toBe(true);
  });

  it('records the risk in the audit log and keeps the explanation in the store', async () => {
    await new Promise((r) => setTimeout(r, 150));
    const audit = new Database(join(t.dataDir, 'audit.db'), { readonly: true });
    const risks = (audit.prepare("SELECT data FROM audit_log WHERE principal = 'prober' ORDER BY seq").all() as { data: string }[]).map((r) => (JSON.parse(r.data) as { risk: number | null }).risk);
    audit.close();
    expect(risks.length).toBeGreaterThan(5);
    expect(risks.at(-1)).toBeGreaterThanOrEqual(0.9);

    const rec = t.gw.detect.store.get('prober');
    expect(rec?.flagged).toBe(true);
    expect(rec?.signals.find((s) => s.name === 'probe')?.score).toBeGreaterThanOrEqual(0.5);
    expect(rec?.examples.length).toBeGreaterThan(0);
  });

  it('the admin API explains the flag to an administrator and refuses anyone else', async () => {
    const root = t.baseURL.replace(/\/v1$/, '') + '/admin/v1/detect';
    const user = await fetch(`${root}/principals/prober`, { headers: { authorization: `Bearer ${t.key}` } });
    expect([401, 403]).toContain(user.status);
    expect(((await user.json()) as { error: { code: string } }).error.code).toMatch(/^MOAT_ERR_/);
    expect((await fetch(`${root}/principals`)).status).toBe(401);

    const adminKey = (await t.gw.admin.createKey({ principal: 'root', tenant: 'ops', scope: 'admin' })).key;
    const h = { authorization: `Bearer ${adminKey}` };
    const one = await fetch(`${root}/principals/prober`, { headers: h });
    expect(one.status).toBe(200);
    const rec = (await one.json()) as { flagged: boolean; signals: { name: string; score: number }[]; allowed: boolean };
    expect(rec.flagged).toBe(true);
    expect(rec.signals.some((s) => s.name === 'probe' && s.score >= 0.5)).toBe(true);
    const list = (await (await fetch(`${root}/principals?flagged=true`, { headers: h })).json()) as { data: { principal: string }[] };
    expect(list.data.map((r) => r.principal)).toContain('prober');
    expect((await fetch(`${root}/principals/no%20such`, { headers: h })).status).toBe(400);
    expect((await fetch(`${root}/principals/nobody`, { headers: h })).status).toBe(404);
  });

  it('an operator clear lifts the throttle at once', async () => {
    expect(t.gw.detect.clear('prober')).toBe(true);
    const r = await client.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'Tell me about the castle' }], max_tokens: 4 });
    expect(r.choices[0]!.message.content).toMatch(/\w/);
    expect(t.gw.detect.engine.riskOf('prober')).toBeLessThan(0.5);
  });
});
