/**
 * The SQLite sink with its writer thread: records arrive in order and verify, flush() waits for
 * the thread, close() seals the head, a failed write is retried, and a dead writer thread hands
 * its work back to the main thread instead of losing it.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteAuditSink } from '../src/audit/sqlite-sink.js';
import { SqliteAuditStore } from '../src/audit/sqlite-store.js';
import { verifyLog } from '../src/audit/verify.js';
import { collect, record, seal, testSigner } from './helpers/audit.js';
import { memoryLogger, tempDir } from './helpers/gateway.js';

const open: SqliteAuditSink[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

function sink(logs: string[] = [], thread = true) {
  const { signer, trusted } = testSigner();
  const dir = tempDir('moat-sink-');
  const s = new SqliteAuditSink(dir, { flushMs: 60_000, maxQueue: 1_000, maxBatch: 7, seal: seal(signer, 10), log: memoryLogger(logs), thread });
  open.push(s);
  return { s, dir, trusted };
}

const ids = (s: SqliteAuditSink) => (s.db.prepare('SELECT data FROM audit_log ORDER BY seq').all() as Array<{ data: string }>).map((r) => (JSON.parse(r.data) as { requestId: string }).requestId);

describe('SQLite sink with a writer thread', () => {
  it('writes on the thread; flush waits for it; order kept across batches; close seals and the log verifies', async () => {
    const { s, dir, trusted } = sink();
    expect(s.threaded).toBe(true);
    for (let i = 1; i <= 30; i++) s.append(record(i));
    expect(s.queued()).toBe(30);
    s.flush();
    expect(s.queued()).toBe(0);
    expect(s.written).toBe(30);
    expect(ids(s)).toEqual(Array.from({ length: 30 }, (_, i) => `req_${i + 1}`));
    await s.close();
    open.pop();
    const store = new SqliteAuditStore(join(dir, 'audit.db'));
    const report = await verifyLog(store.rows(), store.checkpoints(), trusted);
    store.close();
    expect(report).toMatchObject({ ok: true, records: 30, sealed_through: 30, unsealed: 0 });
  });

  it('keeps a batch the writer could not store, and stores it once the cause is gone', () => {
    const logs: string[] = [];
    const { s } = sink(logs);
    s.append(record(1));
    s.flush();
    s.db.exec('ALTER TABLE audit_log RENAME TO audit_log_away');
    for (let i = 2; i <= 4; i++) s.append(record(i));
    s.flush();
    expect(s.queued()).toBe(3);
    expect(logs.join('')).toContain('audit log write failed; records kept in memory and retried');
    s.db.exec('ALTER TABLE audit_log_away RENAME TO audit_log');
    s.flush();
    expect(s.queued()).toBe(0);
    expect(ids(s)).toEqual(['req_1', 'req_2', 'req_3', 'req_4']);
    expect(logs.join('')).toContain('audit log writes recovered');
  });

  it('when the writer thread dies, writes go on from the main thread without losing a record', async () => {
    const logs: string[] = [];
    const { s, dir, trusted } = sink(logs);
    for (let i = 1; i <= 5; i++) s.append(record(i));
    s.flush();
    await (s as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    for (let i = 6; i <= 9; i++) s.append(record(i));
    s.flush();
    expect(s.threaded).toBe(false);
    expect(logs.join('')).toContain('the audit writer thread failed');
    expect(ids(s)).toEqual(Array.from({ length: 9 }, (_, i) => `req_${i + 1}`));
    await s.close();
    open.pop();
    const store = new SqliteAuditStore(join(dir, 'audit.db'));
    expect(await verifyLog(store.rows(), store.checkpoints(), trusted)).toMatchObject({ ok: true, records: 9 });
    store.close();
  });

  it('writes the same chain on the main thread when asked to', async () => {
    const { s } = sink([], false);
    expect(s.threaded).toBe(false);
    for (let i = 1; i <= 3; i++) s.append(record(i));
    s.flush();
    expect(ids(s)).toEqual(['req_1', 'req_2', 'req_3']);
    expect((await collect(s.store.rows())).map((r) => r.seq)).toEqual([1, 2, 3]);
  });
});
