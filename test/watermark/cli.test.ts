/**
 * `moat watermark embed|detect|probe` as a user runs them: the built binary, a temporary data
 * directory with real tenants, a real endpoint on port 0 for the probe. Needs `npm run build`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteIdentityStore } from '../../src/identity/sqlite-store.js';
import { PROSE } from './fixtures.js';
import { startFixedUpstream } from './upstream.js';

const BIN = join(import.meta.dirname, '../../bin/moat.js');
const SECRET = 'cli-test-watermark-secret-0123456789abcdef';
let dir: string;

function run(args: string[], input = '', env: Record<string, string> = { MOAT_WATERMARK_SECRET: SECRET }): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, cwd: dir });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, out, err }));
    p.stdin.end(input);
  });
}

const LONG = Array.from({ length: 12 }, (_, i) => PROSE.replace(/\bWe\b/g, ['They', 'You', 'People', 'Teams'][i % 4]!).replace(/\bten\b/, String(i + 2))).join('\n\n');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'moat-wm-cli-'));
  const store = new SqliteIdentityStore(dir);
  for (const t of ['acme', 'globex', 'initech', 'hooli', 'umbrella']) await store.ensurePrincipal({ name: `${t}-bot`, tenant: t, roles: ['user'], limits: {} });
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('moat watermark', () => {
  it('embed marks stdin; detect names the tenant among those of the data directory', async () => {
    const e = await run(['watermark', 'embed', '--tenant', 'globex', '--stats'], LONG);
    expect(e.code).toBe(0);
    expect(e.out).not.toBe(LONG);
    expect(e.err).toMatch(/words changed/);
    writeFileSync(join(dir, 'marked.jsonl'), e.out.split('\n\n').map((text) => JSON.stringify({ text })).join('\n') + '\n');
    const d = await run(['watermark', 'detect', '--input', 'marked.jsonl', '--data-dir', dir, '--json']);
    expect(d.code).toBe(0);
    const r = JSON.parse(d.out) as { scored: number; hits: number; z: number; p_value: number; tenant: string; tenants: { tenant: string; p_value: number }[] };
    expect(r.tenant).toBe('globex');
    expect(r.p_value).toBeLessThan(1e-3);
    expect(r.tenants).toHaveLength(5);
    expect(r.tenants[0]!.tenant).toBe('globex');
    expect(r.hits).toBe(r.scored);
  });

  it('detect on clean text names nobody', async () => {
    writeFileSync(join(dir, 'clean.jsonl'), JSON.stringify({ text: LONG }) + '\n');
    const d = await run(['watermark', 'detect', '--input', 'clean.jsonl', '--data-dir', dir, '--json']);
    const r = JSON.parse(d.out) as { tenant: string | null; p_value: number };
    expect(r.tenant).toBeNull();
    expect(r.p_value).toBeGreaterThan(1e-3);
  });

  it('detect --student counts repeated contexts and takes a clean reference; clean text names nobody', async () => {
    // The marked answers written three times over: what a student that learned them writes.
    writeFileSync(join(dir, 'student.jsonl'), [1, 2, 3].map(() => JSON.stringify({ text: LONG })).join('\n') + '\n');
    const clean = await run(['watermark', 'detect', '--input', 'student.jsonl', '--data-dir', dir, '--student', '--reference', 'clean.jsonl', '--json']);
    expect(clean.code).toBe(0);
    expect((JSON.parse(clean.out) as { tenant: string | null }).tenant).toBeNull();
    const marked = (await run(['watermark', 'embed', '--tenant', 'initech'], LONG)).out;
    writeFileSync(join(dir, 'student.jsonl'), [1, 2, 3].map(() => JSON.stringify({ text: marked })).join('\n') + '\n');
    const d = await run(['watermark', 'detect', '--input', 'student.jsonl', '--data-dir', dir, '--student', '--reference', 'clean.jsonl', '--json']);
    const r = JSON.parse(d.out) as { tenant: string | null; p_value: number; tenants: unknown[] };
    expect(r.tenant).toBe('initech');
    expect(r.p_value).toBeLessThan(1e-3);
    expect(r.tenants).toHaveLength(5);
    expect((await run(['watermark', 'detect', '--input', 'student.jsonl', '--tenant', 'acme', '--reference', 'clean.jsonl'])).code).toBe(2);
  });

  it('bad input and a missing secret are clear errors', async () => {
    writeFileSync(join(dir, 'bad.jsonl'), '{"text": "ok"}\nnot json\n');
    const bad = await run(['watermark', 'detect', '--input', 'bad.jsonl', '--tenant', 'acme']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/bad\.jsonl:2: not JSON/);
    const noSecret = await run(['watermark', 'detect', '--input', 'clean.jsonl', '--tenant', 'acme', '--data-dir', join(dir, 'empty')], '', {});
    expect(noSecret.code).toBe(2);
    expect(noSecret.err).toMatch(/no watermark secret/);
  });

  it('probe asks a live endpoint, bounded, and detects its watermark', async () => {
    const marked = (await run(['watermark', 'embed', '--tenant', 'acme'], LONG)).out;
    const suspect = await startFixedUpstream(marked);
    try {
      writeFileSync(join(dir, 'prompts.txt'), 'one\ntwo\nthree\nfour\n');
      const t0 = Date.now();
      const p = await run(['watermark', 'probe', '--endpoint', suspect.baseURL, '--model', 'fixed', '--api-key', 'sk-secret-value', '--prompts', 'prompts.txt', '--max', '3', '--rps', '10', '--data-dir', dir, '--json']);
      expect(p.code).toBe(0);
      const r = JSON.parse(p.out) as { tenant: string; requests: number };
      expect(r.requests).toBe(3);
      expect(r.tenant).toBe('acme');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(200); // 3 requests at 10/s
      expect(p.out + p.err).not.toContain('sk-secret-value');
      const over = await run(['watermark', 'probe', '--endpoint', suspect.baseURL, '--model', 'fixed', '--prompts', 'prompts.txt', '--max', '500']);
      expect(over.code).not.toBe(0);
      expect(over.err).toMatch(/at most 200/);
    } finally {
      await suspect.close();
    }
  });
});
