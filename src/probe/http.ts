/**
 * The probe's HTTP client: every request counts against a budget (--max-requests) and is paced
 * (--rate), so a probe can never turn into a load test. Answers are read whole, bounded in size.
 */
import { request } from 'undici';

export interface ProbeResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: unknown;
  /** Server-sent events decoded as JSON (streamed answers). */
  events: unknown[];
}

export class BudgetExhausted extends Error {
  constructor(readonly max: number) {
    super(`the request budget of ${max} is spent`);
  }
}

export interface ClientOptions {
  baseURL: URL;
  apiKey?: string;
  maxRequests: number;
  /** Requests per second. */
  rate: number;
  timeoutMs: number;
}

export interface SendOptions {
  method?: 'GET' | 'POST';
  /** JSON value, or a raw string sent as is (for malformed bodies). */
  body?: unknown;
  /** 'key' sends --api-key (if any); 'none' sends no credentials; a string is sent as the bearer token. */
  auth?: 'key' | 'none' | { bearer: string };
  headers?: Record<string, string>;
  /** Skip pacing (back-to-back requests for the rate-limit check's paired comparisons). */
  immediate?: boolean;
}

const MAX_BODY = 2_000_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ProbeClient {
  sent = 0;
  private last = 0;

  constructor(readonly o: ClientOptions) {}

  get remaining(): number {
    return this.o.maxRequests - this.sent;
  }

  /** `path` is relative to the base URL, e.g. 'chat/completions'. */
  async send(path: string, s: SendOptions = {}): Promise<ProbeResponse> {
    if (this.sent >= this.o.maxRequests) throw new BudgetExhausted(this.o.maxRequests);
    if (!s.immediate) {
      const gap = 1000 / this.o.rate - (Date.now() - this.last);
      if (gap > 0) await sleep(gap);
    }
    this.sent++;
    this.last = Date.now();
    const headers: Record<string, string> = { accept: 'application/json, text/event-stream', ...s.headers };
    const auth = s.auth ?? 'key';
    if (auth === 'key' && this.o.apiKey) headers.authorization = `Bearer ${this.o.apiKey}`;
    else if (typeof auth === 'object') headers.authorization = `Bearer ${auth.bearer}`;
    let body: string | undefined;
    if (s.body !== undefined) {
      body = typeof s.body === 'string' ? s.body : JSON.stringify(s.body);
      headers['content-type'] = 'application/json';
    }
    const url = new URL(path, this.o.baseURL.href.endsWith('/') ? this.o.baseURL : new URL(`${this.o.baseURL.href}/`));
    const r = await request(url, { method: s.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, headersTimeout: this.o.timeoutMs, bodyTimeout: this.o.timeoutMs });
    let text = '';
    for await (const chunk of r.body) {
      if (text.length < MAX_BODY) text += (chunk as Buffer).toString('utf8');
    }
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON: an event stream or an HTML error page */
    }
    const events: unknown[] = [];
    if (json === null && /text\/event-stream/.test(flat['content-type'] ?? '')) {
      for (const line of text.split('\n')) {
        const data = /^data:\s?(.*)$/.exec(line.trim())?.[1];
        if (!data || data === '[DONE]') continue;
        try {
          events.push(JSON.parse(data));
        } catch {
          /* a non-JSON event */
        }
      }
    }
    return { status: r.statusCode, headers: flat, text, json, events };
  }
}

/** An OpenAI-style error code or message of an answer, for evidence lines. */
export function errorSummary(r: ProbeResponse): string {
  const e = (r.json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const what = e ? String(e.code ?? e.message ?? '').slice(0, 80) : r.text.slice(0, 80).replace(/\s+/g, ' ');
  return what ? `${r.status} ${what}` : String(r.status);
}
