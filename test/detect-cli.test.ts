/**
 * `moat detect` as an operator runs it (needs `npm run build`, which `npm test` does): replay
 * prints one JSON line per principal; status, allow and clear work on the data directory.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DetectStore } from '../src/detect/sqlite-store.js';
import { runMoat } from './helpers/cli.js';
import { tempDir } from './helpers/gateway.js';

let dir: string;
beforeAll(() => {
  dir = tempDir('moat-detect-cli-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('moat detect', () => {
  it('replay --json prints {"principal","queries","flagged","first_flagged_at","max_score","signals"} per principal', () => {
    const lines: string[] = [];
    const t0 = Date.UTC(2025, 0, 1);
    const asks = [
      'How long should sourdough rise in a cold kitchen?',
      'My tomato leaves are turning yellow at the bottom. What is wrong with them?',
      'Write a short birthday note for my grandmother, who loves jazz and gardening.',
      'Explain the difference between a Roth IRA and a traditional one in plain words.',
      'What opening should a beginner learn first in chess, and why?',
      'Is it safe to visit an active volcano park with small children?',
      'Suggest a cosy knitting project that takes one weekend.',
      'Why does my Rust program complain that a value was moved?',
      'I wake up at 3am every night. Any tips that do not involve pills?',
      'How do whales sleep without drowning?',
      'Translate "see you next Tuesday at the station" into Spanish.',
      'Give me three dinner ideas with lentils and spinach.',
      'What were the main causes of the 1929 stock market crash?',
      'Help me word an email asking my landlord to fix the heating.',
      'Which houseplants survive in a dark bathroom?',
    ];
    for (let i = 0; i < 30; i++) {
      const content = asks[i % asks.length]!;
      lines.push(JSON.stringify({ ts: new Date(t0 + i * 600_000).toISOString(), principal: 'reader', tenant: 'a', route: 'chat', body: { model: 'm', messages: [{ role: 'user', content }] } }));
      lines.push(JSON.stringify({ ts: t0 + i * 2_000, principal: 'prober', ip: '203.0.113.9', route: 'completions', body: { model: 'm', prompt: `the ${i}`, max_tokens: 1, logit_bias: { '11': 100 } } }));
    }
    const input = join(dir, 'traffic.jsonl');
    writeFileSync(input, lines.join('\n') + '\n');
    const r = runMoat(['detect', 'replay', '--input', input, '--json']);
    expect(r.status).toBe(0);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out).toHaveLength(2);
    const prober = out.find((o) => o.principal === 'prober')!;
    expect(Object.keys(prober).sort()).toEqual(['first_flagged_at', 'flagged', 'max_score', 'principal', 'queries', 'signals']);
    expect(prober).toMatchObject({ queries: 30, flagged: true });
    expect(prober.signals).toContain('probe');
    expect(out.find((o) => o.principal === 'reader')).toMatchObject({ queries: 30, flagged: false, first_flagged_at: null });

    const bad = runMoat(['detect', 'replay', '--input', join(dir, 'missing.jsonl')]);
    expect(bad.status).not.toBe(0);
  });

  it('status shows a stored record with its signals; allow and clear change the store', () => {
    const dataDir = join(dir, 'data');
    const store = new DetectStore(dataDir);
    store.save([
      {
        principal: 'mallory',
        tenant: 't',
        risk: 0.93,
        peak: 0.95,
        flagged: true,
        flaggedAt: '2025-01-01T00:00:00.000Z',
        firstFlaggedAt: 12,
        queries: 40,
        signals: [{ name: 'template', value: 0.9, score: 1, detail: 'largest prefix key' }],
        fired: ['template'],
        examples: ['Is this product review positive? ...'],
        cluster: null,
        updatedAt: '2025-01-01T00:10:00.000Z',
      },
    ]);
    store.close();
    const list = runMoat(['detect', 'status', '--data-dir', dataDir]);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/mallory\s+risk 0\.93.*FLAGGED at request 12/);
    const one = runMoat(['detect', 'status', 'mallory', '--data-dir', dataDir, '--json']);
    expect(JSON.parse(one.stdout)).toMatchObject({ principal: 'mallory', fired: ['template'], allowed: false });

    expect(runMoat(['detect', 'allow', 'mallory', '--data-dir', dataDir]).status).toBe(0);
    const after = JSON.parse(runMoat(['detect', 'status', 'mallory', '--data-dir', dataDir, '--json']).stdout) as Record<string, unknown>;
    expect(after).toMatchObject({ record: null, allowed: true });
    expect(runMoat(['detect', 'clear', 'nobody', '--data-dir', dataDir]).stdout).toMatch(/had no record/);
  });
});
