/** The probe's pure judgements: log-probabilities, embedding precision, error leaks, limits, URLs. */
import { describe, expect, it } from 'vitest';
import { choiceCount, countLogprobs, decimalsNeeded, embeddingVectors, errorLeaks, textOf } from '../../src/probe/judge.js';
import { announcedLimit } from '../../src/probe/rate-limit.js';
import { normalizeBase, ProbeError } from '../../src/probe/run.js';

const base = new URL('http://127.0.0.1:8080/v1');

describe('answers', () => {
  it('counts log-probabilities in chat, legacy and vLLM formats; none when withheld', () => {
    expect(countLogprobs({ choices: [{ logprobs: { content: [{ token: 'a', logprob: -0.1, top_logprobs: [{ token: 'a', logprob: -0.1 }, { token: 'b', logprob: -2 }] }] } }] })).toBe(3);
    expect(countLogprobs({ choices: [{ text: 'x', logprobs: { tokens: ['x'], token_logprobs: [-0.5], top_logprobs: [{ x: -0.5 }], text_offset: [0] } }] })).toBe(2);
    expect(countLogprobs({ choices: [{ message: { content: 'x' } }], prompt_logprobs: [null, { 12: { logprob: -1.5 } }] })).toBe(1);
    expect(countLogprobs({ choices: [{ message: { content: 'x' }, logprobs: null }] })).toBe(0);
    expect(countLogprobs({ choices: [{ index: 0, message: { content: 'x' } }], usage: { prompt_tokens: 3 } })).toBe(0);
  });
  it('text and choices', () => {
    expect(textOf({ choices: [{ message: { content: 'hi' } }] })).toBe('hi');
    expect(textOf({ choices: [{ text: 'yo' }] })).toBe('yo');
    expect(choiceCount({ choices: [{}, {}, {}] })).toBe(3);
    expect(choiceCount({ error: {} })).toBe(0);
  });
  it('embedding vectors from floats and base64; precision tells raw from hardened', () => {
    const raw = [0.123456789, -0.987654321, 0.5];
    const b64 = Buffer.from(new Float32Array(raw).buffer).toString('base64');
    const vs = embeddingVectors({ data: [{ embedding: raw }, { embedding: b64 }] });
    expect(vs).toHaveLength(2);
    expect(vs[1]![0]).toBeCloseTo(0.123456789, 6);
    expect(decimalsNeeded(vs)).toBeGreaterThanOrEqual(6);
    const rounded = [0.1235, -0.9877, 0.5];
    expect(decimalsNeeded(embeddingVectors({ data: [{ embedding: Buffer.from(new Float32Array(rounded).buffer).toString('base64') }] }))).toBeLessThanOrEqual(4);
    expect(decimalsNeeded([[0.25, -0.5, 1]])).toBe(2);
  });
});

describe('error leaks', () => {
  it('finds stack traces, source paths, tracebacks, internal addresses and database errors', () => {
    expect(errorLeaks(JSON.stringify({ error: { message: 'TypeError: x is undefined\n    at handle (/srv/app/server.js:43:39)' } }), base).join()).toMatch(/stack trace/);
    expect(errorLeaks('Traceback (most recent call last):\n  File "/app/main.py", line 12, in chat', base).join()).toMatch(/Python traceback/);
    expect(errorLeaks('{"detail": "upstream http://10.0.3.7:8000/v1/chat/completions failed"}', base).join()).toMatch(/internal address/);
    expect(errorLeaks('connect ECONNREFUSED 127.0.0.1:8001', base).join()).toMatch(/network error|internal address/);
    expect(errorLeaks('ERROR: relation "keys" does not exist SQLSTATE 42P01', base).join()).toMatch(/database/);
  });
  it('an opaque OpenAI-shaped error, or one naming the endpoint itself, is clean', () => {
    expect(errorLeaks('{"error":{"message":"The request body is not valid JSON (Unexpected end of JSON input).","type":"invalid_request_error","code":"MOAT_ERR_BAD_JSON"}}', base)).toEqual([]);
    expect(errorLeaks('{"error":{"message":"No route GET /v1/x. See http://127.0.0.1:8080/v1/models"}}', base)).toEqual([]);
    expect(errorLeaks('{"detail":[{"type":"missing","loc":["body","messages"],"msg":"Field required"}]}', base)).toEqual([]);
    // FastAPI's standard 422 links to the validation docs: a public help URL, not an internal address.
    expect(errorLeaks('{"detail":[{"type":"missing","loc":["body","messages"],"msg":"Field required","input":{},"url":"https://errors.pydantic.dev/2.9/v/missing"}]}', base)).toEqual([]);
  });
  it('upstream URLs are leaks: private hosts, service names, ports, inference paths', () => {
    for (const u of ['http://vllm:8000/v1', 'https://llm.prod.internal/generate', 'http://10.1.2.3/x', 'https://api.provider.example/v1/chat/completions', 'http://gpu-box.example:8443/']) {
      expect(errorLeaks(`{"error": "upstream ${u} failed"}`, base), u).not.toEqual([]);
    }
  });
});

describe('limits and URLs', () => {
  it('reads announced limits from IETF RateLimit and X-RateLimit headers', () => {
    expect(announcedLimit({ 'ratelimit-policy': '"rpm";q=600;w=60', ratelimit: '"rpm";r=587;t=2' })).toEqual({ limit: 600, remaining: 587 });
    expect(announcedLimit({ 'x-ratelimit-limit-requests': '100', 'x-ratelimit-remaining-requests': '99' })).toEqual({ limit: 100, remaining: 99 });
    expect(announcedLimit({})).toEqual({ limit: null, remaining: null });
  });
  it('normalizes the base URL and refuses credentials in it', () => {
    expect(normalizeBase('http://127.0.0.1:8080').href).toBe('http://127.0.0.1:8080/v1');
    expect(normalizeBase('http://127.0.0.1:8080/openai/v1/').href).toBe('http://127.0.0.1:8080/openai/v1');
    expect(() => normalizeBase('http://user:secret@127.0.0.1/v1')).toThrow(ProbeError);
    expect(() => normalizeBase('ftp://x')).toThrow(/http/);
    expect(() => normalizeBase('not a url')).toThrow(/not a URL/);
  });
});
