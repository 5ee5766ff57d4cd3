/**
 * The official `openai` npm client against Moat in front of a real upstream (the demo model):
 * the client works unchanged, and sees Moat's protections as ordinary OpenAI errors.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

let t: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  // Embeddings need the 'embeddings' permission, which the built-in role `user` does not grant.
  t = await startTestGateway({ rpm: 1000, roles: ['user', 'embedder'], config: { roles: { embedder: [{ models: ['*'], permissions: ['embeddings'] }] } } });
  client = new OpenAI({ baseURL: t.baseURL, apiKey: t.key, maxRetries: 0 });
});
afterAll(() => t.close());

describe('openai client through Moat', () => {
  it('chat completion, without logprobs even when asked for', async () => {
    const r = await client.chat.completions.create({
      model: 'moat-demo',
      messages: [{ role: 'user', content: 'Tell me about the castle' }],
      logprobs: true,
      top_logprobs: 5,
      max_tokens: 8,
    });
    expect(r.model).toBe('moat-demo');
    expect(r.choices[0]!.message.content).toMatch(/\w+/);
    expect(r.choices[0]!.logprobs ?? null).toBeNull();
    expect(r.usage?.completion_tokens).toBe(8);
  });

  it('streaming chat arrives chunk by chunk, without logprobs in any chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'moat-demo',
      messages: [{ role: 'user', content: 'Tell me about the guards' }],
      stream: true,
      logprobs: true,
      max_tokens: 6,
    });
    const pieces: string[] = [];
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        expect(c.logprobs ?? null).toBeNull();
        if (c.delta.content) pieces.push(c.delta.content);
      }
    }
    expect(pieces.length).toBe(6);
  });

  it('streaming with include_usage gets the usage chunk; without, it is held back', async () => {
    const withUsage = await client.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 3, stream_options: { include_usage: true } });
    let usage: unknown = null;
    for await (const chunk of withUsage) if (chunk.usage) usage = chunk.usage;
    expect(usage).toMatchObject({ completion_tokens: 3 });

    const without = await client.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 3 });
    for await (const chunk of without) expect(chunk.usage ?? null).toBeNull();
  });

  it('completions', async () => {
    const r = await client.completions.create({ model: 'moat-demo', prompt: 'The keeper', max_tokens: 5 });
    expect(r.choices[0]!.text.split(' ').length).toBeGreaterThanOrEqual(5);
    expect(r.choices[0]!.logprobs ?? null).toBeNull();
  });

  it('embeddings (the client asks for base64 by default and decodes it)', async () => {
    const r = await client.embeddings.create({ model: 'moat-demo', input: ['castle', 'moat'] });
    expect(r.data).toHaveLength(2);
    expect(r.data[0]!.embedding.length).toBe(64);
  });

  it('lists only the models the caller may use', async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual(['moat-demo']);
  });

  it('a missing or wrong key is a 401 AuthenticationError', async () => {
    const anon = new OpenAI({ baseURL: t.baseURL, apiKey: 'moat_wrongwrongwrongwrongwrongwrongxxxxxx', maxRetries: 0 });
    const err = await anon.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('MOAT_ERR_MALFORMED_KEY');
  });

  it('an unknown model is a 404 NotFoundError', async () => {
    const err = await client.chat.completions.create({ model: 'gpt-nope', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe('rate limit as the client sees it', () => {
  it('the request over the per-minute limit is a 429 RateLimitError with Retry-After', async () => {
    const tight = await startTestGateway({ rpm: 3, principal: 'bob' });
    try {
      const c = new OpenAI({ baseURL: tight.baseURL, apiKey: tight.key, maxRetries: 0 });
      for (let i = 0; i < 3; i++) await c.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'x' }], max_tokens: 1 });
      const err = await c.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'x' }], max_tokens: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      const e = err as InstanceType<typeof OpenAI.RateLimitError>;
      expect(Number(e.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(e.headers?.get('ratelimit-policy')).toBe('"rpm";q=3;w=60');
      expect(e.code).toBe('MOAT_ERR_RATE_LIMITED');
    } finally {
      await tight.close();
    }
  });
});
