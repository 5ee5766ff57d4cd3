/**
 * The undici client for one OpenAI-compatible upstream. It hides the transport behind
 * `post()` so the pipeline only sees `{status, headers, body}`, and turns every transport
 * failure into a MoatError that never names the upstream address. TLS certificates are
 * verified (undici's default), unlike some proxy libraries.
 */
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import { MoatError } from '../errors.js';
import type { UpstreamConfig } from '../config/schema.js';

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

export type Timeouts = UpstreamConfig['timeouts'];

export class Upstream {
  readonly basePath: string;
  readonly origin: string;
  private readonly authHeader: string | null;

  constructor(
    private readonly pool: Dispatcher,
    cfg: UpstreamConfig,
  ) {
    const url = new URL(cfg.baseURL);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.authHeader = cfg.apiKey ? `Bearer ${cfg.apiKey}` : null;
    this.timeouts = cfg.timeouts;
  }

  readonly timeouts: Timeouts;

  /**
   * POSTs a JSON payload. For streams the header wait is bounded by the time-to-first-token
   * timeout and the silence between chunks by the idle timeout; otherwise both by the total.
   */
  async post(path: string, payload: string, opts: { signal: AbortSignal; stream: boolean }): Promise<UpstreamResponse> {
    const t = this.timeouts;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: opts.stream ? 'text/event-stream' : 'application/json',
    };
    if (this.authHeader) headers.authorization = this.authHeader;
    try {
      const res = await this.pool.request({
        method: 'POST',
        path: this.basePath + path,
        headers,
        body: payload,
        signal: opts.signal,
        headersTimeout: opts.stream ? t.firstTokenMs : t.totalMs,
        // Streams: the first-token and idle timeouts are enforced by the stream writer's
        // watchdog; undici's own body timeout stays as a backstop above both.
        bodyTimeout: opts.stream ? Math.max(t.firstTokenMs, t.idleMs) + 1000 : t.totalMs,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body };
    } catch (err) {
      throw toMoatError(err, t, opts.stream ? 'first-token' : 'response');
    }
  }

  async getJson(path: string, signal: AbortSignal): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.authHeader) headers.authorization = this.authHeader;
    try {
      const res = await this.pool.request({ method: 'GET', path: this.basePath + path, headers, signal, headersTimeout: this.timeouts.connectMs, bodyTimeout: this.timeouts.connectMs });
      const text = await res.body.text();
      let body: unknown = null;
      try {
        body = JSON.parse(text);
      } catch {
        /* not JSON: the caller sees body null */
      }
      return { status: res.statusCode, body };
    } catch (err) {
      throw toMoatError(err, this.timeouts, 'response');
    }
  }
}

/** Maps a transport error to the catalogue; the cause is kept for the server log only. */
export function toMoatError(err: unknown, t: Timeouts, phase: 'first-token' | 'response' | 'idle'): MoatError {
  if (err instanceof MoatError) return err;
  const code = (err as { code?: string }).code;
  if (err instanceof undiciErrors.HeadersTimeoutError || code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new MoatError('UPSTREAM_TIMEOUT', { phase, ms: phase === 'first-token' ? t.firstTokenMs : t.totalMs }, { cause: err });
  }
  if (err instanceof undiciErrors.BodyTimeoutError || code === 'UND_ERR_BODY_TIMEOUT') {
    return new MoatError('UPSTREAM_TIMEOUT', { phase: 'idle', ms: t.idleMs }, { cause: err });
  }
  if (err instanceof undiciErrors.ConnectTimeoutError || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new MoatError('UPSTREAM_TIMEOUT', { phase: 'connect', ms: t.connectMs }, { cause: err });
  }
  return new MoatError('UPSTREAM_FAILED', {}, { cause: err });
}

export function createPool(origin: string, cfg: UpstreamConfig): Pool {
  return new Pool(origin, {
    connections: cfg.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connect: { timeout: cfg.timeouts.connectMs },
  });
}
