/**
 * The embedded audit log: an append-only, hash-chained table in `<dataDir>/audit.db` (SQLite,
 * WAL), with its signed checkpoints beside it. Each write is one transaction that reads the
 * chain head inside it (BEGIN IMMEDIATE), so several processes or threads sharing the file (the
 * gateway's writer thread, `moat audit prune`, two replicas) still build one unbroken chain.
 */
import Database from 'better-sqlite3';
import { linkRecords } from './chain.js';
import { checkpointDigest, sealDue, type Checkpoint, type SealPolicy } from './checkpoint.js';
import { ROW_COLUMNS, whereClause, type AuditFilter, type IndexedColumns, type StoredRow } from './query.js';
import type { AuditRecord } from './record.js';
import { pruneTarget, schemaSql, type AuditStore, type PruneResult } from './store.js';
import { retentionRecord } from './verify.js';


const CP_COLUMNS = 'seq, hash, ts, prev, key_id AS keyId, signature';

/** A record ready to store: its exact JSON and the columns indexed beside it. */
export interface RowInput extends IndexedColumns {
  data: string;
}

export function toRowInput(r: AuditRecord): RowInput {
  return { data: JSON.stringify(r), ts: r.ts, kind: r.kind, principal: r.principal, tenant: r.tenant, model: r.model, route: r.route, outcome: r.outcome };
}

/**
 * Records as a flat list of strings (the JSON, then the indexed columns as one small JSON array),
 * for the writer thread: copying a few long strings between threads costs a fraction of copying
 * many small objects.
 */
export function packRows(records: readonly AuditRecord[]): string[] {
  const out: string[] = new Array(records.length * 2);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    out[2 * i] = JSON.stringify(r);
    out[2 * i + 1] = JSON.stringify([r.ts, r.kind, r.principal, r.tenant, r.model, r.route, r.outcome]);
  }
  return out;
}

export function unpackRows(packed: readonly string[]): RowInput[] {
  const out: RowInput[] = new Array(packed.length / 2);
  for (let i = 0; i < out.length; i++) {
    const [ts, kind, principal, tenant, model, route, outcome] = JSON.parse(packed[2 * i + 1]!) as [string, string, string | null, string | null, string | null, string, string];
    out[i] = { data: packed[2 * i]!, ts, kind, principal, tenant, model, route, outcome };
  }
  return out;
}
const PAGE = 5_000;

export class SqliteAuditStore implements AuditStore {
  readonly db: Database.Database;
  private readonly head;
  private readonly insert;
  private readonly lastCp;
  private readonly insertCp;
  private readonly writeTxn: (rows: readonly RowInput[], seal: SealPolicy, force: boolean) => void;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a committed transaction survives a process kill; only an OS crash or
    // power loss can take back the last few (docs/policy-and-audit.md).
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(schemaSql('', { seq: 'INTEGER', id: 'INTEGER' }));
    this.head = this.db.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.insert = this.db.prepare('INSERT INTO audit_log (seq, ts, kind, principal, tenant, model, route, outcome, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.lastCp = this.db.prepare<[], Checkpoint>(`SELECT ${CP_COLUMNS} FROM audit_checkpoint ORDER BY id DESC LIMIT 1`);
    this.insertCp = this.db.prepare('INSERT INTO audit_checkpoint (seq, hash, ts, prev, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)');
    this.writeTxn = this.db.transaction((rows: readonly RowInput[], seal: SealPolicy, force: boolean) => this.appendLocked(rows, seal, force)).immediate;
  }

  /** Appends inside an open transaction. */
  private appendLocked(inputs: readonly RowInput[], seal: SealPolicy, force: boolean): void {
    // After retention removed every record, the chain continues from the anchoring checkpoint.
    const last = this.lastCp.get();
    const h = this.head.get() ?? last;
    const rows = linkRecords(h, inputs.map((r) => r.data));
    for (let i = 0; i < rows.length; i++) {
      const r = inputs[i]!;
      const row = rows[i]!;
      this.insert.run(row.seq, r.ts, r.kind, r.principal, r.tenant, r.model, r.route, r.outcome, row.data, row.prevHash, row.hash);
    }
    const top = rows.at(-1) ?? (h ? { seq: h.seq, hash: h.hash } : null);
    if (!top) return;
    if (!sealDue(top.seq, last, seal, force)) return;
    const cp = seal.signer.sign({ seq: top.seq, hash: top.hash, prev: last ? checkpointDigest(last) : '0'.repeat(64) });
    this.insertCp.run(cp.seq, cp.hash, cp.ts, cp.prev, cp.keyId, cp.signature);
  }

  write(records: readonly AuditRecord[], seal: SealPolicy, force = false): void {
    this.writeTxn(records.map(toRowInput), seal, force);
  }

  /** Appends records serialized elsewhere (the gateway serializes; its writer thread calls this). */
  writeRows(rows: readonly RowInput[], seal: SealPolicy, force = false): void {
    this.writeTxn(rows, seal, force);
  }

  *rows(): Iterable<StoredRow> {
    yield* this.query({});
  }

  checkpoints(): Checkpoint[] {
    return this.db.prepare<[], Checkpoint>(`SELECT ${CP_COLUMNS} FROM audit_checkpoint ORDER BY id`).all();
  }

  /** Pages by sequence number, so a long read holds no transaction open against the writer. */
  *query(filter: AuditFilter): Iterable<StoredRow> {
    let after = filter.afterSeq ?? 0;
    let left = filter.limit ?? Infinity;
    for (;;) {
      const w = whereClause({ ...filter, afterSeq: after }, () => '?');
      const n = Math.min(PAGE, left);
      const page = this.db.prepare(`SELECT ${ROW_COLUMNS} FROM audit_log ${w.sql} ORDER BY seq LIMIT ${n}`).all(...w.params) as StoredRow[];
      yield* page;
      left -= page.length;
      if (page.length < n || left <= 0) return;
      after = page.at(-1)!.seq;
    }
  }

  prune(before: string, seal: SealPolicy): PruneResult {
    return this.db
      .transaction((): PruneResult => {
        const firstRow = this.db.prepare<[], { seq: number }>('SELECT seq FROM audit_log ORDER BY seq LIMIT 1').get();
        if (!firstRow) return { removed: 0, throughSeq: null };
        const keep = this.db.prepare<[string], { seq: number | null }>('SELECT MIN(seq) AS seq FROM audit_log WHERE ts >= ?').get(before)?.seq ?? Infinity;
        const cps = this.db.prepare<[], { seq: number }>('SELECT seq FROM audit_checkpoint').all().map((c) => c.seq);
        const through = pruneTarget(keep, cps, firstRow.seq);
        if (through === null) return { removed: 0, throughSeq: null };
        const removed = this.db.prepare('DELETE FROM audit_log WHERE seq <= ?').run(through).changes;
        this.appendLocked([toRowInput(retentionRecord(before, through, removed))], seal, true);
        return { removed, throughSeq: through };
      })
      .immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
