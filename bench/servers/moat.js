// Moat with its whole pipeline (auth, validation, access, limits, policy, audit) in front of
// UPSTREAM_BASE_URL. Usage: node moat.js UPSTREAM_BASE_URL [DATA_DIR]. Prints {"url","key"}.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../dist/config/load.js';
import { createGateway } from '../../dist/server/gateway.js';

const dataDir = process.argv[3] ?? mkdtempSync(join(tmpdir(), 'moat-bench-'));
const config = validateConfig({
  dataDir,
  server: { host: '127.0.0.1', port: 0 },
  models: { 'bench-model': { upstream: { baseURL: process.argv[2] } } },
  logging: { level: 'warn' },
});
const gw = await createGateway(config);
const url = await gw.listen();
// A limit high enough never to refuse during the run: the limiter still runs on every request.
const { key } = await gw.keys.create({ principal: 'bench', tenant: 'bench', limits: { rpm: 100_000_000 } });
process.stdout.write(JSON.stringify({ url, key, dataDir }) + '\n');
process.on('SIGTERM', () => gw.close().then(() => process.exit(0)));
