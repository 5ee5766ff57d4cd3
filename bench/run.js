// `npm run bench`: the gateway-core benchmark. Starts a static upstream, a bare node:http +
// undici proxy (the ceiling for one Node process) and Moat with its whole pipeline, each in its
// own process, and measures all three in the same run: latency at concurrency 1, throughput at
// concurrency 32, and streaming time to first byte. Prints ratios; writes bench/results/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpuMs, latencyAtOne, median, startServer, throughput, ttfbAtOne } from './lib/harness.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
const SECONDS = quick ? 3 : 6;
const SEQ = quick ? 300 : 2000;

const body = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'Describe the castle and its moat in one sentence.' }], max_tokens: 32 });
const streamBody = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'Describe the castle.' }], max_tokens: 32, stream: true });

const upstream = await startServer(here('./servers/static-upstream.js'));
const bare = await startServer(here('./servers/bare-proxy.js'), [upstream.url]);
const moat = await startServer(here('./servers/moat.js'), [upstream.url]);

const targets = {
  upstream: { url: upstream.url, pid: upstream.pid, headers: { 'content-type': 'application/json' } },
  bare_proxy: { url: bare.url, pid: bare.pid, headers: { 'content-type': 'application/json' } },
  moat: { url: moat.url, pid: moat.pid, headers: { 'content-type': 'application/json', authorization: `Bearer ${moat.key}` } },
};

/** Throughput at c=32, plus the CPU the target process itself spent per request. */
async function measureC32(t) {
  const c0 = cpuMs(t.pid);
  const r = await throughput({ ...t, path: '/chat/completions', body, connections: 32, seconds: SECONDS });
  const c1 = cpuMs(t.pid);
  return { ...r, cpu_us_per_req: c0 === null || c1 === null ? null : ((c1 - c0) * 1000) / r.total };
}

const results = {};
try {
  for (const [name, t] of Object.entries(targets)) {
    // Warm up connections, JIT and caches before measuring.
    await throughput({ ...t, path: '/chat/completions', body, connections: 32, seconds: 1 });
    results[name] = { c32: [], c1: null, ttfb: null };
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order each round so that drift on a shared machine hits every target alike.
    const order = round % 2 === 0 ? Object.keys(targets) : Object.keys(targets).reverse();
    for (const name of order) {
      results[name].c32.push(await measureC32(targets[name]));
    }
  }
  for (const [name, t] of Object.entries(targets)) {
    results[name].c1 = await latencyAtOne({ ...t, path: '/chat/completions', body, requests: SEQ });
    results[name].ttfb = await ttfbAtOne({ ...t, path: '/chat/completions', body: streamBody, requests: Math.round(SEQ / 2) });
  }
} finally {
  await Promise.all([moat.stop(), bare.stop(), upstream.stop()]);
}

const summary = {};
for (const [name, r] of Object.entries(results)) {
  summary[name] = {
    rps_c32: Math.round(median(r.c32.map((x) => x.rps))),
    p50_ms_c32: median(r.c32.map((x) => x.p50_ms)),
    p99_ms_c32: median(r.c32.map((x) => x.p99_ms)),
    p50_us_c1: Math.round(r.c1.p50_us),
    p99_us_c1: Math.round(r.c1.p99_us),
    ttfb_p50_us: Math.round(r.ttfb.p50_us),
    cpu_us_per_req_c32: Math.round(median(r.c32.map((x) => x.cpu_us_per_req ?? NaN))),
  };
}
const ratios = {
  moat_vs_bare_rps_c32: summary.moat.rps_c32 / summary.bare_proxy.rps_c32,
  // Requests per CPU-second, Moat against the bare proxy: what the throughput ratio would be if
  // each had the cores to itself (the load generator and upstream share this machine's two).
  moat_vs_bare_per_core: summary.bare_proxy.cpu_us_per_req_c32 / summary.moat.cpu_us_per_req_c32,
  moat_added_p50_us_c1_vs_bare: summary.moat.p50_us_c1 - summary.bare_proxy.p50_us_c1,
  moat_added_p50_us_c1_vs_upstream: summary.moat.p50_us_c1 - summary.upstream.p50_us_c1,
  moat_added_ttfb_us_vs_bare: summary.moat.ttfb_p50_us - summary.bare_proxy.ttfb_p50_us,
};
const targetsMet = {
  'throughput >= 70% of bare proxy at c=32': ratios.moat_vs_bare_rps_c32 >= 0.7,
  'added p50 <= 300 us at c=1 (vs bare proxy)': ratios.moat_added_p50_us_c1_vs_bare <= 300,
  'streaming adds <= 1 ms to time to first byte (vs bare proxy)': ratios.moat_added_ttfb_us_vs_bare <= 1000,
};

console.log('\ntarget       req/s@32   p50@32 ms  p99@32 ms   p50@1 us   p99@1 us   TTFB p50 us   CPU us/req');
for (const [name, s] of Object.entries(summary)) {
  console.log(
    `${name.padEnd(12)} ${String(s.rps_c32).padStart(8)} ${s.p50_ms_c32.toFixed(2).padStart(10)} ${s.p99_ms_c32.toFixed(2).padStart(10)} ${String(s.p50_us_c1).padStart(10)} ${String(s.p99_us_c1).padStart(10)} ${String(s.ttfb_p50_us).padStart(13)} ${String(s.cpu_us_per_req_c32).padStart(12)}`,
  );
}
console.log(`\nMoat / bare proxy throughput at c=32: ${(ratios.moat_vs_bare_rps_c32 * 100).toFixed(1)}% (per CPU-second: ${(ratios.moat_vs_bare_per_core * 100).toFixed(1)}%)`);
console.log(`Moat added p50 latency at c=1: ${ratios.moat_added_p50_us_c1_vs_bare} us vs bare proxy, ${ratios.moat_added_p50_us_c1_vs_upstream} us vs direct upstream`);
console.log(`Moat added streaming TTFB p50: ${ratios.moat_added_ttfb_us_vs_bare} us vs bare proxy`);
for (const [k, v] of Object.entries(targetsMet)) console.log(`${v ? 'MET ' : 'MISS'}  ${k}`);

mkdirSync(here('./results'), { recursive: true });
writeFileSync(
  here('./results/latest.json'),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, rounds: ROUNDS, seconds: SECONDS, summary, ratios, targetsMet, raw: results }, null, 2) + '\n',
);
console.log('\nwrote bench/results/latest.json');
