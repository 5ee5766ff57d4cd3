/**
 * The `moat` command as a user runs it: help, config check, keys created while `moat serve`
 * runs on the same data directory, quick mode with model discovery, and the demo.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoUpstream } from '../src/demo/server.js';
import { runMoat, startMoat } from './helpers/cli.js';
import { tempDir } from './helpers/gateway.js';

let demo: Awaited<ReturnType<typeof startDemoUpstream>>;
let dir: string;

beforeAll(async () => {
  demo = await startDemoUpstream();
  dir = tempDir('moat-cli-');
});
afterAll(async () => {
  await demo.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('moat CLI', () => {
  it('--help lists the commands', () => {
    const r = runMoat(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['serve', 'demo', 'keys', 'config']) expect(r.stdout).toContain(c);
  });

  it('config check reports every problem with its key, and exits 2', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'server:\n  prot: 80\nmodels:\n  m:\n    upstream:\n      baseURL: http://127.0.0.1:1/v1\n      apiKey: ${NOT_SET_ANYWHERE}\n');
    const r = runMoat(['config', 'check', bad], { env: { NOT_SET_ANYWHERE: '' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('models.m.upstream.apiKey: environment variable NOT_SET_ANYWHERE is not set');
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'models:\n  m:\n    upstream:\n      baseURL: http://127.0.0.1:1/v1\n');
    const ok = runMoat(['config', 'check', good, '--json']);
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ ok: true, file: good, models: ['m'] });
  });

  it('serve rejects an unknown configuration key at start-up, naming it', () => {
    const bad = join(dir, 'typo.yaml');
    writeFileSync(bad, 'models:\n  m:\n    upstream:\n      baseURL: http://127.0.0.1:1/v1\n      timeout: 5\n');
    const r = runMoat(['serve', '--config', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/models\.m\.upstream: unknown key 'timeout'/);
  });

  it('keys created from the CLI work on a server already running on the same data directory', async () => {
    const dataDir = join(dir, 'data');
    const server = await startMoat(['serve', '--upstream', demo.baseURL, '--port', '0', '--data-dir', dataDir], /at (http:\/\/\S+\/v1)/);
    try {
      const baseURL = server.match[1]!;
      expect(server.output()).toContain('moat-demo'); // discovered from the upstream's /v1/models
      const created = runMoat(['keys', 'create', '--principal', 'dana', '--tenant', 'labs', '--data-dir', dataDir, '--json']);
      expect(created.status).toBe(0);
      const k = JSON.parse(created.stdout) as { id: string; key: string; principal: string };
      expect(k).toMatchObject({ principal: 'dana', id: expect.stringMatching(/^key_/), key: expect.stringMatching(/^moat_/) });

      const client = new OpenAI({ baseURL, apiKey: k.key, maxRetries: 0 });
      const r = await client.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'hello' }], max_tokens: 3 });
      expect(r.choices[0]!.message.content).toBeTruthy();

      // The key is stored only as a hash.
      const db = readFileSync(join(dataDir, 'identity.db'));
      expect(db.includes(Buffer.from(k.key))).toBe(false);

      const list = runMoat(['keys', 'list', '--data-dir', dataDir, '--json']);
      expect(list.stdout).not.toContain(k.key);
      expect(JSON.parse(list.stdout).keys[0]).toMatchObject({ id: k.id, principal: 'dana', revokedAt: null });
    } finally {
      expect(await server.stop()).toBe(0);
    }
    // A clean shutdown flushed the audit log.
    expect(existsSync(join(dataDir, 'audit.db'))).toBe(true);
  });

  it('quick mode explains an unreachable upstream', () => {
    const r = runMoat(['serve', '--upstream', 'http://127.0.0.1:9/v1', '--port', '0', '--data-dir', join(dir, 'x')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the upstream.*--model/);
  });

  it('demo starts on embedded defaults, prints a key, writes demo.json, and answers', async () => {
    const cwd = tempDir('moat-demo-');
    const d = await startMoat(['demo', '--port', '0'], /Demo API key: (moat_\S+)/, { cwd });
    try {
      const file = JSON.parse(readFileSync(join(cwd, '.moat', 'demo.json'), 'utf8')) as { baseURL: string; apiKey: string };
      expect(file.apiKey).toBe(d.match[1]);
      expect(d.output()).toContain('curl');
      const client = new OpenAI({ baseURL: file.baseURL, apiKey: file.apiKey, maxRetries: 0 });
      const r = await client.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'castle' }], logprobs: true });
      expect(r.choices[0]!.logprobs ?? null).toBeNull();
    } finally {
      await d.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
