/**
 * The SQLite audit writer thread: it receives batches of serialized records from the gateway's
 * main thread and chains, hashes, inserts and checkpoints them, so that no SQLite transaction
 * ever stalls the event loop that serves requests. After each batch it posts the outcome on its
 * result port, then raises the shared "done" counter (in that order, so a main thread woken by
 * the counter finds the outcome waiting). Started by SqliteAuditSink; not a public entry point.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { AuditSigner } from './checkpoint.js';
import { SqliteAuditStore, unpackRows } from './sqlite-store.js';

export interface WriterData {
  file: string;
  privateKey: KeyObject;
  everyRecords: number;
  everyMs: number;
  /** Int32Array over a SharedArrayBuffer: [0] = id of the last batch done. */
  done: SharedArrayBuffer;
  results: MessagePort;
}

/** `rows` as made by packRows(). */
export type WriterRequest = { id: number; rows: string[]; force: boolean } | { close: true };
export interface WriterResult {
  id: number;
  error: string | null;
}

if (parentPort) {
  const d = workerData as WriterData;
  const store = new SqliteAuditStore(d.file);
  const seal = { signer: new AuditSigner(d.privateKey), everyRecords: d.everyRecords, everyMs: d.everyMs };
  const done = new Int32Array(d.done);
  const port = parentPort;
  port.on('message', (m: WriterRequest) => {
    if ('close' in m) {
      store.close();
      d.results.close();
      port.close();
      return;
    }
    let error: string | null = null;
    try {
      store.writeRows(unpackRows(m.rows), seal, m.force);
    } catch (e) {
      error = (e as Error).message ?? String(e);
    }
    d.results.postMessage({ id: m.id, error } satisfies WriterResult);
    Atomics.store(done, 0, m.id);
    Atomics.notify(done, 0);
  });
}
