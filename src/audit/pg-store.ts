/**
 * The audit log in PostgreSQL, for deployments with several gateway replicas: the same tables,
 * chain and checkpoints as the SQLite store. Writers serialize on a transaction-scoped advisory
 * lock and read the chain head inside the transaction, so every replica appends to one chain.
 * Rows go in with one INSERT ... SELECT FROM unnest(...) per batch.
 */
import pg from 'pg';
import { GENESIS, linkRecords } from './chain.js';
import { checkpointDigest, sealDue, type Checkpoint, type SealPolicy } from './checkpoint.js';
import { ROW_COLUMNS, whereClause, type AuditFilter, type StoredRow } from './query.js';
import type { AuditRecord } from './record.js';
import { pruneTarget, schemaSql, type AuditStore, type PruneResult } from './store.js';
import { retentionRecord } from './verify.js';

/** Same number for every replica: the lock that serializes chain appends. */
const LOCK_ID = 0x6d6f6174; // 'moat'
const PAGE = 5_000;

export interface PgAuditOptions {
  url: string;
  /** Schema holding the tables (created when missing). */
  schema: string;
  poolSize: number;
}


const CP_COLUMNS = 'seq, hash, ts, prev, key_id AS "keyId", signature';
const toRow = (r: StoredRow): StoredRow => ({ ...r, seq: Number(r.seq) });
const toCp = (c: Checkpoint): Checkpoint => ({ ...c, seq: Number(c.seq) });

export class PgAuditStore implements AuditStore {
  readonly pool: pg.Pool;
  private readonly t: string;
  private readonly cpT: string;
  private ready: Promise<void> | null = null;

  constructor(private readonly o: PgAuditOptions) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(o.schema)) throw new Error(`invalid PostgreSQL schema name '${o.schema.slice(0, 64)}'`);
    this.pool = new pg.Pool({ connectionString: o.url, max: o.poolSize });
    this.t = `"${o.schema}".audit_log`;
    this.cpT = `"${o.schema}".audit_checkpoint`;
  }

  /** Creates the schema and tables once (concurrent replicas serialize on the same lock). */
  init(): Promise<void> {
    this.ready ??= this.tx(async (c) => {
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${this.o.schema}";` + schemaSql(`"${this.o.schema}".`, { seq: 'BIGINT', id: 'BIGSERIAL' }));
    });
    return this.ready;
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID]);
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  private async appendLocked(c: pg.PoolClient, records: readonly AuditRecord[], seal: SealPolicy, force: boolean): Promise<void> {
    const h = (await c.query<{ seq: string; hash: string }>(`SELECT seq, hash FROM ${this.t} ORDER BY seq DESC LIMIT 1`)).rows[0];
    const lastRow = (await c.query<Checkpoint>(`SELECT ${CP_COLUMNS} FROM ${this.cpT} ORDER BY id DESC LIMIT 1`)).rows[0];
    const last = lastRow ? toCp(lastRow) : null;
    // After retention removed every record, the chain continues from the anchoring checkpoint.
    const head = h ? { seq: Number(h.seq), hash: h.hash } : last;
    const rows = linkRecords(head, records.map((r) => JSON.stringify(r)));
    if (rows.length > 0) {
      const col = <K extends keyof AuditRecord>(k: K) => records.map((r) => r[k]);
      await c.query(
        `INSERT INTO ${this.t} (seq, ts, kind, principal, tenant, model, route, outcome, data, prev_hash, hash)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])`,
        [rows.map((r) => r.seq), col('ts'), col('kind'), col('principal'), col('tenant'), col('model'), col('route'), col('outcome'), rows.map((r) => r.data), rows.map((r) => r.prevHash), rows.map((r) => r.hash)],
      );
    }
    const top = rows.at(-1) ?? head;
    if (!top) return;
    if (!sealDue(top.seq, last, seal, force)) return;
    const cp = seal.signer.sign({ seq: top.seq, hash: top.hash, prev: last ? checkpointDigest(last) : GENESIS });
    await c.query(`INSERT INTO ${this.cpT} (seq, hash, ts, prev, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6)`, [cp.seq, cp.hash, cp.ts, cp.prev, cp.keyId, cp.signature]);
  }

  async write(records: readonly AuditRecord[], seal: SealPolicy, force = false): Promise<void> {
    await this.init();
    await this.tx((c) => this.appendLocked(c, records, seal, force));
  }

  rows(): AsyncIterable<StoredRow> {
    return this.query({});
  }

  async checkpoints(): Promise<Checkpoint[]> {
    await this.init();
    return (await this.pool.query<Checkpoint>(`SELECT ${CP_COLUMNS} FROM ${this.cpT} ORDER BY id`)).rows.map(toCp);
  }

  async *query(filter: AuditFilter): AsyncIterable<StoredRow> {
    await this.init();
    let after = filter.afterSeq ?? 0;
    let left = filter.limit ?? Infinity;
    for (;;) {
      const w = whereClause({ ...filter, afterSeq: after }, (i) => `$${i}`);
      const n = Math.min(PAGE, left);
      const page = (await this.pool.query<StoredRow>(`SELECT ${ROW_COLUMNS} FROM ${this.t} ${w.sql} ORDER BY seq LIMIT ${n}`, w.params)).rows.map(toRow);
      yield* page;
      left -= page.length;
      if (page.length < n || left <= 0) return;
      after = page.at(-1)!.seq;
    }
  }

  async prune(before: string, seal: SealPolicy): Promise<PruneResult> {
    await this.init();
    return this.tx(async (c): Promise<PruneResult> => {
      const first = (await c.query<{ seq: string }>(`SELECT seq FROM ${this.t} ORDER BY seq LIMIT 1`)).rows[0];
      if (!first) return { removed: 0, throughSeq: null };
      const keepRow = (await c.query<{ seq: string | null }>(`SELECT MIN(seq) AS seq FROM ${this.t} WHERE ts >= $1`, [before])).rows[0];
      const keep = keepRow?.seq != null ? Number(keepRow.seq) : Infinity;
      const cps = (await c.query<{ seq: string }>(`SELECT seq FROM ${this.cpT}`)).rows.map((r) => Number(r.seq));
      const through = pruneTarget(keep, cps, Number(first.seq));
      if (through === null) return { removed: 0, throughSeq: null };
      const removed = (await c.query(`DELETE FROM ${this.t} WHERE seq <= $1`, [through])).rowCount ?? 0;
      const rec = retentionRecord(before, through, removed);
      await this.appendLocked(c, [rec], seal, true);
      return { removed, throughSeq: through };
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
