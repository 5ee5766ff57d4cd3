import { describe, expect, it } from 'vitest';
import { createContext } from '../../src/pipeline/context.js';
import type { RequestContext } from '../../src/pipeline/context.js';
import { watermarkSchema } from '../../src/watermark/config.js';
import { embedText } from '../../src/watermark/embed.js';
import { defaultLexicon } from '../../src/watermark/lexicon.js';
import { FORCE_KEY, watermarkStage } from '../../src/watermark/stage.js';
import { winkTagger } from '../../src/watermark/tagger.js';
import { MASTER, PROSE, keyOf } from './fixtures.js';

const lex = defaultLexicon();
const tagger = winkTagger();

function ctxFor(tenant: string, route: 'chat' | 'completions' = 'chat'): RequestContext {
  const ctx = createContext({ route, sourceIp: '127.0.0.1', headers: {} });
  ctx.identity = { principal: `${tenant}-user`, tenant, roles: ['user'], keyId: 'k', via: 'api_key', limits: {}, tenantLimits: {} };
  ctx.model = { name: 'm', upstreamModel: 'm', ownedBy: 'x' } as RequestContext['model'];
  ctx.stream = true;
  return ctx;
}

const stage = (cfg: Record<string, unknown> = {}) => watermarkStage({ config: watermarkSchema.parse(cfg), master: MASTER, lexicon: lex, tagger });

describe('watermark stage', () => {
  it('is off by default, and on when detection forces it for a caller', () => {
    const s = stage();
    const body = () => ({ choices: [{ index: 0, message: { role: 'assistant', content: PROSE } }] });
    const off = body();
    s.response!(ctxFor('acme'), off);
    expect(off.choices[0]!.message.content).toBe(PROSE);
    const forced = ctxFor('acme');
    forced.stageState.set(FORCE_KEY, true);
    const on = body();
    s.response!(forced, on);
    expect(on.choices[0]!.message.content).toBe(embedText(PROSE, lex, tagger, keyOf('acme')).text);
    expect(forced.rules).toContain('watermark:tenant');
  });

  it('per model, per tenant, and per principal keys', () => {
    const byModel = ctxFor('x');
    const b1 = { choices: [{ index: 0, message: { content: PROSE } }] };
    stage({ models: ['m'], keyBy: 'principal' }).response!(byModel, b1);
    expect(b1.choices[0]!.message.content).not.toBe(PROSE);
    const b2 = { choices: [{ index: 0, message: { content: PROSE } }] };
    stage({ models: ['other'] }).response!(ctxFor('x'), b2);
    expect(b2.choices[0]!.message.content).toBe(PROSE);
  });

  it('a stream without finish_reason gets its held-back text at the end, per choice', () => {
    const s = stage({ enabled: true });
    const ctx = ctxFor('acme');
    let out0 = '';
    let out1 = '';
    for (let i = 0; i < PROSE.length; i += 5) {
      const ev = s.event!(ctx, { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: PROSE.slice(i, i + 5) }, finish_reason: null }, { index: 1, delta: { content: PROSE.slice(i, i + 5) }, finish_reason: null }] }) as { choices: { delta: { content: string } }[] };
      out0 += ev.choices[0]!.delta.content;
      out1 += ev.choices[1]!.delta.content;
    }
    const held = s.endOfStream!(ctx) as { id: string; choices: { index: number; delta: { content: string } }[] }[];
    expect(held.length).toBeGreaterThan(0);
    for (const h of held) {
      expect(h.id).toBe('c');
      if (h.choices[0]!.index === 0) out0 += h.choices[0]!.delta.content;
      else out1 += h.choices[0]!.delta.content;
    }
    const expected = embedText(PROSE, lex, tagger, keyOf('acme')).text;
    expect(out0).toBe(expected);
    expect(out1).toBe(expected);
  });

  it('never touches embeddings', () => {
    const ctx = createContext({ route: 'embeddings', sourceIp: '127.0.0.1', headers: {} });
    const body = { data: [{ embedding: [1, 2] }] };
    stage({ enabled: true }).response!(ctx, body);
    expect(body).toEqual({ data: [{ embedding: [1, 2] }] });
  });
});
