// Moat with its whole pipeline in front of UPSTREAM_BASE_URL, for the benchmarks.
// Usage: node moat.js UPSTREAM_BASE_URL [--audit on|off] [--store memory|redis] [--profile rpm|full]
//                     [--redis URL] [--data-dir DIR]
//   --audit off     a sink that keeps nothing (the audit-overhead benchmark)
//   --store redis   limits in Redis (the identity/limits benchmark)
//   --profile full  rpm, tpm, tpd and concurrency for principal and tenant; rpm: one bucket
// Prints {"url","key","dataDir","pid"} once listening. Limits are high enough never to refuse; every
// bucket is still taken and settled. Detection runs on every request but does not act: the
// benchmark's traffic is one prompt at full speed, which it rightly flags as extraction.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { validateConfig } from '../../dist/config/load.js';
import { createGateway } from '../../dist/server/gateway.js';

const { positionals, values: o } = parseArgs({
  allowPositionals: true,
  options: {
    audit: { type: 'string', default: 'on' },
    store: { type: 'string', default: 'memory' },
    profile: { type: 'string', default: 'rpm' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    'data-dir': { type: 'string' },
  },
});
const dataDir = o['data-dir'] ?? mkdtempSync(join(tmpdir(), 'moat-bench-'));
const big = 1_000_000_000;
const full = o.profile === 'full';
const config = validateConfig({
  dataDir,
  server: { host: '127.0.0.1', port: 0 },
  models: { 'bench-model': { upstream: { baseURL: positionals[0] } } },
  logging: { level: 'warn' },
  detect: { actions: { throttleRpm: 0 } },
  limits: {
    store: o.store,
    ...(o.store === 'redis' ? { redis: { url: o.redis, keyPrefix: `moat-bench:${process.pid}:` } } : {}),
    ...(full ? { tenantDefaults: { rpm: big, tpm: big, tpd: big, concurrency: 100_000 } } : {}),
  },
});
const nullSink = { append() {}, accepting: () => true, queued: () => 0, flush() {}, close: async () => {} };
const gw = await createGateway(config, o.audit === 'off' ? { auditSink: nullSink } : {});
const url = await gw.listen();
const limits = full ? { rpm: big, tpm: big, tpd: big, concurrency: 100_000 } : { rpm: big };
const { key } = await gw.keys.create({ principal: 'bench', tenant: 'bench', limits });
process.stdout.write(JSON.stringify({ url, key, dataDir, pid: process.pid }) + '\n');
process.on('SIGTERM', () => gw.close().then(() => process.exit(0)));
