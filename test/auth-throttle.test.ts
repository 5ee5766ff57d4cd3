/**
 * Failed-authentication throttling (CWE-307): per client address and per API-key prefix, 429
 * with Retry-After once exhausted, and never a lockout of a key that verified recently.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_PREFIX, generateApiKey, keyFromBody } from '../src/identity/api-key.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

let t: TestGateway;

async function call(key: string, from: string) {
  const res = await request(`${t.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-forwarded-for': from },
    body: JSON.stringify({ model: 'moat-demo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
  });
  const body = (await res.body.json()) as { error?: { code: string } };
  return { status: res.statusCode, code: body.error?.code ?? null, retryAfter: res.headers['retry-after'] };
}

/** A well-formed key that does not exist, its body starting with `start` when given. */
const stranger = (start = '') => {
  const body = generateApiKey().key.slice(KEY_PREFIX.length, KEY_PREFIX.length + 32);
  return keyFromBody(start + body.slice(start.length));
};

beforeAll(async () => {
  t = await startTestGateway({
    rpm: 10_000,
    config: {
      // Source addresses come from X-Forwarded-For here, to play several clients from one test.
      server: { host: '127.0.0.1', port: 0, trustProxy: true },
      identity: { authThrottle: { perAddress: { failures: 5, windowMs: 60_000 }, perKeyPrefix: { failures: 3, windowMs: 60_000 } } },
    },
  });
});
afterAll(() => t.close());

describe('failed-authentication throttle', () => {
  it('an address that keeps failing gets 429 with Retry-After, while its known-good key still works', async () => {
    expect((await call(t.key, '10.0.0.1')).status).toBe(200); // the owner's key is now known good
    const codes = [];
    for (let i = 0; i < 7; i++) codes.push((await call(i % 2 ? stranger() : 'moat_short', '10.0.0.1')).code);
    expect(codes.slice(0, 5)).toEqual(['MOAT_ERR_MALFORMED_KEY', 'MOAT_ERR_INVALID_KEY', 'MOAT_ERR_MALFORMED_KEY', 'MOAT_ERR_INVALID_KEY', 'MOAT_ERR_MALFORMED_KEY']);
    const throttled = await call(stranger(), '10.0.0.1');
    expect(throttled).toMatchObject({ status: 429, code: 'MOAT_ERR_AUTH_THROTTLED' });
    expect(Number(throttled.retryAfter)).toBeGreaterThanOrEqual(1);
    // Missing credentials from that address are throttled too: the per-IP shield for anonymous traffic.
    const anon = await request(`${t.baseURL}/models`, { headers: { 'x-forwarded-for': '10.0.0.1' } });
    expect(anon.statusCode).toBe(429);
    await anon.body.dump();
    // The owner of a key that verified recently is not locked out, even from the same address.
    expect((await call(t.key, '10.0.0.1')).status).toBe(200);
    // Other addresses are unaffected.
    expect((await call(stranger(), '10.0.0.2')).code).toBe('MOAT_ERR_INVALID_KEY');
  });

  it('guessing within one key prefix is throttled across addresses', async () => {
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await call(stranger('Guess123'), `10.1.0.${i}`));
    expect(results.map((r) => r.code)).toEqual(['MOAT_ERR_INVALID_KEY', 'MOAT_ERR_INVALID_KEY', 'MOAT_ERR_INVALID_KEY', 'MOAT_ERR_AUTH_THROTTLED']);
  });

  it('a wrong-scope key is not a failed guess', async () => {
    const admin = (await t.gw.admin.createKey({ principal: 'root', scope: 'admin' })).key;
    for (let i = 0; i < 8; i++) expect((await call(admin, '10.2.0.1')).code).toBe('MOAT_ERR_WRONG_KEY_SCOPE');
  });
});
