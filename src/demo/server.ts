/**
 * DEMO ONLY. An OpenAI-compatible server around the demo model (see model.ts), started in
 * process by `moat demo` so that the quick start needs no inference server. It deliberately
 * honours every leaky parameter; Moat in front of it is what withholds them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { countTokens, detokenize, embed, generate, seedOf, type Generation } from './model.js';

export const DEMO_MODEL = 'moat-demo';

type Json = Record<string, unknown>;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Json | null> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
  } catch {
    return null;
  }
}

function promptText(body: Json, chat: boolean): string {
  if (chat) {
    const msgs = Array.isArray(body.messages) ? (body.messages as Json[]) : [];
    return msgs.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
  }
  const p = body.prompt;
  return Array.isArray(p) ? p.map(String).join('\n') : String(p ?? '');
}

function runGenerations(body: Json, prompt: string, topLogprobs: number): Generation[] {
  const n = typeof body.n === 'number' && body.n > 0 ? Math.min(body.n, 16) : 1;
  const seed = typeof body.seed === 'number' ? body.seed : seedOf(prompt);
  return Array.from({ length: n }, (_, i) =>
    generate({
      prompt,
      maxTokens: typeof body.max_tokens === 'number' ? Math.min(body.max_tokens, 256) : 24,
      temperature: typeof body.temperature === 'number' ? body.temperature : 0.7,
      seed: seed + i,
      logitBias: (body.logit_bias as Record<string, number>) ?? {},
      topLogprobs,
    }),
  );
}

function chatLogprobs(g: Generation) {
  return { content: g.steps.map((s) => ({ token: s.token, logprob: s.logprob, bytes: [...Buffer.from(s.token)], top_logprobs: s.top.map((t) => ({ ...t, bytes: [...Buffer.from(t.token)] })) })) };
}

function completionLogprobs(g: Generation) {
  return {
    tokens: g.steps.map((s) => s.token),
    token_logprobs: g.steps.map((s) => s.logprob),
    top_logprobs: g.steps.map((s) => Object.fromEntries(s.top.map((t) => [t.token, t.logprob]))),
    text_offset: g.steps.map((_, i) => i),
  };
}

function handleGenerate(req: IncomingMessage, res: ServerResponse, body: Json, chat: boolean): void {
  const prompt = promptText(body, chat);
  const wantLogprobs = chat ? body.logprobs === true : typeof body.logprobs === 'number';
  const top = chat ? Number(body.top_logprobs ?? 0) : Number(body.logprobs ?? 0);
  const gens = runGenerations(body, prompt, wantLogprobs ? Math.min(top, 20) : 0);
  const id = `demo-${seedOf(prompt).toString(16)}`;
  const created = Math.floor(Date.now() / 1000);
  const model = String(body.model ?? DEMO_MODEL);
  const usage = { prompt_tokens: countTokens(prompt), completion_tokens: gens.reduce((a, g) => a + g.tokens.length, 0), total_tokens: 0 };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  const echo = !chat && body.echo === true ? prompt : '';

  if (body.stream === true) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const object = chat ? 'chat.completion.chunk' : 'text_completion';
    const maxLen = Math.max(...gens.map((g) => g.tokens.length));
    for (let t = 0; t < maxLen; t++) {
      const choices = gens.flatMap((g, index) => {
        if (t >= g.tokens.length) return [];
        const piece = (t === 0 ? echo : '') + (t === 0 ? '' : ' ') + g.tokens[t];
        const lp = wantLogprobs ? { logprobs: chat ? chatLogprobs({ ...g, steps: [g.steps[t]!] }) : completionLogprobs({ ...g, steps: [g.steps[t]!] }) } : {};
        return [chat ? { index, delta: t === 0 ? { role: 'assistant', content: piece } : { content: piece }, finish_reason: null, ...lp } : { index, text: piece, finish_reason: null, ...lp }];
      });
      res.write(`data: ${JSON.stringify({ id, object, created, model, system_fingerprint: 'demo-fp', choices })}\n\n`);
    }
    const last = gens.map((g, index) => (chat ? { index, delta: {}, finish_reason: g.finishReason } : { index, text: '', finish_reason: g.finishReason }));
    res.write(`data: ${JSON.stringify({ id, object, created, model, choices: last })}\n\n`);
    if ((body.stream_options as Json | undefined)?.include_usage === true) res.write(`data: ${JSON.stringify({ id, object, created, model, choices: [], usage })}\n\n`);
    res.end('data: [DONE]\n\n');
    return;
  }

  const choices = gens.map((g, index) => {
    const text = echo + detokenize(g.tokens);
    const lp = wantLogprobs ? (chat ? chatLogprobs(g) : completionLogprobs(g)) : null;
    return chat
      ? { index, message: { role: 'assistant', content: text }, logprobs: lp, finish_reason: g.finishReason }
      : { index, text, logprobs: lp, finish_reason: g.finishReason };
  });
  send(res, 200, { id, object: chat ? 'chat.completion' : 'text_completion', created, model, system_fingerprint: 'demo-fp', choices, usage });
}

function handleEmbeddings(res: ServerResponse, body: Json): void {
  const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? '')];
  const dims = typeof body.dimensions === 'number' ? Math.min(body.dimensions, 64) : 64;
  const data = inputs.map((text, index) => {
    const v = embed(text).slice(0, dims);
    const embedding = body.encoding_format === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v;
    return { object: 'embedding', index, embedding };
  });
  const tokens = inputs.reduce((a, t) => a + countTokens(t), 0);
  send(res, 200, { object: 'list', model: String(body.model ?? DEMO_MODEL), data, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}

export function createDemoServer(): Server {
  return createServer((req, res) => {
    const url = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && url === '/v1/models') {
      send(res, 200, { object: 'list', data: [{ id: DEMO_MODEL, object: 'model', created: 0, owned_by: 'moat-demo' }] });
      return;
    }
    if (req.method !== 'POST') return send(res, 404, { error: { message: 'not found', type: 'invalid_request_error' } });
    readJson(req)
      .then((body) => {
        if (!body) return send(res, 400, { error: { message: 'invalid JSON', type: 'invalid_request_error' } });
        if (url === '/v1/chat/completions') return handleGenerate(req, res, body, true);
        if (url === '/v1/completions') return handleGenerate(req, res, body, false);
        if (url === '/v1/embeddings') return handleEmbeddings(res, body);
        send(res, 404, { error: { message: 'not found', type: 'invalid_request_error' } });
      })
      .catch(() => {
        if (!res.headersSent) send(res, 500, { error: { message: 'demo server error', type: 'server_error' } });
        else res.end();
      });
  });
}

/** Starts the demo upstream on 127.0.0.1 (port 0 = any free port); resolves to its base URL. */
export async function startDemoUpstream(port = 0): Promise<{ baseURL: string; close: () => Promise<void> }> {
  const server = createDemoServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: p } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${p}/v1`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
