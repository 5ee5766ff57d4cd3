/**
 * The admin API end to end: separate authentication (admin keys, admin role), tenants,
 * principals, keys (create, revoke, rotate with overlap), roles and limits, each action audited,
 * and the keys it creates working at once through the official `openai` client.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuditRecords, adminClient } from './helpers/admin.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

let t: TestGateway;
let adminKey: string;
let admin: ReturnType<typeof adminClient>;

const chat = (key: string) => new OpenAI({ baseURL: t.baseURL, apiKey: key, maxRetries: 0 }).chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
const errCode = (e: unknown) => (e as { code?: string }).code;

beforeAll(async () => {
  t = await startTestGateway({ rpm: 1000 });
  adminKey = (await t.gw.admin.createKey({ principal: 'root', tenant: 'ops', scope: 'admin' })).key;
  admin = adminClient(t.baseURL, adminKey);
});
afterAll(() => t.close());

describe('admin authentication is separate from inference', () => {
  it('no credential is 401; an inference key is refused; an admin key is refused on /v1', async () => {
    expect((await adminClient(t.baseURL, null)('GET', '/whoami')).json.error?.code).toBe('MOAT_ERR_MISSING_CREDENTIALS');
    const withInference = await adminClient(t.baseURL, t.key)('GET', '/tenants');
    expect(withInference.status).toBe(401);
    expect(withInference.json.error?.code).toBe('MOAT_ERR_WRONG_KEY_SCOPE');
    expect(errCode(await chat(adminKey).catch((e: unknown) => e))).toBe('MOAT_ERR_WRONG_KEY_SCOPE');
    const me = await admin('GET', '/whoami');
    expect(me.json).toMatchObject({ principal: 'root', tenant: 'ops', roles: ['admin'], via: 'api_key' });
  });

  it('an admin key of a principal that lost its admin role gets 403, and the attempt is audited', async () => {
    const other = await admin('POST', '/keys', { principal: 'ex-admin', scope: 'admin' });
    expect(other.status).toBe(201);
    expect((await admin('PATCH', '/principals/ex-admin', { roles: ['user'] })).status).toBe(200);
    const r = await adminClient(t.baseURL, other.json.key as string)('GET', '/tenants');
    expect(r.status).toBe(403);
    expect(r.json.error?.code).toBe('MOAT_ERR_FORBIDDEN');
    expect(adminAuditRecords(t.gw).at(-1)).toMatchObject({ principal: 'ex-admin', outcome: 'denied', status: 403, route: 'admin:tenants.list' });
  });

  it('no admin key can be made for a principal without an admin role', async () => {
    const r = await admin('POST', '/keys', { principal: 'alice', scope: 'admin' });
    expect(r.status).toBe(409);
    expect(r.json.error?.code).toBe('MOAT_ERR_ADMIN_CONFLICT');
  });
});

describe('tenants and principals', () => {
  it('create, read, update; duplicates are 409, unknown names 404, bad input 400', async () => {
    expect((await admin('POST', '/tenants', { name: 'labs', limits: { rpm: 100 } })).status).toBe(201);
    expect((await admin('POST', '/tenants', { name: 'labs' })).status).toBe(409);
    const patched = await admin('PATCH', '/tenants/labs', { limits: { rpm: null, tpm: 5000 } });
    expect(patched.json).toMatchObject({ name: 'labs', limits: { tpm: 5000 } });
    expect(patched.json.limits).not.toHaveProperty('rpm');
    expect((await admin('GET', '/tenants/nope')).json.error?.code).toBe('MOAT_ERR_ADMIN_UNKNOWN');

    const p = await admin('POST', '/principals', { name: 'svc-batch', tenant: 'labs', limits: { concurrency: 2 } });
    expect(p.json).toMatchObject({ name: 'svc-batch', tenant: 'labs', roles: ['user'], limits: { concurrency: 2 } });
    const bad = await admin('POST', '/principals', { name: 'x', roles: ['no-such-role'] });
    expect(bad.status).toBe(400);
    expect(bad.json.error?.message).toContain("unknown role 'no-such-role'");
    const badName = await admin('POST', '/principals', { name: '../etc' });
    expect(badName.status).toBe(400);
    expect(badName.json.error?.param).toBe('name');
    expect((await admin('POST', '/principals', '{"name": ')).json.error?.code).toBe('MOAT_ERR_BAD_JSON');
    expect((await admin('GET', '/principals?tenant=labs')).json.data).toEqual([expect.objectContaining({ name: 'svc-batch' })]);
    const lim = await admin('GET', '/principals/svc-batch/limits');
    expect(lim.json).toMatchObject({ effective: { principal: { concurrency: 2, rpm: 600 }, tenant: { tpm: 5000 } } });
  });
});

describe('keys', () => {
  it('a key created through the API works at once; listings never show the secret or its hash', async () => {
    const c = await admin('POST', '/keys', { principal: 'carol', tenant: 'labs', label: 'laptop' });
    expect(c.status).toBe(201);
    expect(c.json).toMatchObject({ principal: 'carol', tenant: 'labs', scope: 'inference', principalCreated: true, key: expect.stringMatching(/^moat_/) });
    expect((await chat(c.json.key as string)).choices[0]!.message.content).toBeTruthy();
    const list = await admin('GET', '/keys?principal=carol');
    expect(list.text).not.toContain(c.json.key as string);
    expect(list.text).not.toContain('"hash"');
    expect(list.json.data).toEqual([expect.objectContaining({ id: c.json.id, label: 'laptop', hint: expect.stringMatching(/^moat_…/) })]);
    const wrongTenant = await admin('POST', '/keys', { principal: 'carol', tenant: 'acme' });
    expect(wrongTenant.status).toBe(409);
  });

  it('revocation takes effect at once on this replica', async () => {
    const c = await admin('POST', '/keys', { principal: 'dave' });
    await chat(c.json.key as string);
    const r = await admin('POST', `/keys/${String(c.json.id)}/revoke`);
    expect(r.json).toMatchObject({ id: c.json.id, revokedAt: expect.any(String), alreadyRevoked: false });
    expect(errCode(await chat(c.json.key as string).catch((e: unknown) => e))).toBe('MOAT_ERR_KEY_REVOKED');
    expect((await admin('POST', `/keys/${String(c.json.id)}/revoke`)).json.alreadyRevoked).toBe(true);
    expect((await admin('POST', `/keys/${String(c.json.id)}/rotate`)).status).toBe(409);
  });

  it('rotation: both keys work during the overlap; with no overlap the old key stops at once', async () => {
    const c = await admin('POST', '/keys', { principal: 'erin' });
    const r = await admin('POST', `/keys/${String(c.json.id)}/rotate`, { overlapSeconds: 3600 });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ principal: 'erin', rotatedFrom: c.json.id, key: expect.stringMatching(/^moat_/) });
    expect(Date.parse(r.json.oldExpiresAt as string)).toBeGreaterThan(Date.now() + 3500_000);
    await chat(c.json.key as string);
    await chat(r.json.key as string);

    const r2 = await admin('POST', `/keys/${String(r.json.id)}/rotate`, { overlapSeconds: 0 });
    expect(errCode(await chat(r.json.key as string).catch((e: unknown) => e))).toBe('MOAT_ERR_KEY_EXPIRED');
    await chat(r2.json.key as string);
    expect((await admin('POST', `/keys/${String(r.json.id)}/rotate`, { overlapSeconds: -1 })).status).toBe(400);
    // A key that expires is replaced by one with the same lifetime, counted from the rotation.
    const short = await admin('POST', '/keys', { principal: 'erin', expiresInDays: 10 });
    const renewed = await admin('POST', `/keys/${String(short.json.id)}/rotate`);
    expect(Math.abs(Date.parse(renewed.json.expiresAt as string) - (Date.now() + 10 * 86_400_000))).toBeLessThan(60_000);
    expect((await admin('GET', '/keys/key_doesnotexist')).status).toBe(404);
  });
});

describe('roles', () => {
  it('built-in roles are listed and read-only; stored roles can be defined, granted and deleted', async () => {
    const list = await admin('GET', '/roles');
    expect(list.json.data).toEqual(
      expect.arrayContaining([
        { name: 'user', source: 'builtin', grants: [{ models: ['*'], permissions: ['use', 'list'] }] },
        { name: 'admin', source: 'builtin', grants: [{ models: ['*'], permissions: ['admin'] }] },
      ]),
    );
    expect((await admin('PUT', '/roles/user', { grants: [{ models: ['*'], permissions: ['use', 'logprobs'] }] })).json.error?.code).toBe('MOAT_ERR_ROLE_READ_ONLY');
    expect((await admin('PUT', '/roles/caller', { grants: [{ models: ['*'], permissions: ['lst'] }] })).status).toBe(400);

    expect((await admin('PUT', '/roles/caller', { grants: [{ models: ['moat-demo'], permissions: ['use', 'list'] }] })).status).toBe(201);
    const c = await admin('POST', '/keys', { principal: 'frank', roles: ['caller'] });
    const client = new OpenAI({ baseURL: t.baseURL, apiKey: c.json.key as string, maxRetries: 0 });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['moat-demo']);
    await chat(c.json.key as string);
    expect((await admin('DELETE', '/roles/caller')).status).toBe(204);
    t.gw.keys.invalidate();
    expect((await client.models.list()).data).toEqual([]);
    expect(errCode(await chat(c.json.key as string).catch((e: unknown) => e))).toBe('MOAT_ERR_UNKNOWN_MODEL');
    expect((await admin('DELETE', '/roles/caller')).status).toBe(404);
  });
});

describe('audit of admin actions', () => {
  it('every action by an administrator leaves a record with actor and target, never a key', async () => {
    const before = adminAuditRecords(t.gw).length;
    const c = await admin('POST', '/keys', { principal: 'gina' });
    await admin('POST', `/keys/${String(c.json.id)}/revoke`);
    await admin('POST', '/tenants', { name: 'labs' }); // a failed action is recorded too
    const recs = adminAuditRecords(t.gw).slice(before);
    expect(recs.map((r) => [r.route, r.outcome, r.status])).toEqual([
      ['admin:keys.create', 'ok', 201],
      ['admin:keys.revoke', 'ok', 200],
      ['admin:tenants.create', 'failed', 409],
    ]);
    expect(recs[0]).toMatchObject({ kind: 'admin', principal: 'root', tenant: 'ops', params: { action: 'keys.create', target: { principal: 'gina' }, keyId: c.json.id } });
    expect(recs[2]!.errorCode).toBe('MOAT_ERR_ADMIN_CONFLICT');
    const everything = JSON.stringify(adminAuditRecords(t.gw)) + t.logs.join('');
    expect(everything).not.toContain(c.json.key as string);
    expect(everything).not.toContain(adminKey);
  });
});
