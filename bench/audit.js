// `npm run bench:audit` part 1: how many audit records per second the SQLite sink writes, through
// the same path as the gateway (records built and appended on the "request path" under the bounded
// queue's backpressure, written in batched, hash-chained, checkpointed transactions on the sink's
// own timer). Baseline in the same run: building the same records and INSERTing their JSON into a
// bare table, no chain, no checkpoints. Also reports the longest event-loop stall a flush
// caused on the main thread (the writes themselves run on the writer thread). Writes bench/results/audit.json.
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';
import { pino } from 'pino';
import { loadSigner } from '../dist/audit/signing-key.js';
import { SqliteAuditSink } from '../dist/audit/sqlite-sink.js';
import { packRows } from '../dist/audit/sqlite-store.js';
import { verifyLog } from '../dist/audit/verify.js';
import { median } from './lib/harness.js';

const N = Number(process.env.MOAT_BENCH_RECORDS ?? 100_000);
const ROUNDS = 3;
const here = (p) => fileURLToPath(new URL(p, import.meta.url));

/** A record shaped like a real chat request's: a short conversation, the usual parameters. */
function record(i) {
  return {
    kind: 'request',
    ts: new Date(Date.now()).toISOString(),
    requestId: `req_bench${i.toString(36).padStart(8, '0')}`,
    principal: `user-${i % 200}`,
    tenant: `tenant-${i % 7}`,
    keyId: `key_${(i % 200).toString(36)}`,
    sourceIp: '10.0.0.' + (i % 250),
    route: 'chat',
    model: 'llama-3.1-8b',
    stream: i % 3 === 0,
    params: { model: 'llama-3.1-8b', max_tokens: 256, temperature: 0.7 },
    prompt: [
      { role: 'system', content: 'You are a helpful assistant that answers questions about castles and their defences.' },
      { role: 'user', content: `Question number ${i}: how deep was the moat around the castle, and who kept the gate?` },
    ],
    promptMode: 'full',
    outcome: i % 20 === 0 ? 'denied' : 'allowed',
    status: i % 20 === 0 ? 400 : 200,
    errorCode: null,
    rules: i % 20 === 0 ? ['deny:logit_bias'] : [],
    promptTokens: 48,
    completionTokens: 120,
    outputBytes: 812,
    latencyMs: 231.5,
    risk: null,
  };
}

async function sinkRun() {
  const dir = mkdtempSync(join(tmpdir(), 'moat-bench-audit-'));
  const seal = { signer: loadSigner(dir), everyRecords: 10_000, everyMs: 10_000 };
  const sink = new SqliteAuditSink(dir, { flushMs: 50, maxQueue: 10_000, seal, log: pino({ level: 'warn' }) });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  // Like the gateway: records are built (by the audit stage) and appended in bursts from many
  // concurrent requests, and the producer holds back while the bounded queue is full.
  for (let i = 0; i < N; ) {
    if (sink.accepting()) for (const end = Math.min(N, i + 500); i < end; i++) sink.append(record(i));
    // While the queue is full, wait a millisecond rather than spin (a spin would be counted as the sink's CPU).
    await new Promise((r) => (sink.accepting() ? setImmediate(r) : setTimeout(r, 1)));
  }
  while (sink.queued() > 0) await new Promise((r) => setTimeout(r, 5));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  await sink.close();
  const store = new (await import('../dist/audit/sqlite-store.js')).SqliteAuditStore(join(dir, 'audit.db'));
  const v0 = process.hrtime.bigint();
  const report = await verifyLog(store.rows(), store.checkpoints(), new Map([[seal.signer.keyId, seal.signer.publicKey]]));
  const verifySeconds = Number(process.hrtime.bigint() - v0) / 1e9;
  store.close();
  rmSync(dir, { recursive: true, force: true });
  if (!report.ok || report.records !== N) throw new Error(`the benchmark log does not verify: ${JSON.stringify(report)}`);
  return { rps: N / seconds, cpu_us_per_record: (cpu.user + cpu.system) / N, max_stall_ms: loop.max / 1e6, p99_stall_ms: loop.percentile(99) / 1e6, verify_rps: N / verifySeconds };
}

function baselineRun() {
  const dir = mkdtempSync(join(tmpdir(), 'moat-bench-audit-'));
  const db = new Database(join(dir, 'plain.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, data TEXT NOT NULL)');
  const ins = db.prepare('INSERT INTO t (data) VALUES (?)');
  const batch = db.transaction((rows) => {
    for (const r of rows) ins.run(JSON.stringify(r));
  });
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i += 2_000) batch(Array.from({ length: Math.min(2_000, N - i) }, (_, k) => record(i + k)));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { rps: N / seconds, cpu_us_per_record: (cpu.user + cpu.system) / N };
}

/** What the main thread does per record before handing it to the writer thread: serialize it. */
function mainThreadCost() {
  const records = Array.from({ length: 20_000 }, (_, i) => record(i));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < records.length; i += 2_000) packRows(records.slice(i, i + 2_000));
  return Number(process.hrtime.bigint() - t0) / 1e3 / records.length;
}

const sink = [];
const plain = [];
const mainUs = [];
for (let r = 0; r < ROUNDS; r++) {
  plain.push(baselineRun());
  sink.push(await sinkRun());
  mainUs.push(mainThreadCost());
}
const summary = {
  records: N,
  sink_records_per_s: Math.round(median(sink.map((x) => x.rps))),
  plain_insert_records_per_s: Math.round(median(plain.map((x) => x.rps))),
  sink_cpu_us_per_record: median(sink.map((x) => x.cpu_us_per_record)),
  plain_cpu_us_per_record: median(plain.map((x) => x.cpu_us_per_record)),
  main_thread_us_per_record: median(mainUs),
  load_average: os.loadavg()[0],
  max_event_loop_stall_ms: Math.max(...sink.map((x) => x.max_stall_ms)),
  p99_event_loop_stall_ms: median(sink.map((x) => x.p99_stall_ms)),
  verify_records_per_s: Math.round(median(sink.map((x) => x.verify_rps))),
};
const ratio = summary.sink_records_per_s / summary.plain_insert_records_per_s;
const met = summary.sink_records_per_s >= 20_000;
console.log(`audit sink (chained, checkpointed): ${summary.sink_records_per_s} records/s   plain SQLite insert: ${summary.plain_insert_records_per_s} records/s   ratio ${(ratio * 100).toFixed(1)}%`);
console.log(`CPU per record (all threads): sink ${summary.sink_cpu_us_per_record.toFixed(1)} us, plain insert ${summary.plain_cpu_us_per_record.toFixed(1)} us; at one full core the sink would write ${Math.round(1e6 / summary.sink_cpu_us_per_record)} records/s (load average during the run: ${summary.load_average.toFixed(1)} on ${os.cpus().length} cores)`);
console.log(`of which on the main thread (serializing for the writer thread): ${summary.main_thread_us_per_record.toFixed(1)} us per record`);
console.log(`event-loop stall while writing: p99 ${summary.p99_event_loop_stall_ms.toFixed(1)} ms, max ${summary.max_event_loop_stall_ms.toFixed(1)} ms;  verify: ${summary.verify_records_per_s} records/s`);
console.log(`${met ? 'MET ' : 'MISS'}  audit sustains >= 20,000 records/s into SQLite`);
mkdirSync(here('./results'), { recursive: true });
writeFileSync(here('./results/audit.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, rounds: ROUNDS, summary, ratio_vs_plain_insert: ratio, met, raw: { sink, plain } }, null, 2) + '\n');
console.log('wrote bench/results/audit.json');
