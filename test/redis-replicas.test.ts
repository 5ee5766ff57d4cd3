/**
 * Two Moat processes sharing one Redis hold one principal's limits exactly: under concurrent
 * load spread over both, they admit the limit and never more (requests per minute, requests in
 * flight, tokens). Needs Redis on 127.0.0.1:6379; skipped with a message when absent.
 */
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openIdentity } from '../src/cli/identity-context.js';
import { countPromptTokens, loadTokenizer } from '../src/limits/tokens.js';
import { startMoat } from './helpers/cli.js';
import { tempDir } from './helpers/gateway.js';
import { REDIS_URL, redisAvailable } from './helpers/redis.js';
import { chatAnswer, startScriptedUpstream } from './helpers/scripted-upstream.js';

const hasRedis = await redisAvailable();
if (!hasRedis) console.warn(`SKIPPED: two-process Redis limits test (no Redis at ${REDIS_URL})`);

const run = `${process.pid.toString(36)}${Date.now().toString(36)}`;
const messages = [{ role: 'user', content: 'Describe the castle.' }];
let dir: string;
let up: Awaited<ReturnType<typeof startScriptedUpstream>>;
let delayMs = 0;
let servers: Array<Awaited<ReturnType<typeof startMoat>>> = [];
let urls: string[] = [];
const keys: Record<string, string> = {};

async function burst(key: string, count: number, body: Record<string, unknown> = {}) {
  const started = Date.now();
  const statuses = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const res = await request(`${urls[i % 2]}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'moat-demo', messages, ...body }),
      });
      await res.body.dump();
      return res.statusCode;
    }),
  );
  return { admitted: statuses.filter((s) => s === 200).length, refused: statuses.filter((s) => s === 429).length, elapsedMs: Date.now() - started, statuses };
}

describe.skipIf(!hasRedis)('limits across two Moat processes sharing Redis', () => {
  beforeAll(async () => {
    dir = tempDir('moat-replicas-');
    up = await startScriptedUpstream((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(chatAnswer('ok')));
      }, delayMs);
    });
    const ctx = await openIdentity({ dataDir: dir });
    try {
      const make = async (name: string, limits: Record<string, number>) => (keys[name] = (await ctx.admin.createKey({ principal: `${name}-${run}`, tenant: `t-${run}`, limits })).key);
      await make('rpm', { rpm: 10 });
      await make('conc', { concurrency: 3, rpm: 0 });
      await make('tpm', { tpm: 1000, rpm: 0 });
    } finally {
      await ctx.close();
    }
    const args = ['serve', '--upstream', up.baseURL, '--model', 'moat-demo', '--redis', REDIS_URL, '--port', '0', '--data-dir', dir];
    servers = await Promise.all([startMoat(args, /at (http:\/\/\S+\/v1)/), startMoat(args, /at (http:\/\/\S+\/v1)/)]);
    urls = servers.map((s) => s.match[1]!);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await up?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('requests per minute: 40 concurrent requests over both processes, exactly 10 admitted', async () => {
    const r = await burst(keys.rpm!, 40);
    // 10 per minute refills one request every 6 s; a slow run may legitimately earn that many more.
    const allowance = Math.floor(r.elapsedMs / 6_000);
    expect(r.admitted + r.refused, `statuses ${r.statuses.join(" ")}`).toBe(40);
    expect(r.admitted).toBeGreaterThanOrEqual(10);
    expect(r.admitted).toBeLessThanOrEqual(10 + allowance);
    if (allowance === 0) expect(r.admitted).toBe(10);
  });

  it('requests in flight: 12 concurrent slow requests over both processes, exactly 3 admitted', async () => {
    delayMs = 2_000;
    try {
      const r = await burst(keys.conc!, 12);
      expect(r.admitted, `statuses ${r.statuses.join(' ')}`).toBe(3);
      expect(r.refused, `statuses ${r.statuses.join(' ')}`).toBe(9);
    } finally {
      delayMs = 0;
    }
    // The slots came back as those answers completed, on both processes (a moment for the store call).
    await sleep(100);
    const again = await burst(keys.conc!, 2);
    expect(again.admitted).toBe(2);
  });

  it('tokens per minute: reservations over both processes never exceed the limit', async () => {
    const perRequest = countPromptTokens('chat', { messages }, await loadTokenizer()) + 200;
    delayMs = 2_000; // nothing settles while the burst is being admitted
    try {
      const r = await burst(keys.tpm!, 16, { max_tokens: 200 });
      const refill = Math.floor((r.elapsedMs * 1000) / 60_000);
      expect(r.admitted).toBeGreaterThanOrEqual(Math.floor(1000 / perRequest));
      expect(r.admitted).toBeLessThanOrEqual(Math.floor((1000 + refill) / perRequest));
    } finally {
      delayMs = 0;
    }
  });
});
