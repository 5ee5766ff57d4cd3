/**
 * The operator's embedding model as the topic signal's source, against a local fake
 * OpenAI-compatible embeddings server: batched and cached off the request path, with the
 * configured model and key; when the server fails, the lexical embedding stands in and the
 * logs name neither the address nor the key; when it is back, it is used again.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEmbeddings } from '../src/detect/embedder.js';
import { detectSchema } from '../src/detect/schema.js';
import { DetectService } from '../src/detect/service.js';
import { memoryLogger, tempDir } from './helpers/gateway.js';

let server: Server;
let baseURL: string;
let failing = false;
const seen: { auth: string | undefined; model: string; input: string[] }[] = [];

/** A deterministic 64-dimensional bag-of-words vector. */
function vector(text: string): number[] {
  const v = new Array<number>(64).fill(0);
  for (const w of text.toLowerCase().match(/[a-z]+/g) ?? []) v[[...w].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % 64]! += 1;
  return v;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString('utf8')));
    req.on('end', () => {
      if (failing || req.url !== '/v1/embeddings') return void res.writeHead(503).end('{"error":{"message":"down"}}');
      const body = JSON.parse(data) as { model: string; input: string[] };
      seen.push({ auth: req.headers.authorization, model: body.model, input: body.input });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: body.input.map((t, index) => ({ object: 'embedding', index, embedding: vector(t) })) }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const until = async (cond: () => boolean, ms = 3000) => {
  for (const t0 = Date.now(); !cond() && Date.now() - t0 < ms; ) await new Promise((r) => setTimeout(r, 10));
  return cond();
};
const chat = (text: string) => ({ model: 'm', messages: [{ role: 'user', content: text }] });

describe('detection with the operator embedding model', () => {
  it('embeds off the request path, in batches, with the configured model and key; falls back while it is down', async () => {
    const dir = tempDir('moat-detect-emb-');
    const logs: string[] = [];
    const cfg = detectSchema.parse({ embeddings: { baseURL, model: 'emb-small', apiKey: 'sk-embed-secret-1', failures: 2, retryMs: 100 } });
    const svc = new DetectService(cfg, dir, memoryLogger(logs));
    try {
      const texts = Array.from({ length: 12 }, (_, i) => `How do I look after a ${['fern', 'cactus', 'orchid', 'bonsai'][i % 4]} in a ${['dark', 'sunny', 'humid'][i % 3]} room?`);
      const t0 = Date.UTC(2025, 0, 1);
      for (let i = 0; i < 36; i++) {
        // Observing never waits for the upstream: it returns a risk at once.
        expect(typeof svc.engine.observe({ ts: t0 + i * 60_000, principal: 'gardener', route: 'chat', body: chat(texts[i % texts.length]!) })).toBe('number');
      }
      expect(await until(() => svc.embedder!.embedded >= texts.length)).toBe(true);
      expect(svc.engine.topicEmbedding).toBe('operator model');
      // Each distinct text is embedded once, in batches, with the configured model and key.
      expect(seen.flatMap((s) => s.input).length).toBe(texts.length);
      expect(seen.length).toBeLessThan(texts.length);
      expect(seen.every((s) => s.model === 'emb-small' && s.auth === 'Bearer sk-embed-secret-1')).toBe(true);
      // Now cached: more of the same queries cost no upstream request.
      const before = seen.length;
      for (let i = 0; i < 12; i++) svc.engine.observe({ ts: t0 + (40 + i) * 60_000, principal: 'gardener', route: 'chat', body: chat(texts[i]!) });
      await new Promise((r) => setTimeout(r, 60));
      expect(seen.length).toBe(before);

      // Down: after two failed requests the lexical embedding stands in.
      failing = true;
      for (let i = 0; i < 40 && svc.embedder!.up; i++) {
        svc.engine.observe({ ts: t0 + (60 + i) * 60_000, principal: 'gardener', route: 'chat', body: chat(`A new question about compost number ${i} and worms`) });
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(svc.embedder!.up).toBe(false);
      svc.engine.observe({ ts: t0 + 200 * 60_000, principal: 'gardener', route: 'chat', body: chat('Is rainwater better for houseplants?') });
      expect(svc.engine.topicEmbedding).toBe('lexical');
      const warned = logs.filter((l) => l.includes('embeddings upstream unavailable'));
      expect(warned.length).toBe(1);
      expect(logs.join('\n')).not.toContain('sk-embed-secret-1');
      expect(logs.join('\n')).not.toContain(baseURL);

      // Back: the probe succeeds and the operator model is used again.
      failing = false;
      expect(await until(() => svc.embedder!.up)).toBe(true);
      svc.engine.observe({ ts: t0 + 201 * 60_000, principal: 'gardener', route: 'chat', body: chat('Do orchids like rainwater?') });
      expect(svc.engine.topicEmbedding).toBe('operator model');
    } finally {
      await svc.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a malformed answer and a bad configuration clearly', () => {
    expect(() => parseEmbeddings({ data: [{ index: 0, embedding: ['x'] }] }, 1)).toThrow(/malformed/);
    expect(() => parseEmbeddings({ data: [] }, 1)).toThrow(/malformed/);
    expect(parseEmbeddings({ data: [{ index: 1, embedding: [2] }, { index: 0, embedding: [1] }] }, 2)).toEqual([[1], [2]]);
    expect(() => detectSchema.parse({ embeddings: { baseURL: 'ftp://x', model: 'm' } })).toThrow(/http:\/\/ or https:\/\//);
    expect(() => detectSchema.parse({ embeddings: { baseURL: 'http://127.0.0.1:1/v1' } })).toThrow();
  });
});
