// `npm run bench:identity`: the identity and limits benchmark.
//  1. The whole pipeline with limits in Redis against the same with limits in memory (same run,
//     alternating order), for two profiles: one rpm bucket, and the full set of buckets (rpm, tpm,
//     tpd, concurrency for principal and tenant, with token counting and settlement).
//  2. Cached API-key verification, in process: the authenticator on a key it has seen, per call.
// Needs Redis on 127.0.0.1:6379 for part 1. Writes bench/results/identity.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, startServer, throughput } from './lib/harness.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
const SECONDS = quick ? 3 : 6;
const body = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'Describe the castle and its moat in one sentence.' }], max_tokens: 32 });

async function storeComparison(upstreamUrl, profile) {
  const servers = {
    memory: await startServer(here('./servers/moat-limits.js'), [upstreamUrl, 'memory', profile]),
    redis: await startServer(here('./servers/moat-limits.js'), [upstreamUrl, 'redis', profile]),
  };
  const target = (s) => ({ url: s.url, path: '/chat/completions', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${s.key}` } });
  const rps = { memory: [], redis: [] };
  try {
    for (const s of Object.values(servers)) await throughput({ ...target(s), connections: 32, seconds: 1 });
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['memory', 'redis'] : ['redis', 'memory'];
      for (const name of order) rps[name].push((await throughput({ ...target(servers[name]), connections: 32, seconds: SECONDS })).rps);
    }
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
    for (const s of Object.values(servers)) rmSync(s.dataDir, { recursive: true, force: true });
  }
  const memory = Math.round(median(rps.memory));
  const redis = Math.round(median(rps.redis));
  return { memory_rps_c32: memory, redis_rps_c32: redis, redis_vs_memory: redis / memory, raw: rps };
}

async function cachedVerification() {
  const { SqliteIdentityStore } = await import('../dist/identity/sqlite-store.js');
  const { ApiKeys } = await import('../dist/identity/api-keys.js');
  const { Authenticator } = await import('../dist/identity/authenticator.js');
  const { AuthThrottle } = await import('../dist/identity/auth-throttle.js');
  const { MemoryQuotaStore } = await import('../dist/limits/memory-store.js');
  const dir = mkdtempSync(join(tmpdir(), 'moat-bench-keys-'));
  const store = new SqliteIdentityStore(dir);
  const quotas = new MemoryQuotaStore();
  try {
    const keys = new ApiKeys(store, Buffer.alloc(32, 7), 60_000);
    const throttle = new AuthThrottle(quotas, { perAddress: { failures: 30, windowMs: 60_000 }, perKeyPrefix: { failures: 10, windowMs: 60_000 }, knownGoodTtlMs: 86_400_000 });
    const auth = new Authenticator(keys, null, throttle);
    const { key } = await keys.create({ principal: 'bench' });
    const headers = { authorization: `Bearer ${key}` };
    const N = quick ? 50_000 : 200_000;
    const perCall = async (fn) => {
      for (let i = 0; i < 5_000; i++) await fn(); // warm up: JIT, caches, known-good mark
      const samples = [];
      for (let r = 0; r < 5; r++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < N / 5; i++) await fn();
        samples.push(Number(process.hrtime.bigint() - t0) / 1000 / (N / 5));
      }
      return median(samples);
    };
    return {
      authenticate_us: await perCall(() => auth.authenticate(headers, '127.0.0.1', 'inference')),
      verify_us: await perCall(() => keys.verify(key)),
      calls: N,
    };
  } finally {
    await quotas.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const upstream = await startServer(here('./servers/static-upstream.js'));
let stores;
try {
  stores = { rpm: await storeComparison(upstream.url, 'rpm'), full: await storeComparison(upstream.url, 'full') };
} finally {
  await upstream.stop();
}
const verification = await cachedVerification();

const targetsMet = {
  'Redis store keeps >= 80% of memory-store throughput (one rpm bucket)': stores.rpm.redis_vs_memory >= 0.8,
  'Redis store keeps >= 80% of memory-store throughput (full bucket set)': stores.full.redis_vs_memory >= 0.8,
  'cached key verification (authenticate) <= 20 us per request': verification.authenticate_us <= 20,
};
console.log('\nprofile   memory req/s@32   redis req/s@32   redis/memory');
for (const [p, s] of Object.entries(stores)) console.log(`${p.padEnd(8)} ${String(s.memory_rps_c32).padStart(16)} ${String(s.redis_rps_c32).padStart(16)} ${(s.redis_vs_memory * 100).toFixed(1).padStart(13)}%`);
console.log(`\ncached verification: authenticate ${verification.authenticate_us.toFixed(2)} us/call, ApiKeys.verify ${verification.verify_us.toFixed(2)} us/call`);
for (const [k, v] of Object.entries(targetsMet)) console.log(`${v ? 'MET ' : 'MISS'}  ${k}`);
mkdirSync(here('./results'), { recursive: true });
writeFileSync(here('./results/identity.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, rounds: ROUNDS, seconds: SECONDS, stores, verification, targetsMet }, null, 2) + '\n');
console.log('\nwrote bench/results/identity.json');
