// `node bench/stages.js`: CPU time of each pipeline stage's hooks, in process, without network:
// the same gateway as `moat serve`, a realistic chat request, and the upstream's answer given to
// the response hooks directly. Shows where the gateway's own per-request cost goes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../dist/config/load.js';
import { createContext } from '../dist/pipeline/context.js';
import { parseJsonBody } from '../dist/server/inference.js';
import { createGateway } from '../dist/server/gateway.js';

const N = Number(process.argv[2] ?? 20_000);
const dataDir = mkdtempSync(join(tmpdir(), 'moat-stages-'));
const config = validateConfig({
  dataDir,
  server: { port: 0 },
  models: { 'bench-model': { upstream: { baseURL: 'http://127.0.0.1:9/v1' } } },
  logging: { level: 'error' },
  // The synthetic traffic is one template at full speed: detection rightly flags it, but here it
  // must keep computing without refusing, so that its cost is measured on every request.
  detect: { actions: { throttleRpm: 0 } },
});
const gw = await createGateway(config, { metricsDefaults: false });
const { key } = await gw.keys.create({ principal: 'bench', tenant: 'bench', limits: { rpm: 0 } });
const prompts = ['Describe the castle and its moat in one sentence.', 'What is the capital of France and why?', 'Write a haiku about rivers in spring.', 'Summarize the causes of the first world war.'];
const answer = JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', created: 0, model: 'bench-model', system_fingerprint: 'fp',
  choices: [{ index: 0, message: { role: 'assistant', content: 'The castle is guarded by a deep moat and watchful keepers.' }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 12, total_tokens: 24 },
});
const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
const stages = gw.pipeline.stages;
const time = new Map(stages.map((s) => [s.name, 0]));
let parseNs = 0n;
let metricsNs = 0n;

for (let i = 0; i < N; i++) {
  const raw = Buffer.from(JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: prompts[i % prompts.length] + ' #' + (i % 97) }], max_tokens: 32 }));
  const ctx = createContext({ route: 'chat', sourceIp: '127.0.0.1', headers });
  let t = process.hrtime.bigint();
  ctx.body = parseJsonBody(raw);
  parseNs += process.hrtime.bigint() - t;
  for (const s of stages) {
    if (s.name === 'forward' || !s.request) continue;
    t = process.hrtime.bigint();
    const r = s.request(ctx);
    if (r) await r;
    time.set(s.name, time.get(s.name) + Number(process.hrtime.bigint() - t));
  }
  const body = JSON.parse(answer);
  for (const s of stages) {
    if (!s.response) continue;
    t = process.hrtime.bigint();
    s.response(ctx, body);
    time.set(s.name, time.get(s.name) + Number(process.hrtime.bigint() - t));
  }
  ctx.outputBytes = JSON.stringify(body).length;
  for (const s of stages) {
    if (!s.finish) continue;
    t = process.hrtime.bigint();
    s.finish(ctx);
    time.set(s.name, time.get(s.name) + Number(process.hrtime.bigint() - t));
  }
  t = process.hrtime.bigint();
  gw.metrics.observe(ctx);
  metricsNs += process.hrtime.bigint() - t;
}
await gw.close();
rmSync(dataDir, { recursive: true, force: true });

const rows = [['parse JSON', Number(parseNs)], ...time, ['metrics', Number(metricsNs)]];
let total = 0;
console.log(`stage              us/request  (${N} requests, forward excluded)`);
for (const [name, ns] of rows) {
  total += ns;
  console.log(`${name.padEnd(18)} ${(ns / N / 1000).toFixed(2).padStart(10)}`);
}
console.log(`${'total'.padEnd(18)} ${(total / N / 1000).toFixed(2).padStart(10)}`);
