/**
 * `moat probe` against live servers on 127.0.0.1: a deliberately vulnerable proxy fails the
 * checks it should, and Moat in front of the demo model passes them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe, type ProbeReport } from '../../src/probe/run.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startVulnerableServer, type VulnerableServer } from '../helpers/vulnerable-server.js';

const statuses = (r: ProbeReport) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]));
const evidence = (r: ProbeReport, id: string) => r.checks.find((c) => c.id === id)!.evidence;

describe('a deliberately vulnerable proxy', () => {
  let open: VulnerableServer;
  let keyed: VulnerableServer;
  beforeAll(async () => {
    open = await startVulnerableServer({ perIpLimit: 25 });
    keyed = await startVulnerableServer({ key: 'sk-vuln-0123456789abcdef0123456789', perIpLimit: 25 });
  });
  afterAll(async () => {
    await open.close();
    await keyed.close();
  });

  it('open, leaky, limited per X-Forwarded-For: every check fails', async () => {
    const r = await runProbe({ baseURL: open.baseURL, model: 'moat-demo', maxRequests: 70, rate: 100 });
    expect(statuses(r)).toEqual({
      'auth-required': 'fail',
      'invalid-key-rejected': 'fail',
      'logprobs-withheld': 'fail',
      'logit-bias-ignored': 'fail',
      'echo-withheld': 'fail',
      'n-capped': 'fail',
      'embeddings-protected': 'fail',
      'errors-opaque': 'fail',
      'per-user-rate-limit': 'fail',
    });
    expect(evidence(r, 'per-user-rate-limit')).toMatch(/fresh X-Forwarded-For\/X-Real-IP were answered/);
    expect(evidence(r, 'errors-opaque')).toMatch(/stack trace|internal address/);
    expect(evidence(r, 'logit-bias-ignored')).toMatch(/changed the answer/);
    expect(r.requests).toBeLessThanOrEqual(70);
  });

  it('with a key check: the auth checks pass, the rest still fail', async () => {
    const r = await runProbe({ baseURL: keyed.baseURL, apiKey: 'sk-vuln-0123456789abcdef0123456789', maxRequests: 70, rate: 100 });
    expect(r.model).toBe('moat-demo');
    const s = statuses(r);
    expect(s['auth-required']).toBe('pass');
    expect(s['invalid-key-rejected']).toBe('pass');
    for (const id of ['logprobs-withheld', 'logit-bias-ignored', 'echo-withheld', 'n-capped', 'embeddings-protected', 'errors-opaque', 'per-user-rate-limit']) expect(s[id], id).toBe('fail');
  });

  it('no limit at all fails the rate-limit check within the budget', async () => {
    const unlimited = await startVulnerableServer({ key: 'sk-vuln-0123456789abcdef0123456789' });
    try {
      const r = await runProbe({ baseURL: unlimited.baseURL, apiKey: 'sk-vuln-0123456789abcdef0123456789', maxRequests: 40, rate: 100 });
      expect(statuses(r)['per-user-rate-limit']).toBe('fail');
      expect(evidence(r, 'per-user-rate-limit')).toMatch(/none refused with 429/);
      expect(r.requests).toBeLessThanOrEqual(40);
    } finally {
      await unlimited.close();
    }
  });

  it('without a key on a keyed endpoint the keyed checks are skipped, with the reason', async () => {
    const r = await runProbe({ baseURL: keyed.baseURL, model: 'moat-demo', maxRequests: 30, rate: 100 });
    expect(statuses(r)['logprobs-withheld']).toBe('skip');
    expect(evidence(r, 'logprobs-withheld')).toMatch(/401.*give --api-key/);
  });
});

describe('Moat in front of the demo model', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ rpm: 20, principal: 'probe-user' });
  });
  afterAll(() => t.close());

  // The built-in `user` role has no 'embeddings' permission, so raw vectors are refused to it.
  it('passes every check, and the limit check stops at the limit', async () => {
    const r = await runProbe({ baseURL: t.baseURL, apiKey: t.key, maxRequests: 80, rate: 100 });
    for (const c of r.checks) expect(c.status, `${c.id}: ${c.evidence}`).toBe('pass');
    expect(r.checks).toHaveLength(9);
    expect(evidence(r, 'embeddings-protected')).toMatch(/refused to this key \(403/);
    expect(evidence(r, 'per-user-rate-limit')).toMatch(/the limit follows the credential/);
    // The limit check stops once it has its answer: well inside the budget.
    expect(r.requests).toBeLessThan(50);
  });

  it('a limit above the budget, announced in RateLimit headers, is a skip that says what budget to use', async () => {
    const roomy = await startTestGateway({ rpm: 600, principal: 'probe-roomy' });
    try {
      const r = await runProbe({ baseURL: roomy.baseURL, apiKey: roomy.key, maxRequests: 30, rate: 100 });
      expect(statuses(r)['per-user-rate-limit']).toBe('skip');
      expect(evidence(r, 'per-user-rate-limit')).toMatch(/announces a limit of 600.*--max-requests above 626/);
    } finally {
      await roomy.close();
    }
  });
});
