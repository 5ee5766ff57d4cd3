/**
 * Audit test helpers: records, a signer, and the two stores behind one small interface so that
 * the same contract tests (and the same tampering) run on SQLite and on PostgreSQL.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { AuditSigner, type SealPolicy } from '../../src/audit/checkpoint.js';
import { PgAuditStore } from '../../src/audit/pg-store.js';
import type { AuditRecord } from '../../src/audit/record.js';
import type { SqliteAuditSink } from '../../src/audit/sqlite-sink.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-store.js';
import type { AuditStore } from '../../src/audit/store.js';
import { tempDir } from './gateway.js';

export const PG_URL = process.env.MOAT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The URL that answered in {@link pgAvailable}. */
export const pgUrl = () => process.env.MOAT_TEST_PG_URL ?? PG_URL;

/** True when the local PostgreSQL answers; tests that need it skip with a visible message otherwise. */
export async function pgAvailable(): Promise<boolean> {
  for (const url of [PG_URL, PG_URL.replace('//postgres@', '//root@')]) {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
    try {
      await c.connect();
      await c.end();
      if (url !== PG_URL) process.env.MOAT_TEST_PG_URL = url;
      return true;
    } catch {
      await c.end().catch(() => undefined);
    }
  }
  console.warn(`PostgreSQL is not reachable at ${PG_URL}: skipping the PostgreSQL audit tests`);
  return false;
}

export function testSigner(): { signer: AuditSigner; publicKey: KeyObject; trusted: Map<string, KeyObject> } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const signer = new AuditSigner(privateKey);
  return { signer, publicKey: signer.publicKey, trusted: new Map([[signer.keyId, signer.publicKey]]) };
}

export function seal(signer: AuditSigner, everyRecords = 10): SealPolicy {
  return { signer, everyRecords, everyMs: 3_600_000 };
}

export function record(i: number, o: Partial<AuditRecord> = {}): AuditRecord {
  return {
    kind: 'request',
    ts: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
    requestId: `req_${i}`,
    principal: i % 2 ? 'alice' : 'bob',
    tenant: i % 3 ? 'acme' : 'globex',
    keyId: `key_${i % 2}`,
    sourceIp: '127.0.0.1',
    route: 'chat',
    model: 'm',
    stream: false,
    params: { model: 'm', max_tokens: i },
    prompt: [{ role: 'user', content: `question ${i}` }],
    promptMode: 'full',
    outcome: i % 5 === 0 ? 'denied' : 'allowed',
    status: i % 5 === 0 ? 400 : 200,
    errorCode: null,
    rules: [],
    promptTokens: 3,
    completionTokens: 2,
    outputBytes: 10,
    latencyMs: 1,
    risk: null,
    ...o,
  };
}

/** A store plus raw SQL access for tampering, on a fresh database. */
export interface Backend {
  store: AuditStore;
  /** Runs SQL with `?` placeholders. */
  exec(sql: string, ...params: unknown[]): Promise<void>;
  dispose(): Promise<void>;
}

export function sqliteBackend(): Backend {
  const store = new SqliteAuditStore(join(tempDir('moat-audit-'), 'audit.db'));
  return {
    store,
    exec: async (sql, ...params) => {
      store.db.prepare(sql).run(...params);
    },
    dispose: async () => store.close(),
  };
}

export function pgBackend(): Backend {
  const schema = `moat_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const store = new PgAuditStore({ url: pgUrl(), schema, poolSize: 2 });
  const qualify = (sql: string) => sql.replace(/\baudit_(log|checkpoint)\b/g, `"${schema}".audit_$1`);
  return {
    store,
    exec: async (sql, ...params) => {
      let i = 0;
      await store.pool.query(qualify(sql).replace(/\?/g, () => `$${++i}`), params);
    },
    dispose: async () => {
      await store.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await store.close();
    },
  };
}

export async function collect<T>(it: Iterable<T> | AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Every record a test gateway wrote so far (flushed first), oldest first. */
export function gatewayRecords(t: { gw: { auditSink: unknown } }): AuditRecord[] {
  const sink = t.gw.auditSink as SqliteAuditSink;
  sink.flush();
  return (sink.db.prepare('SELECT data FROM audit_log ORDER BY seq').all() as Array<{ data: string }>).map((r) => JSON.parse(r.data) as AuditRecord);
}
