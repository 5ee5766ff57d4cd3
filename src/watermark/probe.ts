/**
 * The probe client: asks a suspect OpenAI-compatible endpoint to answer prompts, one request at a
 * time, at most `maxRequests` requests and at most `rps` per second, and returns the answers for
 * detection. The API key is sent only as the Authorization header and never reported.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

export const PROBE_MAX_REQUESTS = 200;
export const PROBE_MAX_RPS = 10;

export interface ProbeOptions {
  endpoint: string;
  model: string;
  apiKey?: string | undefined;
  prompts: readonly string[];
  maxRequests: number;
  rps: number;
  maxTokens: number;
  timeoutMs: number;
  /** Stops after this many failures in a row (a dead or refusing endpoint). */
  maxConsecutiveFailures?: number;
}

export interface ProbeResult {
  answers: string[];
  requests: number;
  failures: number;
  /** Status codes or error kinds seen, counted (never bodies: they may echo secrets). */
  errors: Record<string, number>;
}

function chatURL(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return base.endsWith('/chat/completions') ? base : `${base}/chat/completions`;
}

export async function probe(o: ProbeOptions): Promise<ProbeResult> {
  const url = chatURL(o.endpoint);
  const n = Math.min(o.maxRequests, o.prompts.length, PROBE_MAX_REQUESTS);
  const gapMs = 1000 / Math.min(Math.max(o.rps, 0.01), PROBE_MAX_RPS);
  const maxFail = o.maxConsecutiveFailures ?? 5;
  const out: ProbeResult = { answers: [], requests: 0, failures: 0, errors: {} };
  let inARow = 0;
  const fail = (kind: string) => {
    out.failures++;
    inARow++;
    out.errors[kind] = (out.errors[kind] ?? 0) + 1;
  };
  for (let i = 0; i < n && inARow < maxFail; i++) {
    const started = Date.now();
    out.requests++;
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
        body: JSON.stringify({ model: o.model, messages: [{ role: 'user', content: o.prompts[i] }], max_tokens: o.maxTokens }),
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) fail(`http_${res.statusCode}`);
      else {
        const content = (JSON.parse(text) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
        if (typeof content === 'string') {
          out.answers.push(content);
          inARow = 0;
        } else fail('no_content');
      }
    } catch (e) {
      fail((e as { code?: string }).code ?? (e instanceof SyntaxError ? 'bad_json' : 'network'));
    }
    const wait = gapMs - (Date.now() - started);
    if (wait > 0 && i + 1 < n) await sleep(wait);
  }
  return out;
}
