/**
 * The watermark through the real gateway, with the official openai client: JSON and streamed
 * answers are marked with the caller's tenant key (and only for the tenants configured), streams
 * keep their framing, and the marked answers are attributed to the right tenant.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attribute } from '../../src/watermark/attribute.js';
import { observe } from '../../src/watermark/detect.js';
import { embedText } from '../../src/watermark/embed.js';
import { defaultLexicon } from '../../src/watermark/lexicon.js';
import { winkTagger } from '../../src/watermark/tagger.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { MASTER, PROSE, keyOf } from './fixtures.js';
import { startFixedUpstream } from './upstream.js';

const lex = defaultLexicon();
const tagger = winkTagger();
let upstream: Awaited<ReturnType<typeof startFixedUpstream>>;
let t: TestGateway;
let acme: OpenAI;
let plain: OpenAI;

beforeAll(async () => {
  upstream = await startFixedUpstream(PROSE);
  t = await startTestGateway({
    upstreamURL: upstream.baseURL,
    tenant: 'acme',
    rpm: 1000,
    config: { watermark: { tenants: ['acme', 'globex'], secret: MASTER.toString('utf8') } },
  });
  acme = new OpenAI({ baseURL: t.baseURL, apiKey: t.key, maxRetries: 0 });
  const other = await t.gw.keys.create({ principal: 'bob', tenant: 'plain', roles: ['user'], limits: { rpm: 1000 } });
  plain = new OpenAI({ baseURL: t.baseURL, apiKey: other.key, maxRetries: 0 });
});
afterAll(async () => {
  await t?.close();
  await upstream?.close();
});

const ask = (c: OpenAI) => c.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'hi' }] });

async function streamed(c: OpenAI): Promise<{ text: string; chunks: number }> {
  const s = await c.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'hi' }], stream: true });
  let text = '';
  let chunks = 0;
  for await (const ch of s) {
    chunks++;
    text += ch.choices[0]?.delta.content ?? '';
  }
  return { text, chunks };
}

describe('watermark stage in the gateway', () => {
  it('marks a JSON answer with the tenant key, and leaves other tenants alone', async () => {
    const expected = embedText(PROSE, lex, tagger, keyOf('acme')).text;
    expect(expected).not.toBe(PROSE);
    expect((await ask(acme)).choices[0]!.message.content).toBe(expected);
    expect((await ask(plain)).choices[0]!.message.content).toBe(PROSE);
  });

  it('marks a streamed answer identically, keeping one event per upstream event', async () => {
    const { text, chunks } = await streamed(acme);
    expect(text).toBe(embedText(PROSE, lex, tagger, keyOf('acme')).text);
    expect(chunks).toBe(Math.ceil(PROSE.length / 7) + 2);
    expect((await streamed(plain)).text).toBe(PROSE);
  });

  it('marks legacy completions too', async () => {
    const r = await acme.completions.create({ model: 'moat-demo', prompt: 'x', max_tokens: 50 });
    expect(r.choices[0]!.text).toBe(embedText(PROSE, lex, tagger, keyOf('acme')).text);
  });

  it('leaves JSON-mode answers alone', async () => {
    const r = await acme.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_object' } });
    expect(r.choices[0]!.message.content).toBe(PROSE);
  });

  it('answers to two tenants are attributed to the right one', async () => {
    const g = await t.gw.keys.create({ principal: 'carol', tenant: 'globex', roles: ['user'], limits: { rpm: 1000 } });
    const globex = new OpenAI({ baseURL: t.baseURL, apiKey: g.key, maxRetries: 0 });
    const tenants = ['acme', 'globex', 'plain', 'initech'];
    for (const [client, name] of [[acme, 'acme'], [globex, 'globex']] as const) {
      const texts = [(await ask(client)).choices[0]!.message.content!, (await streamed(client)).text];
      const r = attribute(texts.flatMap((x) => observe(x, lex, tagger)), MASTER, 'tenant', tenants, 0.05);
      expect(r.tenants[0]!.tenant).toBe(name);
      expect(r.hits).toBe(r.scored);
    }
  });
});
