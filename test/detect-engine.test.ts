/** Pure detection logic: features, signals, clusters, the signature model and replay. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replay } from '../src/cli/commands/detect.js';
import { DetectEngine, inheritance, probeWeight } from '../src/detect/engine.js';
import { extractFeatures, minhashSimilarity, signatureIndices } from '../src/detect/features.js';
import { rng } from '../src/detect/hash.js';
import { emptyModel, scoreSignature, trainSignature } from '../src/detect/model.js';
import { loadSignatureModel } from '../src/detect/model-file.js';
import { defaultDetectConfig } from '../src/detect/schema.js';
import { probeParams, promptText } from '../src/detect/text.js';
import { ActorWindow } from '../src/detect/window.js';

// The real prompts of ../shared/data (or MOAT_SHARED_DATA); the tests that need them skip, saying so, without it.
const dataDir = [process.env.MOAT_SHARED_DATA, join(process.cwd(), '../shared/data'), join(process.cwd(), '../../shared/data')].find((d) => {
  if (!d) return false;
  try {
    readFileSync(join(d, 'prompts/benign/alpaca_eval.jsonl'));
    return true;
  } catch {
    return false;
  }
});
if (!dataDir) console.warn('SKIPPED: 2 detection tests need the real prompts of ../shared/data beside the checkout (or MOAT_SHARED_DATA)');
const benign: string[] = dataDir
  ? readFileSync(join(dataDir, 'prompts/benign/alpaca_eval.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { text: string }).text)
  : [];

const chat = (text: string, extra: Record<string, unknown> = {}) => ({ model: 'm', messages: [{ role: 'system', content: 'You are helpful.' }, { role: 'user', content: text }], ...extra });

describe('features', () => {
  it('one template over different content shares its template keys, not its text', () => {
    const a = extractFeatures('Is this product review positive?\nTitle: Great blender\nReview: It crushed ice in seconds and is easy to clean, I would buy it again for the kitchen.\nAnswer:');
    const b = extractFeatures('Is this product review positive?\nTitle: Broke in a week\nReview: The handle snapped off after five uses and support never answered my emails about the refund.\nAnswer:');
    expect(a.prefixKey).not.toBe(0);
    expect(a.prefixKey).toBe(b.prefixKey);
    expect(a.exactKey).not.toBe(b.exactKey);
    expect(minhashSimilarity(a.minhash, b.minhash)).toBeLessThan(0.5);
  });

  it('quoted spans and numbers are masked in template keys', () => {
    const a = extractFeatures('Can an answer to "How do I learn to cook rice well?" also be used to answer "What is the best rice cooker for 2024?"');
    const b = extractFeatures('Can an answer to "Why is the sky blue during the day?" also be used to answer "How far away is the moon from us?"');
    expect(a.prefixKey).toBe(b.prefixKey);
    expect(a.skeletonKey).toBe(b.skeletonKey);
    expect(extractFeatures('Item 17: list the capital of France').numMaskedKey).toBe(extractFeatures('Item 18: list the capital of France').numMaskedKey);
  });

  it('random token strings look unnatural, prose does not', () => {
    const prose = extractFeatures('Could you explain how the immune system learns to recognise a virus it has never seen before, and why vaccines help?');
    const noise = extractFeatures('xq7 ptr}} ={ blk_ mnt Ġzz qwv 0x3f hst;; krm ^^ vrt ctl dmx pfx');
    expect(prose.unnatural).toBeLessThan(0.3);
    expect(noise.unnatural).toBeGreaterThan(0.5);
  });

  it('MinHash (one permutation, densified) tells a near-duplicate from a different prompt', () => {
    const base = 'Write a short story about a lighthouse keeper who finds a message in a bottle, in the style of a fairy tale for children';
    const a = extractFeatures(base);
    const b = extractFeatures(base.replace('children', 'young readers'));
    const c = extractFeatures('What is the boiling point of water at the top of Mount Everest, and why is it lower there?');
    expect(minhashSimilarity(a.minhash, b.minhash)).toBeGreaterThanOrEqual(0.5);
    expect(minhashSimilarity(a.minhash, c.minhash)).toBeLessThan(0.2);
    // Short prompts still get comparable signatures.
    expect(minhashSimilarity(extractFeatures('hello there').minhash, extractFeatures('hello there').minhash)).toBe(1);
  });

  it('stays linear on hostile text (unmatched quotes)', () => {
    const hostile = '"'.repeat(4000) + ' word'.repeat(20);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 20; i++) extractFeatures(hostile);
    expect(Number(process.hrtime.bigint() - t0) / 1e6 / 20).toBeLessThan(5);
  });

  it('never throws on odd input', () => {
    for (const s of ['', '"', '"""', '\u201c', '\n\n\n', 'a'.repeat(20_000), '1 2 3 4 5 6 7 8 9 10 11 12 13', '\ud800']) expect(() => extractFeatures(s)).not.toThrow();
  });
});

describe('window', () => {
  it('keeps its state bounded whatever the traffic', () => {
    const w = new ActorWindow();
    for (let i = 0; i < 500; i++) w.add(extractFeatures(`query number ${i} about ${i * 7} things`), { ts: i * 1000, signature: 0, probe: 0, tokensIn: 5 });
    expect(w.size).toBe(64);
    expect(w.count).toBe(500);
    // Each enumerated query differs by a counter only.
    expect(w.enumSum / w.size).toBeGreaterThan(0.9);
  });
});

describe('engine', () => {
  it('probe weights: logit_bias and echo are strong, max_tokens 1 at temperature 0 too', () => {
    expect(probeWeight({ maxTokens: null, temperature: null, logprobs: false, logitBias: true, echo: false, tokenPrompt: false, priorTurns: 0 })).toBe(1);
    expect(probeWeight({ maxTokens: 1, temperature: 0, logprobs: false, logitBias: false, echo: false, tokenPrompt: false, priorTurns: 0 })).toBe(0.75);
    expect(probeWeight({ maxTokens: 400, temperature: 0.7, logprobs: false, logitBias: false, echo: false, tokenPrompt: false, priorTurns: 0 })).toBe(0);
  });

  it.skipIf(!dataDir)('one template over a corpus is flagged within 200 queries; varied prompts are not', () => {
    const e = new DetectEngine(defaultDetectConfig(), loadSignatureModel());
    const r = rng(3);
    let t = Date.UTC(2025, 0, 1);
    let first: number | null = null;
    for (let i = 0; i < 200; i++) {
      t += 5_000;
      const text = `${benign[Math.floor(r() * benign.length)]}\n\nWhat label best describes this text: positive, negative or neutral?`;
      e.observe({ ts: t, principal: 'leech', route: 'chat', body: chat(text) });
      if (first === null) first = e.status('leech')!.firstFlaggedAt;
      // A person: a question every few minutes (a script's pace would be evidence of its own).
      e.observe({ ts: Date.UTC(2025, 0, 1) + i * 180_000, principal: 'person', route: 'chat', body: chat(benign[i * 3]!) });
    }
    expect(first).not.toBeNull();
    expect(first!).toBeLessThanOrEqual(200);
    expect(e.status('leech')!.fired).toContain('template');
    expect(e.status('person')!.flagged).toBe(false);
  });

  it('links accounts that split one template attack and scores them as one actor', () => {
    const e = new DetectEngine(defaultDetectConfig(), emptyModel());
    let t = Date.UTC(2025, 0, 1);
    for (let i = 0; i < 300; i++) {
      t += 2_000;
      const text = `Question ${i}: is the following sentence grammatical? "The ${['cat', 'dog', 'bird', 'fox'][i % 4]} number ${i} sat on mat ${i * 3}." Answer yes or no, then explain your reasoning briefly.`;
      e.observe({ ts: t, principal: `sybil-${i % 5}`, route: 'chat', body: chat(text), ip: `203.0.113.${i % 5}` });
    }
    const roots = new Set(Array.from({ length: 5 }, (_, k) => e.index.root(`sybil-${k}`)));
    expect(roots.size).toBe(1);
    const rec = e.status('sybil-3')!;
    expect(rec.cluster?.size).toBe(5);
    expect(rec.cluster!.risk).toBeGreaterThanOrEqual(0.75);
  });

  it('allow-listed principals are not scored; clear forgets', () => {
    const e = new DetectEngine({ ...defaultDetectConfig(), allow: ['batch'] }, emptyModel());
    expect(e.observe({ ts: 1, principal: 'batch', route: 'chat', body: chat('x', { logit_bias: { 1: 100 } }) })).toBeNull();
    for (let i = 0; i < 10; i++) e.observe({ ts: 1000 * i, principal: 'p', route: 'completions', body: { model: 'm', prompt: `hello ${i}`, echo: true, max_tokens: 1 } });
    expect(e.riskOf('p')).toBeGreaterThanOrEqual(0.75);
    e.clear('p');
    expect(e.riskOf('p')).toBe(0);
  });
});

describe('sustained harvesting and clusters', () => {
  const qs = benign.length ? benign : Array.from({ length: 400 }, (_, i) => `Tell me about topic number ${i} and why it matters to people`);

  it.skipIf(!dataDir)('a script asking single-turn questions around the clock is flagged; a chat front-end and a person are not', () => {
    const e = new DetectEngine(defaultDetectConfig(), loadSignatureModel());
    const t0 = Date.UTC(2025, 0, 6);
    let history: { role: string; content: string }[] = [];
    for (let i = 0; i < 700; i++) {
      // A harvester: a fresh question every 30 s.
      e.observe({ ts: t0 + i * 30_000, principal: 'harvester', route: 'chat', body: { model: 'm', messages: [{ role: 'user', content: qs[i % qs.length]! }] } });
      // A chat front-end at the same pace: most requests continue a conversation.
      history = i % 3 === 0 ? [] : [...history.slice(-4), { role: 'user', content: qs[(i * 7) % qs.length]! }, { role: 'assistant', content: 'Sure, here is what I know.' }];
      e.observe({ ts: t0 + i * 30_000 + 7, principal: 'frontend', route: 'chat', body: { model: 'm', messages: [...history, { role: 'user', content: qs[(i * 11) % qs.length]! }] } });
      // A person: a question every few minutes in the daytime.
      if (i % 6 === 0 && ((i * 30) / 3600) % 24 < 10) e.observe({ ts: t0 + i * 30_000 + 13, principal: 'person', route: 'chat', body: { model: 'm', messages: [{ role: 'user', content: qs[(i * 13) % qs.length]! }] } });
    }
    const h = e.status('harvester')!;
    expect(h.flagged).toBe(true);
    expect(h.fired).toContain('harvest');
    expect(h.signals.find((s) => s.name === 'harvest')!.detail).toMatch(/single-turn/);
    expect(e.status('frontend')!.flagged).toBe(false);
    expect(e.status('person')!.flagged).toBe(false);
  });

  it('a cluster hands its risk to members in proportion to their own evidence', () => {
    expect(inheritance(0.1, 0.5)).toBe(0);
    expect(inheritance(0.375, 0.5)).toBeCloseTo(0.5);
    expect(inheritance(0.8, 0.5)).toBe(1);
  });

  it('reads the last user message of a chat and counts earlier assistant turns', () => {
    const body = { model: 'm', messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'first question' }, { role: 'assistant', content: 'answer' }, { role: 'user', content: [{ type: 'text', text: 'and a follow-up' }] }] };
    expect(promptText('chat', body)).toBe('and a follow-up');
    expect(probeParams('chat', body).priorTurns).toBe(1);
    expect(probeParams('chat', { model: 'm', messages: [{ role: 'user', content: 'hi' }] }).priorTurns).toBe(0);
  });
});

describe('signature model', () => {
  it('learns a separable signature and round-trips through JSON', () => {
    const pos = ['Generate 20 diverse task instructions with inputs and outputs for a dataset', 'Create 50 question answer pairs for fine-tuning, as JSON'];
    const neg = ['How do I bake bread at home?', 'What is the capital of Peru?', 'Write a poem about my cat'];
    const ex = [...pos.map((t) => ({ idx: signatureIndices(t), label: 1 as const })), ...neg.map((t) => ({ idx: signatureIndices(t), label: 0 as const }))];
    const m = trainSignature(ex, { epochs: 30 });
    expect(scoreSignature(m, signatureIndices(pos[0]!))).toBeGreaterThan(0.5);
    expect(scoreSignature(m, signatureIndices(neg[0]!))).toBeLessThan(0.5);
    expect(() => trainSignature(ex.filter((e) => e.label === 1))).toThrow(/both labels/);
  });

  it('the shipped model scores a bulk-generation request above ordinary questions', () => {
    const m = loadSignatureModel();
    const gen = scoreSignature(m, signatureIndices('Come up with 25 varied instructions for training an assistant. Each needs an instruction, an input and an output.\nTask 1: Sort these numbers\nTask 2: Translate to Spanish'));
    const ask = scoreSignature(m, signatureIndices('My sister wants me to play kickball with her friends. How is the game played?'));
    expect(gen).toBeGreaterThan(0.5);
    expect(ask).toBeLessThan(0.5);
  });
});

describe('replay', () => {
  it('prints one record per principal, with first_flagged_at counted in that principal\'s queries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'moat-replay-'));
    try {
      const lines: string[] = [];
      for (let i = 0; i < 40; i++) {
        lines.push(JSON.stringify({ ts: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(), principal: 'quiet', route: 'chat', body: chat(`Tell me something interesting about topic ${i * 37}, please, in a friendly tone`) }));
        lines.push(JSON.stringify({ ts: Date.UTC(2025, 0, 1) + i * 1000 + 1, principal: 'probe', route: 'completions', body: { model: 'm', prompt: `x ${i}`, max_tokens: 1, logprobs: 5, echo: true } }));
      }
      const file = join(dir, 'traffic.jsonl');
      writeFileSync(file, lines.join('\n') + '\n');
      const res = await replay(file);
      expect(res.get('probe')!.flagged).toBe(true);
      expect(res.get('probe')!.firstFlaggedAt).toBeGreaterThanOrEqual(1);
      expect(res.get('probe')!.firstFlaggedAt).toBeLessThanOrEqual(10);
      expect(res.get('probe')!.fired).toContain('probe');
      expect(res.get('quiet')!.queries).toBe(40);
      writeFileSync(file, '{"ts": 1}\n');
      await expect(replay(file)).rejects.toThrow(/expected \{"ts","principal","route","body"\}/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
