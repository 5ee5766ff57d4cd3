import { describe, expect, it } from 'vitest';
import { BatchingAuditSink } from '../../src/audit/batching-sink.js';
import type { AuditRecord } from '../../src/audit/record.js';
import type { AuditStore } from '../../src/audit/store.js';
import { memoryLogger } from '../helpers/gateway.js';
import { record, seal, testSigner } from '../helpers/audit.js';

/** A store that keeps what it was given, and fails while `down` is set. */
function fakeStore(async: boolean) {
  const written: AuditRecord[] = [];
  const forced: number[] = [];
  const s = {
    down: false,
    written,
    forced,
    write(records: readonly AuditRecord[], _seal: unknown, force?: boolean) {
      const run = () => {
        if (s.down) throw new Error('disk full');
        written.push(...records);
        if (force) forced.push(written.length);
      };
      if (!async) return run();
      return new Promise<void>((resolve, reject) => setTimeout(() => (s.down ? reject(new Error('down')) : resolve(run())), 5));
    },
    rows: () => [],
    checkpoints: () => [],
    query: () => [],
    prune: () => ({ removed: 0, throughSeq: null }),
    close: () => undefined,
  };
  return s;
}

const opts = (logs: string[], maxQueue = 100) => ({ flushMs: 60_000, maxQueue, maxBatch: 10, seal: seal(testSigner().signer), log: memoryLogger(logs) });

for (const async of [false, true]) {
  describe(`batching sink over a ${async ? 'n asynchronous' : ' synchronous'} store`, () => {
    it('never drops a record: a failed write keeps its batch, in order, for the next flush', async () => {
      const store = fakeStore(async);
      const logs: string[] = [];
      const sink = new BatchingAuditSink(store as unknown as AuditStore, opts(logs));
      for (let i = 1; i <= 5; i++) sink.append(record(i));
      store.down = true;
      await sink.flush();
      expect(store.written).toEqual([]);
      expect(sink.queued()).toBe(5);
      expect(logs.join('')).toContain('audit log write failed');
      for (let i = 6; i <= 8; i++) sink.append(record(i));
      store.down = false;
      await sink.flush();
      expect(store.written.map((r) => r.requestId)).toEqual(['req_1', 'req_2', 'req_3', 'req_4', 'req_5', 'req_6', 'req_7', 'req_8']);
      expect(sink.queued()).toBe(0);
      await sink.close();
    });

    it('refuses new work when the queue is full instead of dropping records', async () => {
      const store = fakeStore(async);
      const sink = new BatchingAuditSink(store as unknown as AuditStore, opts([], 25));
      for (let i = 0; i < 24; i++) sink.append(record(i));
      expect(sink.accepting()).toBe(true);
      sink.append(record(24));
      expect(sink.accepting()).toBe(false);
      await sink.close();
      expect(store.written).toHaveLength(25);
    });

    it('writes at most maxBatch records per transaction, and close writes the rest and seals the head', async () => {
      const store = fakeStore(async);
      const sizes: number[] = [];
      const write = store.write.bind(store);
      store.write = (r, s, f) => {
        sizes.push(r.length);
        return write(r, s, f);
      };
      const sink = new BatchingAuditSink(store as unknown as AuditStore, opts([]));
      for (let i = 0; i < 35; i++) sink.append(record(i));
      await sink.close();
      expect(store.written).toHaveLength(35);
      expect(Math.max(...sizes)).toBe(10);
      expect(store.forced).toEqual([35]);
    });
  });
}
