/**
 * A credential never appears in a log line (at trace level), an error, an audit record or a
 * metric, whatever happens to it: used, mistyped, revoked, expired, rotated, used on the wrong
 * API, throttled, or sent as a JWT. The identity database holds only hashes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_PREFIX, generateApiKey } from '../src/identity/api-key.js';
import { adminClient } from './helpers/admin.js';
import { gatewayRecords } from './helpers/audit.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { sign, startJwks, testKey } from './helpers/jwt.js';

let t: TestGateway;
let jwks: Awaited<ReturnType<typeof startJwks>>;
const secrets: string[] = [];
/** Everything the gateway said back that is not the one-time display of a new key. */
const answers: string[] = [];

async function send(path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) {
  const origin = t.baseURL.replace(/\/v1$/, '');
  const res = await request(origin + path, {
    method: (init.method ?? (init.body === undefined ? 'GET' : 'POST')) as 'GET',
    headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.body.text();
  answers.push(JSON.stringify(res.headers) + text);
  return { status: res.statusCode, text };
}
const chatBody = { model: 'moat-demo', messages: [{ role: 'user' as const, content: 'hello' }], max_tokens: 3 };
const bearer = (k: string) => ({ authorization: `Bearer ${k}` });

beforeAll(async () => {
  const rsa = await testKey('RS256', 'k1');
  jwks = await startJwks([rsa.publicJwk]);
  t = await startTestGateway({
    logLevel: 'trace',
    config: {
      server: { host: '127.0.0.1', port: 0, trustProxy: true },
      identity: {
        authThrottle: { perAddress: { failures: 3, windowMs: 60_000 } },
        jwt: { issuers: [{ issuer: 'https://idp.test', audiences: ['moat'], jwksUrl: jwks.url, defaultRoles: ['user'] }] },
      },
    },
  });
  const token = await sign(rsa);
  const expiredToken = await sign(rsa, { expiresIn: -600 });
  const admin = (await t.gw.admin.createKey({ principal: 'root', scope: 'admin' })).key;
  secrets.push(t.key, admin, token, expiredToken);

  // Used the ordinary ways, by both headers and by the official client, streaming too.
  const client = new OpenAI({ baseURL: t.baseURL, apiKey: t.key, maxRetries: 0 });
  await client.chat.completions.create(chatBody);
  for await (const _c of await client.chat.completions.create({ ...chatBody, stream: true as const })) void _c;
  await client.embeddings.create({ model: 'moat-demo', input: 'castle' }).catch(() => undefined); // refused to `user` by the policy: an error path too
  await send('/v1/models', { headers: { 'x-api-key': t.key } });
  await send('/v1/chat/completions', { headers: bearer(token), body: chatBody });

  // Through the admin API: created, listed, rotated, revoked, then used in each state.
  const call = adminClient(t.baseURL, admin);
  const created = await call('POST', '/keys', { principal: 'pat' });
  const rotated = await call('POST', `/keys/${String(created.json.id)}/rotate`, { overlapSeconds: 0 });
  await call('POST', `/keys/${String(rotated.json.id)}/revoke`);
  secrets.push(created.json.key as string, rotated.json.key as string);
  for (const path of ['/admin/v1/keys', '/admin/v1/principals/pat', '/admin/v1/whoami']) await send(path, { headers: bearer(admin) });
  await send('/v1/chat/completions', { headers: { ...bearer(created.json.key as string), 'x-forwarded-for': '10.0.0.1' }, body: chatBody }); // expired by rotation
  await send('/v1/chat/completions', { headers: { ...bearer(rotated.json.key as string), 'x-forwarded-for': '10.0.0.2' }, body: chatBody }); // revoked

  // Wrong API, wrong keys, bad shapes, a key in the query string, throttling.
  const unknown = generateApiKey().key;
  const badChecksum = unknown.slice(0, -1) + (unknown.endsWith('a') ? 'b' : 'a');
  const tooLong = KEY_PREFIX + 'A'.repeat(9000);
  secrets.push(unknown, badChecksum);
  await send('/v1/chat/completions', { headers: bearer(admin), body: chatBody });
  await send('/admin/v1/keys', { headers: bearer(t.key) });
  await send('/v1/chat/completions', { headers: { ...bearer(expiredToken), 'x-forwarded-for': '10.0.0.3' }, body: chatBody });
  await send(`/v1/chat/completions?api_key=${t.key}`, { headers: { 'x-forwarded-for': '10.0.0.4' }, body: chatBody });
  await send(`/v1/nothing-here?key=${t.key}`, { headers: bearer(t.key) });
  for (const k of [unknown, badChecksum, tooLong, unknown, unknown]) await send('/v1/chat/completions', { headers: { ...bearer(k), 'x-forwarded-for': '10.9.9.9' }, body: chatBody });
  await send('/v1/chat/completions', { headers: { 'x-forwarded-for': '10.0.0.5', 'x-api-key': badChecksum }, body: chatBody });
  await send('/v1/chat/completions', { headers: { 'x-forwarded-for': '10.0.0.6', authorization: `Basic ${t.key}` }, body: chatBody });
  await t.gw.auditSink.flush();
});
afterAll(async () => {
  await t.close();
  await jwks.close();
});

/** The secret itself and, for API keys, its random body alone. */
const needles = () => secrets.flatMap((s) => (s.startsWith(KEY_PREFIX) ? [s, s.slice(KEY_PREFIX.length, KEY_PREFIX.length + 32)] : [s, s.split('.')[2]!]));

function expectNoSecret(where: string, haystack: string | Buffer) {
  for (const n of needles()) expect(haystack.includes(n), `a credential appears in ${where}`).toBe(false);
}

describe('credentials never leak', () => {
  it('the scenario really ran: it logged, refused, audited and throttled', async () => {
    expect(t.logs.length).toBeGreaterThan(0);
    const all = answers.join('\n');
    for (const code of ['KEY_REVOKED', 'KEY_EXPIRED', 'WRONG_KEY_SCOPE', 'INVALID_KEY', 'MALFORMED_KEY', 'TOKEN_EXPIRED', 'AUTH_THROTTLED', 'MISSING_CREDENTIALS', 'NOT_FOUND']) expect(all).toContain(`MOAT_ERR_${code}`);
  });

  it('not in any log line', () => expectNoSecret('the logs', t.logs.join('')));

  it('not in any answer or error (headers and bodies)', () => expectNoSecret('an answer', answers.join('\n')));

  it('not in the audit log, its WAL, or the identity database', () => {
    for (const f of readdirSync(t.dataDir).filter((f) => f.includes('.db'))) expectNoSecret(f, readFileSync(join(t.dataDir, f)));
    const records = gatewayRecords(t);
    expect(records.length).toBeGreaterThan(10);
    expectNoSecret('an audit record', JSON.stringify(records));
  });

  it('not in any metric', async () => {
    const metrics = await send('/metrics');
    expect(metrics.text).toContain('moat_denials_total');
    expectNoSecret('the metrics', metrics.text);
  });
});
