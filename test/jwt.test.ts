/**
 * JWT / OIDC bearer tokens through the gateway, with the official `openai` client sending the
 * token as its API key: issuer, audience and algorithm allow-lists, JWKS and configured keys,
 * claim mapping, and a clear 401 (or 503) code for every way a token can be wrong.
 */
import { createHmac } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from './helpers/admin.js';
import { gatewayRecords } from './helpers/audit.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { sign, startJwks, testKey, unsigned, type TestKey } from './helpers/jwt.js';

let t: TestGateway;
let rsa: TestKey;
let rogue: TestKey;
let ec: TestKey;
let jwks: Awaited<ReturnType<typeof startJwks>>;
let slowJwks: Awaited<ReturnType<typeof startJwks>>;

const chat = (token: string) => new OpenAI({ baseURL: t.baseURL, apiKey: token, maxRetries: 0 }).chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
const refusal = (token: string) => chat(token).then(() => ({ status: 200, code: null as string | null }), (e: { status: number; code: string }) => ({ status: e.status, code: e.code }));

beforeAll(async () => {
  [rsa, rogue, ec] = await Promise.all([testKey('RS256', 'k1'), testKey('RS256', 'k1'), testKey('ES256', 'e1')]);
  jwks = await startJwks([rsa.publicJwk]);
  slowJwks = await startJwks([rsa.publicJwk]);
  const common = { audiences: ['moat'], jwksTimeoutMs: 300 };
  t = await startTestGateway({
    config: {
      identity: {
        jwt: {
          clockToleranceSec: 30,
          issuers: [
            { issuer: 'https://idp.test', ...common, algorithms: ['RS256'], jwksUrl: jwks.url, claims: { principal: 'sub', tenant: 'org', roles: 'realm.roles' } },
            { issuer: 'https://static.test', ...common, algorithms: ['ES256'], publicKeys: [ec.publicPem], defaultRoles: ['user'] },
            { issuer: 'https://mapped.test', ...common, algorithms: ['RS256'], jwksUrl: jwks.url, claims: { roles: 'groups' }, roleMap: { 'ml-users': 'user' }, requireKnownPrincipal: true },
            { issuer: 'https://slow.test', ...common, algorithms: ['RS256'], jwksUrl: slowJwks.url, defaultRoles: ['user'] },
            { issuer: 'https://down.test', ...common, algorithms: ['RS256'], jwksUrl: 'http://127.0.0.1:1/jwks', defaultRoles: ['user'] },
          ],
        },
      },
    },
  });
});
afterAll(async () => {
  await t.close();
  await jwks.close();
  await slowJwks.close();
});

const user = (o: Parameters<typeof sign>[1] = {}) => sign(rsa, { ...o, claims: { org: 'acme', realm: { roles: ['user'] }, ...(o.claims ?? {}) } });

describe('valid tokens', () => {
  it('a token from a JWKS issuer works with the openai client; claims map to principal, tenant and roles', async () => {
    const r = await chat(await user({ sub: 'jo' }));
    expect(r.choices[0]!.message.content).toBeTruthy();
    const last = gatewayRecords(t).filter((r) => r.kind === 'request').at(-1);
    expect(last).toMatchObject({ principal: 'jo', tenant: 'acme', keyId: null, status: 200 });
    expect(jwks.fetches()).toBe(1);
    await chat(await user({ sub: 'jo' }));
    expect(jwks.fetches()).toBe(1); // keys are cached
  });

  it('configured public keys (ES256) and default roles', async () => {
    expect((await refusal(await sign(ec, { iss: 'https://static.test' }))).status).toBe(200);
  });

  it('a little clock skew within the tolerance is accepted', async () => {
    expect((await refusal(await user({ expiresIn: -10 }))).status).toBe(200);
  });

  it('a token with no role can call nothing (default deny)', async () => {
    expect(await refusal(await user({ claims: { realm: { roles: [] } } }))).toEqual({ status: 404, code: 'MOAT_ERR_UNKNOWN_MODEL' });
  });

  it('an admin role in a token opens the admin API; a user role does not', async () => {
    const admin = adminClient(t.baseURL, await user({ sub: 'ops', claims: { realm: { roles: ['admin'] } } }));
    expect((await admin('GET', '/whoami')).json).toMatchObject({ principal: 'ops', via: 'jwt', roles: ['admin'] });
    expect((await adminClient(t.baseURL, await user())('GET', '/whoami')).status).toBe(403);
  });

  it('a known principal brings its stored tenant and limits; roleMap takes only mapped roles', async () => {
    await t.gw.admin.createPrincipal({ name: 'svc-known', tenant: 'ops-team', roles: [], limits: { rpm: 1 } });
    const token = await sign(rsa, { iss: 'https://mapped.test', sub: 'svc-known', claims: { groups: ['ml-users', 'admin'] } });
    expect((await refusal(token)).status).toBe(200);
    expect(await refusal(token)).toEqual({ status: 429, code: 'MOAT_ERR_RATE_LIMITED' });
    const admin = await adminClient(t.baseURL, token)('GET', '/whoami');
    expect(admin.status).toBe(403); // 'admin' is not in the roleMap, so it was not taken
    expect(await refusal(await sign(rsa, { iss: 'https://mapped.test', sub: 'stranger', claims: { groups: ['ml-users'] } }))).toEqual({ status: 401, code: 'MOAT_ERR_UNKNOWN_PRINCIPAL' });
  });
});

describe('tokens that must be refused', () => {
  it.each([
    ['alg none', () => Promise.resolve(unsigned({ iss: 'https://idp.test', aud: 'moat', sub: 'x', exp: Math.floor(Date.now() / 1000) + 300 })), 'MOAT_ERR_TOKEN_ALGORITHM'],
    ['signed by a key the issuer does not hold', () => sign(rogue, { claims: { realm: { roles: ['user'] } } }), 'MOAT_ERR_TOKEN_SIGNATURE'],
    ['expired', () => user({ expiresIn: -120 }), 'MOAT_ERR_TOKEN_EXPIRED'],
    ['not valid yet', () => user({ notBefore: 600 }), 'MOAT_ERR_TOKEN_NOT_YET_VALID'],
    ['no audience', () => user({ aud: null }), 'MOAT_ERR_TOKEN_AUDIENCE'],
    ['another audience', () => user({ aud: 'someone-else' }), 'MOAT_ERR_TOKEN_AUDIENCE'],
    ['unknown issuer', () => user({ iss: 'https://evil.test' }), 'MOAT_ERR_TOKEN_ISSUER'],
    ['an algorithm this issuer does not allow', () => sign(ec, { iss: 'https://idp.test' }), 'MOAT_ERR_TOKEN_ALGORITHM'],
    ['no expiry', () => user({ expiresIn: null }), 'MOAT_ERR_TOKEN_CLAIMS'],
    ['a principal claim with spaces', () => user({ sub: 'a b' }), 'MOAT_ERR_TOKEN_CLAIMS'],
    ['garbage in JWT shape', () => Promise.resolve('eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln'), 'MOAT_ERR_TOKEN_MALFORMED'],
  ])('%s', async (_what, make, code) => {
    expect(await refusal(await make())).toEqual({ status: 401, code });
  });

  it('HS256 signed with the public key as HMAC secret (algorithm confusion) is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'k1' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ iss: 'https://idp.test', aud: 'moat', sub: 'x', exp: now + 300, realm: { roles: ['admin', 'user'] } })).toString('base64url');
    const sig = createHmac('sha256', rsa.publicPem).update(`${head}.${body}`).digest('base64url');
    expect(await refusal(`${head}.${body}.${sig}`)).toEqual({ status: 401, code: 'MOAT_ERR_TOKEN_ALGORITHM' });
  });

  it('a JWKS endpoint that is down or too slow gives 503 with a stable code, without leaking its address', async () => {
    const down = await chat(await sign(rsa, { iss: 'https://down.test' })).catch((e: { status: number; code: string; message: string }) => e);
    expect(down).toMatchObject({ status: 503, code: 'MOAT_ERR_TOKEN_KEYS_UNAVAILABLE' });
    expect((down as { message: string }).message).not.toContain('127.0.0.1');
    slowJwks.setMode('slow');
    const started = Date.now();
    expect(await refusal(await sign(rsa, { iss: 'https://slow.test' }))).toEqual({ status: 503, code: 'MOAT_ERR_TOKEN_KEYS_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});
