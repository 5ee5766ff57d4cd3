// `npm run bench:audit` part 2: the gateway's throughput with the audit log on (SQLite, the
// default) against the same gateway with audit off, each in its own process in front of the
// static upstream, measured alternately in the same run. On a machine shared with other work,
// requests per second swing with the load; the CPU time each gateway process spends per request
// (all its threads, from /proc) is steadier, and its inverse is the throughput a core would give.
// Writes bench/results/gateway-audit.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { cpuMs, median, startServer, throughput } from './lib/harness.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const ROUNDS = Number(process.env.MOAT_BENCH_ROUNDS ?? 10);
const SECONDS = Number(process.env.MOAT_BENCH_SECONDS ?? 3);
const body = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'Describe the castle and its moat in one sentence.' }], max_tokens: 32 });

const upstream = await startServer(here('./servers/static-upstream.js'));
const on = await startServer(here('./servers/moat.js'), [upstream.url, '--audit', 'on']);
const off = await startServer(here('./servers/moat.js'), [upstream.url, '--audit', 'off']);
const target = (s) => ({ url: s.url, path: '/chat/completions', body, connections: 32, headers: { 'content-type': 'application/json', authorization: `Bearer ${s.key}` } });

async function measure(server) {
  const c0 = cpuMs(server.pid) ?? NaN;
  const r = await throughput({ ...target(server), seconds: SECONDS });
  return { ...r, cpu_ms_per_req: ((cpuMs(server.pid) ?? NaN) - c0) / r.total };
}

const runs = { on: [], off: [] };
try {
  await throughput({ ...target(on), seconds: 1 });
  await throughput({ ...target(off), seconds: 1 });
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate the order so that drift on a shared machine hits both alike.
    for (const name of r % 2 ? ['off', 'on'] : ['on', 'off']) runs[name].push(await measure(name === 'on' ? on : off));
  }
} finally {
  await Promise.all([on.stop(), off.stop(), upstream.stop()]);
}
// Pair each round's two runs: the ratio within a round is less exposed to load from elsewhere.
const ratios = runs.on.map((x, i) => x.rps / runs.off[i].rps);
const summary = {
  audit_on_rps: Math.round(median(runs.on.map((x) => x.rps))),
  audit_off_rps: Math.round(median(runs.off.map((x) => x.rps))),
  audit_on_p99_ms: median(runs.on.map((x) => x.p99_ms)),
  audit_off_p99_ms: median(runs.off.map((x) => x.p99_ms)),
  median_round_ratio: median(ratios),
  audit_on_cpu_ms_per_req: median(runs.on.map((x) => x.cpu_ms_per_req)),
  audit_off_cpu_ms_per_req: median(runs.off.map((x) => x.cpu_ms_per_req)),
  load_average: os.loadavg()[0],
};
summary.cpu_ratio = summary.audit_off_cpu_ms_per_req / summary.audit_on_cpu_ms_per_req;
const met = summary.median_round_ratio >= 0.9;
console.log(`audit on: ${summary.audit_on_rps} req/s (p99 ${summary.audit_on_p99_ms} ms)   audit off: ${summary.audit_off_rps} req/s (p99 ${summary.audit_off_p99_ms} ms)`);
console.log(`per-round ratios on/off: ${ratios.map((r) => (r * 100).toFixed(1) + '%').join(' ')}   median ${(summary.median_round_ratio * 100).toFixed(1)}%`);
console.log(`CPU per request: audit on ${summary.audit_on_cpu_ms_per_req.toFixed(3)} ms, off ${summary.audit_off_cpu_ms_per_req.toFixed(3)} ms: per core, audit on keeps ${(summary.cpu_ratio * 100).toFixed(1)}% of the throughput (load average ${summary.load_average.toFixed(1)} on ${os.cpus().length} cores)`);
console.log(`${met ? 'MET ' : 'MISS'}  gateway with audit on keeps >= 90% of its throughput with audit off (median of per-round ratios)`);
mkdirSync(here('./results'), { recursive: true });
writeFileSync(here('./results/gateway-audit.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, rounds: ROUNDS, seconds: SECONDS, summary, ratios, met, cpu_met: summary.cpu_ratio >= 0.9, raw: runs }, null, 2) + '\n');
console.log('wrote bench/results/gateway-audit.json');
