// Moat with its whole pipeline and a chosen quota store, for the identity/limits benchmark.
// Usage: node moat-limits.js UPSTREAM_BASE_URL STORE PROFILE [REDIS_URL]
//   STORE: memory | redis     PROFILE: rpm (one bucket) | full (rpm, tpm, tpd, concurrency for principal and tenant)
// Prints {"url","key","pid"}. Limits are high enough never to refuse; every bucket is still taken and settled.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../dist/config/load.js';
import { createGateway } from '../../dist/server/gateway.js';

const [upstream, store, profile, redisUrl = 'redis://127.0.0.1:6379'] = process.argv.slice(2);
const dataDir = mkdtempSync(join(tmpdir(), 'moat-bench-'));
const big = 1_000_000_000;
const config = validateConfig({
  dataDir,
  server: { host: '127.0.0.1', port: 0 },
  models: { 'bench-model': { upstream: { baseURL: upstream } } },
  logging: { level: 'warn' },
  limits: {
    store,
    ...(store === 'redis' ? { redis: { url: redisUrl, keyPrefix: `moat-bench:${process.pid}:` } } : {}),
    ...(profile === 'full' ? { tenantDefaults: { rpm: big, tpm: big, tpd: big, concurrency: 100_000 } } : {}),
  },
});
const gw = await createGateway(config);
const url = await gw.listen();
const limits = profile === 'full' ? { rpm: big, tpm: big, tpd: big, concurrency: 100_000 } : { rpm: big };
const { key } = await gw.keys.create({ principal: 'bench', tenant: 'bench', limits });
process.stdout.write(JSON.stringify({ url, key, dataDir, pid: process.pid }) + '\n');
process.on('SIGTERM', () => gw.close().then(() => process.exit(0)));
