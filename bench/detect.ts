/**
 * `npm run bench:detect`: CPU per request of every detection signal together for 2 KB prompts,
 * and memory per active principal. Baseline measured in the same run: parsing and serializing
 * the same request body (work every request pays anyway). Writes bench/results/detect-bench.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { DetectEngine } from '../src/detect/engine.js';
import { loadSignatureModel } from '../src/detect/model-file.js';
import { defaultDetectConfig } from '../src/detect/schema.js';
import { dataDir } from '../eval/detect/corpus.js';

const gc = (globalThis as { gc?: () => void }).gc;

/** 2 KB prompts: "varied" (each a different question over a different answer), "templated" (one instruction over many texts). */
function prompts2k(): { varied: string[]; templated: string[] } {
  let answers: string[] = [];
  let questions: string[] = [];
  try {
    answers = readFileSync(join(dataDir(), 'outputs', 'claude-2.1.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { output: string }).output);
    questions = readFileSync(join(dataDir(), 'prompts', 'benign', 'alpaca_eval.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { text: string }).text);
  } catch {
    answers = Array.from({ length: 200 }, (_, i) => `Sample text ${i} about gardens, rivers and the history of trade routes. `.repeat(30));
    questions = Array.from({ length: 200 }, (_, i) => `Question ${i * 7}: what do you make of this?`);
  }
  const long = answers.filter((t) => t.length >= 2048);
  return {
    varied: long.map((t, i) => `${questions[(i * 31) % questions.length]}\n\n${t}`.slice(0, 2048)),
    templated: long.map((t, i) => `Question ${i}: please review the following and explain it.\n\n${t}`.slice(0, 2048)),
  };
}

const body = (t: string) => ({ model: 'm', messages: [{ role: 'user', content: t }], max_tokens: 256 });
const cpu = (f: () => void): number => {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return c.user + c.system;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function main(): void {
  const sets = prompts2k();
  const bodies = sets.varied.map((t) => JSON.stringify(body(t)));
  const N = Number(process.env.N ?? 20_000);
  const ROUNDS = 10;
  const block = Math.ceil(N / ROUNDS);
  const principals = 500;

  // Memory per active principal: fill P principals' windows, measure the growth of the heap
  // and of typed-array backing stores (which live outside the JS heap).
  const P = 2000;
  const mem = new DetectEngine(defaultDetectConfig(), loadSignatureModel());
  const short = sets.varied.slice(0, 64).map(body);
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  gc?.();
  const h0 = used();
  for (let q = 0; q < 80; q++) for (let p = 0; p < P; p++) mem.observe({ ts: q * 60_000 + p, principal: `m${p}`, tenant: 't', ip: '192.0.2.1', route: 'chat', body: short[(p + q) % short.length]! });
  gc?.();
  const bytesPerPrincipal = (used() - h0) / P;
  if (mem.all().length !== P) throw new Error('principals were evicted during the memory measurement');

  // Detection over the varied and the templated prompts (the templated ones make every
  // principal a suspect, so the cross-account index and cluster scoring run too), and the
  // baseline: JSON parse + stringify of the same bodies, work every request pays anyway.
  // The three run in interleaved rounds so that a change in machine load hits them alike.
  const engines = { varied: new DetectEngine(defaultDetectConfig(), loadSignatureModel()), templated: new DetectEngine(defaultDetectConfig(), loadSignatureModel()) };
  const parsed = { varied: sets.varied.map(body), templated: sets.templated.map(body) };
  let sink = 0;
  const counters = { varied: 0, templated: 0 };
  const run = (kind: 'varied' | 'templated', n: number) => {
    const e = engines[kind];
    const list = parsed[kind];
    for (let k = 0; k < n; k++) {
      const i = counters[kind]++;
      sink += e.observe({ ts: 5e6 + i * 200, principal: `p${i % principals}`, tenant: `t${i % 7}`, ip: `198.51.${i % 200}.7`, route: 'chat', body: list[i % list.length]! }) ?? 0;
    }
  };
  const baseline = (n: number) => {
    for (let k = 0; k < n; k++) sink += JSON.stringify(JSON.parse(bodies[k % bodies.length]!)).length;
  };
  // Warm up so the JIT settles.
  baseline(2000);
  run('varied', 2000);
  run('templated', 2000);
  const us = { baseline: [] as number[], varied: [] as number[], templated: [] as number[], wall: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    us.baseline.push(cpu(() => baseline(block)) / block);
    const t0 = process.hrtime.bigint();
    us.varied.push(cpu(() => run('varied', block)) / block);
    us.wall.push(Number(process.hrtime.bigint() - t0) / 1000 / block);
    us.templated.push(cpu(() => run('templated', block)) / block);
  }
  const baselineUs = median(us.baseline);
  const detectUs = median(us.varied);
  const templatedUs = median(us.templated);

  const result = {
    generated: new Date().toISOString(),
    node: process.version,
    requests: block * ROUNDS,
    rounds: ROUNDS,
    prompt_chars: 2048,
    load_average_1m: +loadavg()[0]!.toFixed(2),
    baseline_json_roundtrip_us: +baselineUs.toFixed(2),
    detect_cpu_us_per_request: +detectUs.toFixed(2),
    detect_wall_us_per_request: +median(us.wall).toFixed(2),
    ratio_to_baseline: +(detectUs / baselineUs).toFixed(2),
    templated_cpu_us_per_request: +templatedUs.toFixed(2),
    templated_ratio_to_baseline: +(templatedUs / baselineUs).toFixed(2),
    target_us: 100,
    bytes_per_active_principal: Math.round(bytesPerPrincipal),
    target_bytes: 16_384,
    gc_exposed: !!gc,
    sink,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/detect-bench.json', JSON.stringify(result, null, 2) + '\n');
  console.log(
    `detect (median of ${ROUNDS} interleaved rounds, load average ${result.load_average_1m}): ${result.detect_cpu_us_per_request} µs CPU per varied 2 KB request (target ≤ 100; wall ${result.detect_wall_us_per_request} µs), ` +
      `${result.ratio_to_baseline}× a JSON parse+serialize of the same body (${result.baseline_json_roundtrip_us} µs); ` +
      `templated prompts (cross-account index and cluster scoring active): ${result.templated_cpu_us_per_request} µs (${result.templated_ratio_to_baseline}×); ` +
      `${result.bytes_per_active_principal} bytes per active principal (target ≤ 16384)${gc ? '' : ' [run with --expose-gc for a stable figure]'}`,
  );
}

main();
