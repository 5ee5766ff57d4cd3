/**
 * The operator's OpenAI-compatible embedding model as the topic signal's source: texts are
 * queued, sent in batches to `<baseURL>/embeddings` (at most two requests in flight), projected
 * to the engine's dimension and cached by normalised text. The request path only ever reads the
 * cache or enqueues. After `failures` failed requests in a row the upstream counts as down: the
 * engine switches to the built-in lexical embedding, and one probe request every `retryMs`
 * brings it back. Logs never name the upstream address or its key.
 */
import type { Logger } from 'pino';
import { request } from 'undici';
import { EMBED_DIM, projectExternal } from './embedding.js';
import type { TopicSource } from './engine.js';
import type { EmbeddingsConfig } from './schema.js';

const MAX_INFLIGHT = 2;
const FLUSH_MS = 20;
const MAX_TEXT = 2_000;

interface Pending {
  text: string;
  ready: ((e: Int8Array) => void)[];
}

/** Reads `{"data":[{"index","embedding":[...]}]}`; throws when the answer is not that. */
export function parseEmbeddings(v: unknown, n: number): number[][] {
  const data = (v as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length !== n) throw new Error('malformed embeddings answer');
  const out: number[][] = new Array(n);
  data.forEach((d: unknown, k) => {
    const item = d as { index?: unknown; embedding?: unknown } | null;
    const i = typeof item?.index === 'number' ? item.index : k;
    if (!Array.isArray(item?.embedding) || i < 0 || i >= n || !item.embedding.every((x) => typeof x === 'number')) throw new Error('malformed embeddings answer');
    out[i] = item.embedding as number[];
  });
  if (out.some((e) => !e)) throw new Error('malformed embeddings answer');
  return out;
}

export class Embedder implements TopicSource {
  private readonly url: string;
  private readonly headers: Record<string, string>;
  private readonly cache = new Map<number, Int8Array>();
  private readonly queue = new Map<number, Pending>();
  private inflight = 0;
  private timer: NodeJS.Timeout | null = null;
  private failuresInRow = 0;
  private downSince = 0;
  private closed = false;
  /** Texts dropped because the queue was full, and upstream requests that failed (for operators and tests). */
  dropped = 0;
  failed = 0;
  embedded = 0;

  constructor(
    private readonly cfg: EmbeddingsConfig,
    private readonly log: Logger,
  ) {
    this.url = cfg.baseURL.replace(/\/+$/, '') + '/embeddings';
    this.headers = { 'content-type': 'application/json', ...(cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : {}) };
  }

  get up(): boolean {
    return this.downSince === 0;
  }

  embed(text: string, key: number, ready: (e: Int8Array) => void): Int8Array | null {
    const hit = this.cache.get(key);
    if (hit) return hit;
    if (!this.up || this.closed) return null;
    const p = this.queue.get(key);
    if (p) p.ready.push(ready);
    else if (this.queue.size >= this.cfg.maxQueue) this.dropped++;
    else this.queue.set(key, { text: text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) : text, ready: [ready] });
    this.schedule();
    return null;
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    const delay = this.queue.size >= this.cfg.batchSize ? 0 : FLUSH_MS;
    this.timer = setTimeout(() => {
      this.timer = null;
      while (this.inflight < MAX_INFLIGHT && this.queue.size > 0 && this.up) void this.send();
    }, delay);
    this.timer.unref();
  }

  private async send(): Promise<void> {
    const batch: [number, Pending][] = [];
    for (const entry of this.queue) {
      batch.push(entry);
      this.queue.delete(entry[0]);
      if (batch.length >= this.cfg.batchSize) break;
    }
    this.inflight++;
    try {
      const vectors = await this.post(batch.map(([, p]) => p.text));
      this.recovered();
      batch.forEach(([key, p], i) => {
        const e = projectExternal(vectors[i]!, new Int8Array(EMBED_DIM));
        this.remember(key, e);
        this.embedded++;
        for (const f of p.ready) f(e);
      });
    } catch (err) {
      this.failure(err);
    } finally {
      this.inflight--;
      if (this.queue.size > 0) this.schedule();
    }
  }

  private async post(input: string[]): Promise<number[][]> {
    const res = await request(this.url, {
      method: 'POST',
      headers: this.headers,
      body: JSON.stringify({ model: this.cfg.model, input }),
      headersTimeout: this.cfg.timeoutMs,
      bodyTimeout: this.cfg.timeoutMs,
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw Object.assign(new Error('embeddings upstream refused'), { code: `HTTP_${res.statusCode}` });
    }
    return parseEmbeddings(await res.body.json(), input.length);
  }

  private remember(key: number, e: Int8Array): void {
    if (this.cfg.cacheSize === 0) return;
    this.cache.set(key, e);
    if (this.cache.size > this.cfg.cacheSize) this.cache.delete(this.cache.keys().next().value!);
  }

  private failure(err: unknown): void {
    this.failed++;
    if (++this.failuresInRow < this.cfg.failures || !this.up) return;
    this.downSince = Date.now();
    this.queue.clear();
    // The address and key may be secrets: log the failure kind only.
    this.log.warn({ code: (err as { code?: string }).code ?? 'invalid_answer' }, 'detection embeddings upstream unavailable; using the built-in lexical embedding');
    this.probeLater();
  }

  private recovered(): void {
    this.failuresInRow = 0;
    if (this.up) return;
    this.downSince = 0;
    this.log.info('detection embeddings upstream is back; the topic signal uses it again');
  }

  private probeLater(): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      if (this.closed || this.up) return;
      this.post(['probe'])
        .then(() => this.recovered())
        .catch(() => this.probeLater());
    }, this.cfg.retryMs);
    t.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.queue.clear();
  }
}
