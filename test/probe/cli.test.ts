/**
 * `moat probe` as a user runs it: JSON and text reports, exit status 1 on any failed check, 2 on
 * a bad URL or an endpoint that cannot be reached. The servers run in this process, so the CLI
 * is spawned asynchronously (a synchronous spawn would block them).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOAT_BIN } from '../helpers/cli.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startVulnerableServer, type VulnerableServer } from '../helpers/vulnerable-server.js';

function moat(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MOAT_BIN, ...args], { env: { ...process.env, MOAT_PROBE_API_KEY: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let vuln: VulnerableServer;
let gw: TestGateway;
beforeAll(async () => {
  vuln = await startVulnerableServer({ perIpLimit: 25 });
  gw = await startTestGateway({ rpm: 20, principal: 'cli-probe' });
});
afterAll(async () => {
  await vuln.close();
  await gw.close();
});

describe('moat probe CLI', () => {
  it('--json against a vulnerable endpoint: {"checks": [{id, status, evidence, fix}]} and exit 1', async () => {
    const r = await moat(['probe', vuln.baseURL, '--model', 'moat-demo', '--json', '--rate', '100', '--max-requests', '70']);
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string; evidence: string; fix: string }>; requests: number };
    expect(out.checks.map((c) => c.id)).toEqual(['auth-required', 'invalid-key-rejected', 'logprobs-withheld', 'logit-bias-ignored', 'echo-withheld', 'n-capped', 'embeddings-protected', 'errors-opaque', 'per-user-rate-limit']);
    for (const c of out.checks) {
      expect(c.status).toBe('fail');
      expect(c.evidence.length).toBeGreaterThan(20);
      expect(c.fix.length).toBeGreaterThan(20);
    }
    expect(out.requests).toBeLessThanOrEqual(70);
  });

  it('text against Moat: one line per check; the exit status follows the failures', async () => {
    const r = await moat(['probe', gw.baseURL, '--api-key', gw.key, '--rate', '100']);
    expect(r.stdout).toMatch(/^PASS {2}auth-required {9}a chat request without credentials was refused: 401/m);
    expect(r.stdout).toMatch(/^PASS {2}per-user-rate-limit /m);
    expect(r.stdout).not.toContain(gw.key);
    const failed = /(\d+) failed/.exec(r.stdout)![1];
    expect(r.status).toBe(failed === '0' ? 0 : 1);
  });

  it('a bad URL or an unreachable endpoint is a usage error (exit 2)', async () => {
    const bad = await moat(['probe', 'not-a-url']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/not a URL/);
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const down = await moat(['probe', `http://127.0.0.1:${port}/v1`, '--model', 'm']);
    expect(down.status).toBe(2);
    expect(down.stderr).toMatch(/cannot reach/);
  });
});
