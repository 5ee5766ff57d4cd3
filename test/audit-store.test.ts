/**
 * The audit store contract, on SQLite and on PostgreSQL alike: one chain with signed
 * checkpoints; every kind of tampering found and named; retention that keeps the rest
 * verifiable; queries and the export format.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS, chainHash } from '../src/audit/chain.js';
import { exportLine } from '../src/audit/query.js';
import type { AuditRecord } from '../src/audit/record.js';
import { verifyLog } from '../src/audit/verify.js';
import { collect, pgAvailable, pgBackend, pgUrl, record, seal, sqliteBackend, testSigner, type Backend } from './helpers/audit.js';

const hasPg = await pgAvailable();
const backends: Array<[string, () => Backend, boolean]> = [
  ['sqlite', sqliteBackend, true],
  ['postgres', pgBackend, hasPg],
];

for (const [name, make, available] of backends) {
  describe.skipIf(!available)(`audit store on ${name}`, () => {
    let b: Backend;
    const { signer, trusted } = testSigner();
    const sealing = seal(signer, 10);
    const verify = async () => verifyLog(b.store.rows(), await b.store.checkpoints(), trusted);

    /** 50 records in batches of 5: checkpoints at 5, 15, 25, 35, 45. */
    async function fill(n = 50) {
      for (let i = 1; i <= n; i += 5) await b.store.write(Array.from({ length: 5 }, (_, k) => record(i + k)), sealing);
    }

    beforeEach(async () => {
      b = make();
      await fill();
    });
    afterEach(() => b.dispose());

    it('an untouched log verifies, sealed up to the last checkpoint', async () => {
      expect((await b.store.checkpoints()).map((c) => c.seq)).toEqual([5, 15, 25, 35, 45]);
      expect(await verify()).toEqual({ ok: true, records: 50, first_seq: 1, last_seq: 50, checkpoints: 5, sealed_through: 45, unsealed: 5 });
      await b.store.write([], sealing, true);
      expect(await verify()).toMatchObject({ ok: true, sealed_through: 50, unsealed: 0 });
    });

    it('names a record changed in place', async () => {
      await b.exec(`UPDATE audit_log SET data = replace(data, '"outcome":"denied"', '"outcome":"allowed"') WHERE seq = 10`);
      expect(await verify()).toMatchObject({ ok: false, first_bad_seq: 10, reason: 'record 10 was changed after it was written' });
    });

    it('names an indexed column changed beside its record', async () => {
      await b.exec(`UPDATE audit_log SET principal = 'mallory' WHERE seq = 9`);
      expect(await verify()).toMatchObject({ ok: false, first_bad_seq: 9, reason: 'the principal column of record 9 was changed' });
    });

    it('names a removed record', async () => {
      await b.exec('DELETE FROM audit_log WHERE seq = 7');
      expect(await verify()).toMatchObject({ ok: false, first_bad_seq: 7, reason: 'record 7 is missing' });
    });

    it('names reordered records', async () => {
      await b.exec('UPDATE audit_log SET seq = -1 WHERE seq = 22');
      await b.exec('UPDATE audit_log SET seq = 22 WHERE seq = 23');
      await b.exec('UPDATE audit_log SET seq = 23 WHERE seq = -1');
      expect(await verify()).toMatchObject({ ok: false, first_bad_seq: 22 });
    });

    it('finds a stretch rewritten with recomputed hashes through the next signed checkpoint', async () => {
      const rows = await collect(b.store.rows());
      let prev = rows[10]!.prevHash; // record 11
      for (const r of rows.slice(10)) {
        const data = r.seq === 12 ? r.data.replace('question 12', 'nothing to see') : r.data;
        const hash = chainHash(prev, data);
        await b.exec('UPDATE audit_log SET data = ?, prev_hash = ?, hash = ? WHERE seq = ?', data, prev, hash, r.seq);
        prev = hash;
      }
      expect(await verify()).toMatchObject({ ok: false, first_bad_seq: 6, reason: 'records 6..15 were rewritten: they no longer match the checkpoint signed at seq 15' });
    });

    it('finds records cut from the end', async () => {
      await b.exec('DELETE FROM audit_log WHERE seq > 30');
      expect(await verify()).toMatchObject({ ok: false, first_bad_seq: 31, reason: 'records 31..45 were removed from the end (a signed checkpoint covers seq 45)' });
    });

    it('finds records removed from the start without retention', async () => {
      await b.exec('DELETE FROM audit_log WHERE seq <= 15');
      expect(await verify()).toMatchObject({ ok: false, first_bad_seq: 1, reason: 'records 1..15 were removed without a retention record' });
    });

    it('finds a forged, removed or untrusted checkpoint', async () => {
      await b.exec(`UPDATE audit_checkpoint SET hash = ? WHERE seq = 25`, GENESIS);
      expect(await verify()).toMatchObject({ ok: false, first_bad_seq: 25, reason: expect.stringContaining('signature does not match') });
      await b.exec('DELETE FROM audit_checkpoint WHERE seq = 25');
      expect(await verify()).toMatchObject({ ok: false, first_bad_seq: 35, reason: 'the checkpoint before the one at seq 35 was removed or changed' });
      const other = testSigner();
      expect(await verifyLog(b.store.rows(), await b.store.checkpoints(), other.trusted)).toMatchObject({ ok: false, reason: expect.stringContaining('not trusted') });
    });

    it('retention cuts only up to a signed checkpoint, logs itself, and the rest still verifies', async () => {
      // Records 1..50 are stamped 2025-01-01T00:00:01..50; keep those from second 20 on.
      const r = await b.store.prune('2025-01-01T00:00:20.000Z', sealing);
      expect(r).toEqual({ removed: 15, throughSeq: 15 });
      const rows = await collect(b.store.rows());
      expect(rows[0]!.seq).toBe(16);
      const last = JSON.parse(rows.at(-1)!.data) as AuditRecord;
      expect(last).toMatchObject({ kind: 'admin', route: 'admin:audit.retention', params: { action: 'audit.retention', throughSeq: 15, removed: 15 } });
      expect(await verify()).toMatchObject({ ok: true, first_seq: 16, last_seq: 51, sealed_through: 51 });
      // Nothing more may go quietly.
      await b.exec('DELETE FROM audit_log WHERE seq <= 25');
      expect(await verify()).toMatchObject({ ok: false, first_bad_seq: 16, reason: 'records 16..25 were removed without a retention record' });
    });

    it('retention of every record leaves a chain that new records continue', async () => {
      await b.store.write([], sealing, true);
      expect(await b.store.prune('2030-01-01T00:00:00.000Z', sealing)).toEqual({ removed: 50, throughSeq: 50 });
      await b.store.write([record(60), record(61)], sealing);
      expect(await verify()).toMatchObject({ ok: true, first_seq: 51, last_seq: 53, records: 3 });
    });

    it('retention with no checkpoint before the cut-off removes nothing', async () => {
      expect(await b.store.prune('2025-01-01T00:00:03.000Z', sealing)).toEqual({ removed: 0, throughSeq: null });
      expect(await verify()).toMatchObject({ ok: true, records: 50 });
    });

    it('queries by principal, tenant, model, decision and time, and exports what detection replay reads', async () => {
      const bob = await collect(b.store.query({ principal: 'bob', decision: 'denied' }));
      expect(bob.map((r) => r.seq)).toEqual([10, 20, 30, 40, 50]);
      const window = await collect(b.store.query({ tenant: 'globex', since: '2025-01-01T00:00:10.000Z', until: '2025-01-01T00:00:20.000Z' }));
      expect(window.map((r) => r.seq)).toEqual([12, 15, 18]);
      expect(await collect(b.store.query({ model: 'other' }))).toEqual([]);
      expect((await collect(b.store.query({ limit: 3, afterSeq: 40 }))).map((r) => r.seq)).toEqual([41, 42, 43]);
      const line = exportLine(JSON.parse(bob[0]!.data) as AuditRecord);
      expect(line).toEqual({
        ts: '2025-01-01T00:00:10.000Z',
        principal: 'bob',
        tenant: 'acme',
        ip: '127.0.0.1',
        route: 'chat',
        body: { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'question 10' }] },
      });
    });
  });
}

describe.skipIf(!hasPg)('audit store on postgres, several writers', () => {
  it('two stores on one database build one unbroken chain', async () => {
    const a = pgBackend();
    const { signer, trusted } = testSigner();
    try {
      await a.store.write([record(0)], seal(signer));
      const schema = (a.store as unknown as { o: { schema: string } }).o.schema;
      const { PgAuditStore } = await import('../src/audit/pg-store.js');
      const other = new PgAuditStore({ url: pgUrl(), schema, poolSize: 2 });
      const writes: Array<Promise<void>> = [];
      for (let i = 1; i <= 20; i++) writes.push((i % 2 ? a.store : other).write([record(i), record(i + 100)], seal(signer, 7)) as Promise<void>);
      await Promise.all(writes);
      await other.close();
      expect(await verifyLog(a.store.rows(), await a.store.checkpoints(), trusted)).toMatchObject({ ok: true, records: 41 });
    } finally {
      await a.dispose();
    }
  });
});
