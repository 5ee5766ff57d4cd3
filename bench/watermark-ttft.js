#!/usr/bin/env node
/**
 * `npm run bench:watermark`: what the watermark stage adds to streamed answers. Two gateways on
 * 127.0.0.1 (watermark off = baseline, on), in front of one local upstream that streams real LLM
 * answers (report half of the shared data) in 4-character pieces, one piece every 2 ms. Measures,
 * per request, the time to the first event and to the first non-empty content, and the whole
 * stream; prints medians and the ratio on/off; writes bench/results/watermark-ttft.json.
 */
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { validateConfig } from '../dist/config/load.js';
import { createGateway } from '../dist/server/gateway.js';
import { createLogger } from '../dist/server/logger.js';
import { llmAnswers } from '../eval/watermark/data.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 120);
const PIECE = 4;
const GAP_MS = 2;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const answers = llmAnswers()
  .filter((a) => a.part === 'report')
  .slice(0, 60)
  .map((a) => a.text.slice(0, 1500));

function startUpstream() {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = answers[n++ % answers.length];
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const ev = (choice) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'bench', choices: [choice] })}\n\n`;
      res.write(ev({ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }));
      let i = 0;
      const tick = () => {
        if (i >= answer.length) {
          res.write(ev({ index: 0, delta: {}, finish_reason: 'stop' }));
          return res.end('data: [DONE]\n\n');
        }
        res.write(ev({ index: 0, delta: { content: answer.slice(i, i + PIECE) }, finish_reason: null }));
        i += PIECE;
        setTimeout(tick, GAP_MS);
      };
      setTimeout(tick, GAP_MS);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}/v1`, close: () => new Promise((r) => server.close(r)) })));
}

async function startGateway(upstreamURL, watermark) {
  const dataDir = mkdtempSync(join(tmpdir(), 'moat-bench-wm-'));
  const config = validateConfig({ dataDir, server: { port: 0 }, models: { bench: { upstream: { baseURL: upstreamURL } } }, limits: { defaults: { rpm: 0 } }, watermark: { enabled: watermark }, logging: { level: 'silent' } });
  const gw = await createGateway(config, { log: createLogger('silent'), metricsDefaults: false });
  const url = await gw.listen();
  const { key } = await gw.keys.create({ principal: 'bench', tenant: 'bench', roles: ['user'], limits: {} });
  return { url, key, close: async () => (await gw.close(), rmSync(dataDir, { recursive: true, force: true })) };
}

async function once(gw) {
  const t0 = performance.now();
  const res = await request(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.key}` },
    body: JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hi' }], stream: true }),
  });
  let firstEvent = null;
  let firstContent = null;
  let buf = '';
  let text = '';
  for await (const chunk of res.body) {
    buf += chunk.toString('utf8');
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const line = buf.slice(0, cut).replace(/^data: /, '');
      buf = buf.slice(cut + 2);
      if (line === '[DONE]') continue;
      const c = JSON.parse(line).choices?.[0]?.delta?.content;
      if (c !== undefined && firstEvent === null) firstEvent = performance.now() - t0;
      if (c && firstContent === null) firstContent = performance.now() - t0;
      if (c) text += c;
    }
  }
  return { firstEvent, firstContent, total: performance.now() - t0, text };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(0.95 * (xs.length - 1))];

const upstream = await startUpstream();
const off = await startGateway(upstream.url, false);
const on = await startGateway(upstream.url, true);
const runs = { off: [], on: [] };
try {
  for (let i = 0; i < 4; i++) await Promise.all([once(off), once(on)]); // warm-up (JIT, tagger)
  for (let i = 0; i < REQUESTS; i++) {
    // Alternate so that both see the same machine load; one request at a time.
    runs.off.push(await once(off));
    runs.on.push(await once(on));
  }
} finally {
  await on.close();
  await off.close();
  await upstream.close();
}

const summary = (xs, k) => ({ median: median(xs.map((r) => r[k])), p95: p95(xs.map((r) => r[k])) });
const result = { requests: REQUESTS, pieceChars: PIECE, gapMs: GAP_MS, off: {}, on: {}, addedMs: {}, ratio: {} };
for (const k of ['firstEvent', 'firstContent', 'total']) {
  result.off[k] = summary(runs.off, k);
  result.on[k] = summary(runs.on, k);
  result.addedMs[k] = { median: result.on[k].median - result.off[k].median, p95: result.on[k].p95 - result.off[k].p95 };
  result.ratio[k] = result.on[k].median / result.off[k].median;
}
result.changedAnswers = runs.on.filter((r, i) => r.text !== runs.off[i].text).length;
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/watermark-ttft.json'), JSON.stringify({ generatedAt: new Date().toISOString(), ...result }, null, 2) + '\n');
const ms = (x) => x.toFixed(2);
process.stdout.write(
  `watermark stage, ${REQUESTS} streamed answers each (median / p95 ms, on vs off):\n` +
    ['firstEvent', 'firstContent', 'total'].map((k) => `  ${k.padEnd(12)} off ${ms(result.off[k].median)} / ${ms(result.off[k].p95)}   on ${ms(result.on[k].median)} / ${ms(result.on[k].p95)}   added ${ms(result.addedMs[k].median)} ms (x${result.ratio[k].toFixed(3)})`).join('\n') +
    `\n  answers changed by the watermark: ${result.changedAnswers}/${REQUESTS}\n`,
);
