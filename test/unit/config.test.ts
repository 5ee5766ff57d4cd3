import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../src/config/load.js';

const ok = `
models:
  llama:
    upstream:
      baseURL: http://127.0.0.1:8000/v1
      model: meta-llama/Llama-3.1-8B-Instruct
      apiKey: \${VLLM_KEY}
`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfigText(text, env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('configuration', () => {
  it('fills defaults and interpolates secrets from the environment', () => {
    const cfg = parseConfigText(ok, { VLLM_KEY: 'from-env' });
    expect(cfg.models.llama!.upstream.apiKey).toBe('from-env');
    expect(cfg.models.llama!.upstream.timeouts.firstTokenMs).toBe(60_000);
    expect(cfg.server.port).toBe(8080);
    expect(cfg.limits.defaults.rpm).toBe(600);
  });

  it('a missing secret names the key and the variable', () => {
    expect(problems(ok)).toEqual([expect.stringMatching(/^models\.llama\.upstream\.apiKey: environment variable VLLM_KEY is not set/)]);
  });

  it('an unknown key is named with its path', () => {
    const p = problems(`${ok}    ownedby: me\n`, { VLLM_KEY: 'x' });
    expect(p).toEqual([expect.stringMatching(/^models\.llama: unknown key 'ownedby'/)]);
  });

  it('a wrong type says what was expected', () => {
    const p = problems(`server:\n  port: "eighty"\n${ok}`, { VLLM_KEY: 'x' });
    expect(p[0]).toMatch(/^server\.port: expected number, received string/);
  });

  it('a bad URL is explained', () => {
    const p = problems(`models:\n  m:\n    upstream:\n      baseURL: ftp://x\n`);
    expect(p[0]).toMatch(/^models\.m\.upstream\.baseURL: expected an http:\/\/ or https:\/\/ URL/);
  });

  it('requires at least one model, and YAML syntax errors are reported', () => {
    expect(problems('server: {}\n')[0]).toMatch(/^models: /);
    expect(problems('models: [\n')[0]).toMatch(/moat\.yaml/);
  });

  it('duplicate keys in YAML are refused', () => {
    expect(problems(`models:\n  a:\n    upstream:\n      baseURL: http://a/v1\n  a:\n    upstream:\n      baseURL: http://b/v1\n`)[0]).toMatch(/[Dd]uplicate|unique/);
  });
});
