/**
 * `moat audit` as an operator runs it, on the data directory of a gateway that served real
 * requests: verify (and name the record after each kind of tampering with the SQLite file),
 * query, export for detection replay, seal and anchor, prune.
 */
import Database from 'better-sqlite3';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMoat } from './helpers/cli.js';
import { startTestGateway, tempDir } from './helpers/gateway.js';

let dataDir: string;
const scratch: string[] = [];

beforeAll(async () => {
  const t = await startTestGateway({ rpm: 0, principal: 'alice', tenant: 'acme' });
  const c = new OpenAI({ baseURL: t.baseURL, apiKey: t.key, maxRetries: 0 });
  for (let i = 0; i < 6; i++) await c.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: `question ${i}` }], max_tokens: 3 });
  await c.chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'steal' }], logit_bias: { '3': 100 } }).catch(() => null);
  await c.completions.create({ model: 'moat-demo', prompt: 'the keeper', max_tokens: 2, echo: true }).catch(() => null);
  // A request without a valid key is logged, but has no principal to export for replay.
  await new OpenAI({ baseURL: t.baseURL, apiKey: 'moat_notakey', maxRetries: 0 }).chat.completions.create({ model: 'moat-demo', messages: [{ role: 'user', content: 'x' }] }).catch(() => null);
  // Closing flushes the queue and seals the head with a signed checkpoint; keep the data directory.
  await t.gw.close();
  dataDir = tempDir('moat-audit-cli-');
  for (const f of ['audit.db', 'audit-signing.pub', 'audit-signing.key']) copyFileSync(join(t.dataDir, f), join(dataDir, f));
  await t.close();
});
afterAll(() => {
  for (const d of [dataDir, ...scratch]) rmSync(d, { recursive: true, force: true });
});

/** A copy of the data directory, tampered with by `sql`. */
function tampered(...sql: string[]): string {
  const d = tempDir('moat-audit-tamper-');
  scratch.push(d);
  mkdirSync(d, { recursive: true });
  for (const f of ['audit.db', 'audit-signing.pub', 'audit-signing.key']) copyFileSync(join(dataDir, f), join(d, f));
  const db = new Database(join(d, 'audit.db'));
  for (const s of sql) db.exec(s);
  db.close();
  return d;
}

const verify = (dir: string, ...extra: string[]) => {
  const r = runMoat(['audit', 'verify', '--data-dir', dir, '--json', ...extra]);
  return { status: r.status, report: JSON.parse(r.stdout || '{}') as Record<string, unknown>, stderr: r.stderr };
};

describe('moat audit verify', () => {
  it('passes on the log as written, sealed to the end', () => {
    expect(verify(dataDir)).toMatchObject({ status: 0, report: { ok: true, records: 9, first_seq: 1, last_seq: 9, unsealed: 0 } });
    const human = runMoat(['audit', 'verify', '--data-dir', dataDir]);
    expect(human.stdout).toMatch(/^audit log OK: 9 records \(seq 1\.\.9\), \d+ signed checkpoints, sealed through seq 9 \(0 unsealed\)/);
  });

  it('fails and names the record that was changed, removed or reordered', () => {
    expect(verify(tampered(`UPDATE audit_log SET data = replace(data, 'question 2', 'question 9') WHERE seq = 3`))).toMatchObject({ status: 1, report: { ok: false, first_bad_seq: 3 } });
    expect(verify(tampered(`UPDATE audit_log SET outcome = 'allowed' WHERE seq = 7`))).toMatchObject({ status: 1, report: { ok: false, first_bad_seq: 7 } });
    expect(verify(tampered('DELETE FROM audit_log WHERE seq = 5'))).toMatchObject({ status: 1, report: { ok: false, first_bad_seq: 5, reason: 'record 5 is missing' } });
    expect(verify(tampered('UPDATE audit_log SET seq = -4 WHERE seq = 4', 'UPDATE audit_log SET seq = 4 WHERE seq = 5', 'UPDATE audit_log SET seq = 5 WHERE seq = -4'))).toMatchObject({ status: 1, report: { ok: false, first_bad_seq: 4 } });
    expect(verify(tampered('DELETE FROM audit_log WHERE seq >= 7'))).toMatchObject({ status: 1, report: { ok: false, first_bad_seq: 7 } });
    const human = runMoat(['audit', 'verify', '--data-dir', tampered('DELETE FROM audit_log WHERE seq = 2')]);
    expect(human.status).toBe(1);
    expect(human.stdout).toBe('audit log FAILED at record 2: record 2 is missing\n');
  });

  it('trusts only the given public key when one is given', () => {
    const other = join(tempDir('moat-key-'), 'other.pub');
    scratch.push(join(other, '..'));
    writeFileSync(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    expect(verify(dataDir, '--public-key', other)).toMatchObject({ status: 1, report: { ok: false, reason: expect.stringContaining('not trusted') } });
    expect(verify(dataDir, '--public-key', join(dataDir, 'audit-signing.pub'))).toMatchObject({ status: 0 });
  });

  it('with a checkpoint kept elsewhere (seal, then --anchor), finds a tail cut together with its checkpoints', () => {
    const dir = tampered();
    const seal = runMoat(['audit', 'seal', '--data-dir', dir, '--json']);
    expect(seal.status).toBe(0);
    const anchor = join(dir, 'anchor.json');
    writeFileSync(anchor, seal.stdout);
    expect(JSON.parse(seal.stdout)).toMatchObject({ seq: 9, keyId: expect.any(String) });
    // Cut the last records and every checkpoint that covered them: the chain alone still looks whole.
    const db = new Database(join(dir, 'audit.db'));
    db.exec('DELETE FROM audit_log WHERE seq > 6; DELETE FROM audit_checkpoint WHERE seq > 6');
    const remaining = (db.prepare('SELECT COUNT(*) AS n FROM audit_checkpoint').get() as { n: number }).n;
    db.close();
    if (remaining > 0) expect(verify(dir)).toMatchObject({ status: 0 });
    expect(verify(dir, '--anchor', anchor)).toMatchObject({ status: 1, report: { ok: false, first_bad_seq: 7, reason: expect.stringContaining('anchored checkpoint at seq 9') } });
  });
});

describe('moat audit query, export, prune', () => {
  it('query filters by decision and principal, and prints records without any key', () => {
    const r = runMoat(['audit', 'query', '--data-dir', dataDir, '--decision', 'denied']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.seq, l.rules, l.principal])).toEqual([
      [7, ['deny:logit_bias'], 'alice'],
      [8, ['deny:echo'], 'alice'],
      [9, [], null],
    ]);
    expect(lines[0]).toMatchObject({ principal: 'alice', tenant: 'acme', keyId: expect.any(String), sourceIp: '127.0.0.1' });
    expect(runMoat(['audit', 'query', '--data-dir', dataDir, '--principal', 'nobody']).stdout).toBe('');
    expect(runMoat(['audit', 'query', '--data-dir', dataDir, '--since', 'yesterday']).stderr).toContain("--since 'yesterday' is not a time");
  });

  it('export writes the JSON Lines that detection replay reads: the request as sent', () => {
    const out = join(dataDir, 'export.jsonl');
    const r = runMoat(['audit', 'export', '--data-dir', dataDir, '--out', out, '--since', '1h']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('exported 8 requests');
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(8);
    expect(Object.keys(lines[0]!)).toEqual(['ts', 'principal', 'tenant', 'ip', 'route', 'body']);
    expect(lines[0]).toMatchObject({ principal: 'alice', tenant: 'acme', ip: '127.0.0.1', route: 'chat', body: { model: 'moat-demo', max_tokens: 3, messages: [{ role: 'user', content: 'question 0' }] } });
    expect(lines[7]).toMatchObject({ route: 'completions', body: { prompt: 'the keeper', echo: true } });
    // The file is what detection replay reads, as it is.
    const replay = runMoat(['detect', 'replay', '--input', out, '--json']);
    expect(replay.status).toBe(0);
    expect(JSON.parse(replay.stdout.trim().split('\n')[0]!)).toMatchObject({ principal: 'alice', queries: 8 });
  });

  it('prune removes old records up to a checkpoint and the log still verifies', () => {
    const dir = tampered();
    expect(runMoat(['audit', 'seal', '--data-dir', dir]).status).toBe(0);
    const r = runMoat(['audit', 'prune', '--data-dir', dir, '--older-than', '0s', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ removed: 9, throughSeq: 9 });
    expect(verify(dir)).toMatchObject({ status: 0, report: { ok: true, first_seq: 10, last_seq: 10, records: 1 } });
    expect(runMoat(['audit', 'prune', '--data-dir', dir, '--older-than', 'soon']).stderr).toContain('is not an age');
  });

  it('refuses to sign with a new key when the private key is gone but its public key is kept', () => {
    const dir = tampered();
    rmSync(join(dir, 'audit-signing.key'));
    const r = runMoat(['audit', 'seal', '--data-dir', dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^moat: cannot load the audit signing key: audit-signing.key is missing/);
  });
});
