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
import { Redis } from 'ioredis';
import { cpuMs, median, startServer, throughput } from './lib/harness.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
const SECONDS = quick ? 3 : 6;
const body = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'Describe the castle and its moat in one sentence.' }], max_tokens: 32 });

/** CPU time (ms) the Redis server has used so far. */
async function redisCpuMs(redis) {
  const info = await redis.info('cpu');
  const v = (k) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return (v('used_cpu_sys') + v('used_cpu_user')) * 1000;
}

/**
 * One load run, with the CPU it cost: on a shared, noisy machine CPU per request is steadier
 * than requests per second, and it counts Redis's own work too.
 */
async function measured(server, target, redis) {
  const cpu0 = cpuMs(server.pid);
  const r0 = redis ? await redisCpuMs(redis) : 0;
  const r = await throughput({ ...target, connections: 32, seconds: SECONDS });
  const cpu1 = cpuMs(server.pid);
  const r1 = redis ? await redisCpuMs(redis) : 0;
  const moatUs = cpu0 === null ? NaN : ((cpu1 - cpu0) * 1000) / r.total;
  return { rps: r.rps, moat_cpu_us_per_req: moatUs, redis_cpu_us_per_req: ((r1 - r0) * 1000) / r.total };
}

async function storeComparison(upstreamUrl, profile, redis) {
  const servers = {
    memory: await startServer(here('./servers/moat.js'), [upstreamUrl, '--store', 'memory', '--profile', profile]),
    redis: await startServer(here('./servers/moat.js'), [upstreamUrl, '--store', 'redis', '--profile', profile]),
  };
  const target = (s) => ({ url: s.url, path: '/chat/completions', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${s.key}` } });
  const runs = { memory: [], redis: [] };
  try {
    for (const s of Object.values(servers)) await throughput({ ...target(s), connections: 32, seconds: 1 });
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['memory', 'redis'] : ['redis', 'memory'];
      for (const name of order) runs[name].push(await measured(servers[name], target(servers[name]), name === 'redis' ? redis : null));
    }
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
    for (const s of Object.values(servers)) rmSync(s.dataDir, { recursive: true, force: true });
  }
  const med = (name, k) => median(runs[name].map((x) => x[k]));
  const memory = Math.round(med('memory', 'rps'));
  const withRedis = Math.round(med('redis', 'rps'));
  const cpuMemory = med('memory', 'moat_cpu_us_per_req');
  const cpuRedis = med('redis', 'moat_cpu_us_per_req') + med('redis', 'redis_cpu_us_per_req');
  return {
    memory_rps_c32: memory,
    redis_rps_c32: withRedis,
    redis_vs_memory: withRedis / memory,
    memory_cpu_us_per_req: Math.round(cpuMemory),
    redis_cpu_us_per_req_incl_redis_server: Math.round(cpuRedis),
    /** Throughput one core would give with Redis, relative to memory, from CPU cost alone. */
    redis_vs_memory_by_cpu: cpuMemory / cpuRedis,
    raw: runs,
  };
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
const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
let stores;
try {
  await redis.connect();
  stores = { rpm: await storeComparison(upstream.url, 'rpm', redis), full: await storeComparison(upstream.url, 'full', redis) };
} finally {
  redis.disconnect();
  await upstream.stop();
}
const verification = await cachedVerification();

const targetsMet = {
  'Redis store keeps >= 80% of memory-store throughput (one rpm bucket)': stores.rpm.redis_vs_memory >= 0.8,
  'Redis store keeps >= 80% of memory-store throughput (full bucket set)': stores.full.redis_vs_memory >= 0.8,
  'cached key verification (authenticate) <= 20 us per request': verification.authenticate_us <= 20,
};
console.log('\nprofile   memory req/s@32   redis req/s@32   redis/memory   CPU us/req memory   CPU us/req redis (+server)   by CPU');
for (const [p, s] of Object.entries(stores)) {
  console.log(
    `${p.padEnd(8)} ${String(s.memory_rps_c32).padStart(16)} ${String(s.redis_rps_c32).padStart(16)} ${(s.redis_vs_memory * 100).toFixed(1).padStart(13)}% ${String(s.memory_cpu_us_per_req).padStart(19)} ${String(s.redis_cpu_us_per_req_incl_redis_server).padStart(28)} ${(s.redis_vs_memory_by_cpu * 100).toFixed(1).padStart(8)}%`,
  );
}
console.log(`\ncached verification: authenticate ${verification.authenticate_us.toFixed(2)} us/call, ApiKeys.verify ${verification.verify_us.toFixed(2)} us/call`);
for (const [k, v] of Object.entries(targetsMet)) console.log(`${v ? 'MET ' : 'MISS'}  ${k}`);
mkdirSync(here('./results'), { recursive: true });
writeFileSync(here('./results/identity.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, rounds: ROUNDS, seconds: SECONDS, stores, verification, targetsMet }, null, 2) + '\n');
console.log('\nwrote bench/results/identity.json');
