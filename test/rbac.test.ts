/**
 * Role-based access through the gateway: roles from moat.yaml and stored roles, default deny,
 * per-model grants, and a forbidden model answering exactly as an unknown one.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { can } from '../src/identity/access.js';
import { startDemoUpstream } from '../src/demo/server.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

let demo: Awaited<ReturnType<typeof startDemoUpstream>>;
let t: TestGateway;

const client = (key: string) => new OpenAI({ baseURL: t.baseURL, apiKey: key, maxRetries: 0 });
const keyFor = async (principal: string, roles: string[]) => (await t.gw.keys.create({ principal, roles })).key;
const chat = (key: string, model: string) => client(key).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
const failure = (p: Promise<unknown>) => p.then(() => null, (e: { status?: number; error?: unknown }) => ({ status: e.status, error: e.error }));

beforeAll(async () => {
  demo = await startDemoUpstream();
  const upstream = { baseURL: demo.baseURL, timeouts: { connectMs: 2000, firstTokenMs: 3000, idleMs: 2000, totalMs: 5000 } };
  t = await startTestGateway({
    upstreamURL: demo.baseURL,
    config: {
      models: { 'moat-demo': { upstream }, 'moat-secret': { upstream: { ...upstream, model: 'moat-demo' } } },
      roles: {
        researcher: [{ models: ['moat-demo'], permissions: ['use', 'list', 'logprobs'] }],
        'hidden-caller': [{ models: ['*'], permissions: ['use'] }],
      },
    },
  });
});
afterAll(async () => {
  await t.close();
  await demo.close();
});

describe('roles and models', () => {
  it('the built-in user role may use and see every configured model', async () => {
    expect((await client(t.key).models.list()).data.map((m) => m.id).sort()).toEqual(['moat-demo', 'moat-secret']);
    expect((await chat(t.key, 'moat-secret')).model).toBe('moat-secret');
  });

  it('a role from moat.yaml limits the caller to its models; the other answers exactly as an unknown model', async () => {
    const key = await keyFor('rita', ['researcher']);
    expect((await client(key).models.list()).data.map((m) => m.id)).toEqual(['moat-demo']);
    await chat(key, 'moat-demo');
    const forbidden = await failure(chat(key, 'moat-secret'));
    const unknown = await failure(chat(key, 'moat-nothing'));
    expect(forbidden!.status).toBe(404);
    expect(JSON.stringify(forbidden).replaceAll('moat-secret', 'NAME')).toBe(JSON.stringify(unknown).replaceAll('moat-nothing', 'NAME'));
  });

  it('use without list: callable but not listed', async () => {
    const key = await keyFor('hal', ['hidden-caller']);
    expect((await client(key).models.list()).data).toEqual([]);
    await chat(key, 'moat-secret');
  });

  it('default deny: a principal with no role can call nothing and sees nothing', async () => {
    const key = await keyFor('nobody', []);
    expect((await client(key).models.list()).data).toEqual([]);
    expect((await failure(chat(key, 'moat-demo')))!.status).toBe(404);
    expect((await failure(client(key).embeddings.create({ model: 'moat-demo', input: 'x' })))!.status).toBe(404);
  });

  it('the effective table (built-in, moat.yaml, stored) is what can() consults on the gateway', async () => {
    expect(can(t.gw.roles, ['researcher'], 'logprobs', 'moat-demo')).toBe(true);
    expect(can(t.gw.roles, ['researcher'], 'logprobs', 'moat-secret')).toBe(false);
    expect(can(t.gw.roles, ['user'], 'logprobs', 'moat-demo')).toBe(false);
    expect(can(t.gw.roles, ['user'], 'embeddings', 'moat-demo')).toBe(false);
    await t.gw.admin.putRole('embedder', [{ models: ['moat-demo'], permissions: ['use', 'embeddings'] }]);
    expect(can(t.gw.roles, ['embedder'], 'embeddings', 'moat-demo')).toBe(true);
    const key = await keyFor('emma', ['embedder']);
    expect((await client(key).embeddings.create({ model: 'moat-demo', input: 'castle' })).data).toHaveLength(1);
  });
});
