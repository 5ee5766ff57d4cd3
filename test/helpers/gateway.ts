/**
 * Test harness: a real gateway on port 0 in front of a real upstream (the demo model by
 * default), with a temporary data directory and a fresh API key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { startDemoUpstream } from '../../src/demo/server.js';
import { createGateway, type Gateway } from '../../src/server/gateway.js';
import { createLogger } from '../../src/server/logger.js';

export interface TestGateway {
  gw: Gateway;
  baseURL: string;
  key: string;
  dataDir: string;
  /** Every log line the gateway wrote, for assertions (e.g. no key ever appears). */
  logs: string[];
  close(): Promise<void>;
}

export function tempDir(prefix = 'moat-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Captures pino output in memory. */
export function memoryLogger(lines: string[], level = 'info') {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return createLogger(level, sink);
}

export interface StartOptions {
  /** Base URL of the upstream; default: a fresh demo upstream. */
  upstreamURL?: string;
  /** Extra configuration merged over the defaults (models are replaced when given). */
  config?: Partial<ConfigInput>;
  principal?: string;
  tenant?: string;
  roles?: string[];
  rpm?: number;
  logLevel?: string;
}

export async function startTestGateway(o: StartOptions = {}): Promise<TestGateway> {
  const demo = o.upstreamURL ? null : await startDemoUpstream();
  const upstreamURL = o.upstreamURL ?? demo!.baseURL;
  const dataDir = tempDir();
  const logs: string[] = [];
  const config = validateConfig({
    dataDir,
    server: { host: '127.0.0.1', port: 0 },
    models: { 'moat-demo': { upstream: { baseURL: upstreamURL, timeouts: { connectMs: 2000, firstTokenMs: 3000, idleMs: 2000, totalMs: 5000 } } } },
    audit: { flushMs: 10 },
    ...o.config,
  });
  const gw = await createGateway(config, { log: memoryLogger(logs, o.logLevel ?? 'info'), metricsDefaults: false });
  const baseURL = await gw.listen();
  const { key } = await gw.keys.create({
    principal: o.principal ?? 'alice',
    tenant: o.tenant ?? 'acme',
    roles: o.roles ?? ['user'],
    limits: o.rpm !== undefined ? { rpm: o.rpm } : {},
  });
  return {
    gw,
    baseURL,
    key,
    dataDir,
    logs,
    async close() {
      await gw.close();
      await demo?.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
