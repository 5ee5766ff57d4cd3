// Moat in front of UPSTREAM_BASE_URL with its audit log on (the configured SQLite sink) or off
// (a sink that keeps nothing), for the audit-overhead benchmark.
// Usage: node moat-audit.js UPSTREAM_BASE_URL on|off [DATA_DIR]. Prints {"url","key","dataDir","pid"}.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../dist/config/load.js';
import { createGateway } from '../../dist/server/gateway.js';

const [upstream, mode = 'on', dir] = process.argv.slice(2);
const dataDir = dir ?? mkdtempSync(join(tmpdir(), 'moat-bench-'));
const config = validateConfig({
  dataDir,
  server: { host: '127.0.0.1', port: 0 },
  models: { 'bench-model': { upstream: { baseURL: upstream } } },
  logging: { level: 'warn' },
});
const nullSink = { append() {}, accepting: () => true, queued: () => 0, flush() {}, close: async () => {} };
const gw = await createGateway(config, mode === 'off' ? { auditSink: nullSink } : {});
const url = await gw.listen();
const { key } = await gw.keys.create({ principal: 'bench', tenant: 'bench', limits: { rpm: 0 } });
process.stdout.write(JSON.stringify({ url, key, dataDir, pid: process.pid }) + '\n');
process.on('SIGTERM', () => gw.close().then(() => process.exit(0)));
