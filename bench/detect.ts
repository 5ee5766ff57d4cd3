/**
 * `npm run bench:detect`: CPU per request of every detection signal together for 2 KB prompts,
 * and memory per active principal. Baseline measured in the same run: parsing and serializing
 * the same request body (work every request pays anyway). Writes bench/results/detect-bench.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DetectEngine } from '../src/detect/engine.js';
import { loadSignatureModel } from '../src/detect/model-file.js';
import { defaultDetectConfig } from '../src/detect/schema.js';
import { dataDir } from '../eval/detect/corpus.js';

const gc = (globalThis as { gc?: () => void }).gc;

function prompts2k(): string[] {
  let texts: string[] = [];
  try {
    texts = readFileSync(join(dataDir(), 'outputs', 'claude-2.1.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { output: string }).output);
  } catch {
    texts = Array.from({ length: 200 }, (_, i) => `Sample text ${i} about gardens, rivers and the history of trade routes. `.repeat(30));
  }
  // 2 KB each: long answers cut to 2,048 characters, with a question in front.
  return texts.filter((t) => t.length >= 2048).map((t, i) => `Question ${i}: please review the following and explain it.\n\n${t}`.slice(0, 2048));
}

function main(): void {
  const texts = prompts2k();
  const bodies = texts.map((t) => JSON.stringify({ model: 'm', messages: [{ role: 'user', content: t }], max_tokens: 256 }));
  const N = Number(process.env.N ?? 20_000);
  const principals = 500;

  // Memory per active principal: fill P principals' windows, measure the heap delta.
  const P = 2000;
  const mem = new DetectEngine(defaultDetectConfig(), loadSignatureModel());
  const short = bodies.slice(0, 64).map((b) => JSON.parse(b) as Record<string, unknown>);
  gc?.();
  const h0 = process.memoryUsage().heapUsed;
  for (let q = 0; q < 80; q++) for (let p = 0; p < P; p++) mem.observe({ ts: q * 60_000 + p, principal: `m${p}`, tenant: 't', ip: '192.0.2.1', route: 'chat', body: short[(p + q) % short.length]! });
  gc?.();
  const bytesPerPrincipal = (process.memoryUsage().heapUsed - h0) / P;
  if (mem.all().length !== P) throw new Error('principals were evicted during the memory measurement');

  // Baseline: JSON parse + stringify of the same bodies.
  let sink = 0;
  const b0 = process.cpuUsage();
  for (let i = 0; i < N; i++) sink += JSON.stringify(JSON.parse(bodies[i % bodies.length]!)).length;
  const b1 = process.cpuUsage(b0);
  const baselineUs = (b1.user + b1.system) / N;

  const engine = new DetectEngine(defaultDetectConfig(), loadSignatureModel());
  const parsed = bodies.map((b) => JSON.parse(b) as Record<string, unknown>);
  // Warm up so the JIT settles, then measure.
  for (let i = 0; i < 2000; i++) engine.observe({ ts: i * 1000, principal: `w${i % 50}`, tenant: 't', ip: '198.51.100.7', route: 'chat', body: parsed[i % parsed.length]! });
  const d0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) engine.observe({ ts: 5e6 + i * 200, principal: `p${i % principals}`, tenant: `t${i % 7}`, ip: `198.51.${i % 200}.7`, route: 'chat', body: parsed[i % parsed.length]! });
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000 / N;
  const d1 = process.cpuUsage(d0);
  const detectUs = (d1.user + d1.system) / N;

  const result = {
    generated: new Date().toISOString(),
    node: process.version,
    requests: N,
    prompt_chars: 2048,
    baseline_json_roundtrip_us: +baselineUs.toFixed(2),
    detect_cpu_us_per_request: +detectUs.toFixed(2),
    detect_wall_us_per_request: +wallUs.toFixed(2),
    ratio_to_baseline: +(detectUs / baselineUs).toFixed(2),
    target_us: 100,
    bytes_per_active_principal: Math.round(bytesPerPrincipal),
    target_bytes: 16_384,
    gc_exposed: !!gc,
    sink,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/detect-bench.json', JSON.stringify(result, null, 2) + '\n');
  console.log(
    `detect: ${result.detect_cpu_us_per_request} µs CPU per 2 KB request (target ≤ 100), ${result.ratio_to_baseline}× a JSON parse+serialize of the same body (${result.baseline_json_roundtrip_us} µs); ` +
      `${result.bytes_per_active_principal} bytes per active principal (target ≤ 16384)${gc ? '' : ' [run with --expose-gc for a stable figure]'}`,
  );
}

main();
