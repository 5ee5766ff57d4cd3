/**
 * The encodings that defeat naive filters, sent as raw bytes through a real gateway to an
 * upstream that records what it receives: every one is refused (and audited) or reaches the
 * upstream without the leaky parameter, because the policy decides on parsed JSON and the
 * upstream gets Moat's own serialization.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayRecords } from './helpers/audit.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { chatAnswer, startScriptedUpstream } from './helpers/scripted-upstream.js';

let up: Awaited<ReturnType<typeof startScriptedUpstream>>;
let t: TestGateway;

const MSG = '"model":"moat-demo","messages":[{"role":"user","content":"hi"}]';

async function raw(body: string | Buffer, path = '/chat/completions') {
  const res = await request(`${t.baseURL}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` },
    body,
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: JSON.parse(text) as { error?: { code: string; param?: string } } };
}

/** Sends a body; returns the status, the error code, what the upstream got (if anything) and the audit record. */
async function send(body: string | Buffer, path?: string) {
  const before = up.received.length;
  const r = await raw(body, path);
  const got = up.received.length > before ? (JSON.parse(up.received.at(-1)!.body) as Record<string, unknown>) : null;
  return { ...r, code: r.json.error?.code ?? null, upstream: got, record: gatewayRecords(t).at(-1)! };
}

beforeAll(async () => {
  up = await startScriptedUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(chatAnswer('ok')));
  });
  t = await startTestGateway({ upstreamURL: up.baseURL, rpm: 0 });
});
afterAll(async () => {
  await t.close();
  await up.close();
});

describe('bypass encodings', () => {
  it('duplicate keys: the last one counts, for the policy and for the upstream alike', async () => {
    const late = await send(`{${MSG},"logit_bias":{},"logit_bias":{"15":100}}`);
    expect(late).toMatchObject({ status: 400, code: 'MOAT_ERR_POLICY_DENIED', upstream: null });
    expect(late.record).toMatchObject({ outcome: 'denied', rules: ['deny:logit_bias'] });

    const early = await send(`{${MSG},"logit_bias":{"15":100},"logit_bias":null,"logprobs":true,"logprobs":false}`);
    expect(early.status).toBe(200);
    expect(early.upstream).not.toHaveProperty('logit_bias');
    expect(early.upstream).not.toHaveProperty('logprobs');
  });

  it('\\u-escaped field names are the same names once parsed', async () => {
    const r = await send(`{${MSG},"logit\\u005fbias":{"15":100}}`);
    expect(r).toMatchObject({ status: 400, upstream: null, record: { rules: ['deny:logit_bias'] } });
    const s = await send(`{${MSG},"\\u006cogprobs":true,"top\\u005flogprobs":5}`);
    expect(s.status).toBe(200);
    expect(Object.keys(s.upstream!).sort()).toEqual(['messages', 'model']);
    // The scripted upstream answers with logprobs anyway; the response policy removes them too.
    expect(s.record.rules).toEqual(['strip:logprobs', 'strip:response_logprobs']);
  });

  it('case and separator variants are refused', async () => {
    for (const name of ['Logit_Bias', 'LOGPROBS', 'logitBias', 'top-logprobs']) {
      const r = await send(`{${MSG},"${name}":{"15":100}}`);
      expect(r, name).toMatchObject({ status: 400, code: 'MOAT_ERR_POLICY_DENIED', upstream: null, record: { rules: ['deny:field_variant'] } });
      expect(r.json.error?.param).toBe(name);
    }
  });

  it('fields nested in extra_body (or any unknown wrapper) are refused', async () => {
    const r = await send(`{${MSG},"extra_body":{"logit_bias":{"15":100},"logprobs":true}}`);
    expect(r).toMatchObject({ status: 400, code: 'MOAT_ERR_UNKNOWN_FIELD', upstream: null });
    const v = await send(`{${MSG},"prompt_logprobs":1}`, '/chat/completions');
    expect(v).toMatchObject({ status: 400, upstream: null });
  });

  it('a huge logit_bias map is refused quickly and recorded in bounded size', async () => {
    const entries = Array.from({ length: 60_000 }, (_, i) => `"${i}":-100`).join(',');
    const body = `{${MSG},"logit_bias":{${entries}}}`;
    expect(body.length).toBeGreaterThan(600_000);
    const t0 = Date.now();
    const r = await send(body);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(r).toMatchObject({ status: 400, upstream: null, record: { rules: ['deny:logit_bias'] } });
    expect(r.record.params.logit_bias).toMatchObject({ truncated: true, chars: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.stringify(r.record).length).toBeLessThan(5_000);
  });

  it('non-UTF-8 bytes are refused before any policy sees them', async () => {
    // An overlong encoding of '_' (C1 9F) inside the name, and a UTF-8-encoded lone surrogate.
    for (const bad of [Buffer.from([0xc1, 0x9f]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xff])]) {
      const body = Buffer.concat([Buffer.from(`{${MSG},"logit`), bad, Buffer.from('bias":{"15":100}}')]);
      const r = await send(body);
      expect(r).toMatchObject({ status: 400, code: 'MOAT_ERR_BAD_ENCODING', upstream: null, record: { outcome: 'denied', errorCode: 'MOAT_ERR_BAD_ENCODING' } });
    }
  });

  it('__proto__ keys and wrong types do not smuggle anything', async () => {
    const p = await send(`{${MSG},"__proto__":{"logprobs":true,"logit_bias":{"15":100}}}`);
    expect(p.status).toBe(200);
    expect(Object.keys(p.upstream!).sort()).toEqual(['messages', 'model']);
    expect(await send(`{${MSG},"n":"10"}`)).toMatchObject({ status: 400, code: 'MOAT_ERR_INVALID_REQUEST', upstream: null });
    expect(await send(`{${MSG},"n":1e1}`)).toMatchObject({ status: 400, code: 'MOAT_ERR_POLICY_DENIED', upstream: null, record: { rules: ['deny:n'] } });
    expect(await send(`{${MSG},"logprobs":"true"}`)).toMatchObject({ status: 400, code: 'MOAT_ERR_INVALID_REQUEST', upstream: null });
  });

  it('completions: echo, suffix and best_of are refused; integer logprobs (even 0) stripped', async () => {
    const P = '"model":"moat-demo","prompt":"hi"';
    expect(await send(`{${P},"echo":true}`, '/completions')).toMatchObject({ status: 400, upstream: null, record: { rules: ['deny:echo'] } });
    expect(await send(`{${P},"suffix":"x"}`, '/completions')).toMatchObject({ status: 400, upstream: null });
    expect(await send(`{${P},"best_of":20}`, '/completions')).toMatchObject({ status: 400, upstream: null });
    const z = await send(`{${P},"logprobs":0}`, '/completions');
    expect(z.status).toBe(200);
    expect(z.upstream).not.toHaveProperty('logprobs');
  });
});
