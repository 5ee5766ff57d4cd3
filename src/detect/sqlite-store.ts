/**
 * Detection state in `<dataDir>/detect.db`: each principal's latest risk record, the
 * allow-list, and operator commands (clear) that running gateways pick up. The CLI and the
 * admin API read and write the same file.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { ensureDataDir } from '../config/data-dir.js';
import type { RiskRecord } from './engine.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS detect_risk (
  principal TEXT PRIMARY KEY,
  tenant TEXT,
  risk REAL NOT NULL,
  peak REAL NOT NULL,
  flagged INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS detect_risk_flagged ON detect_risk(flagged, risk);
CREATE TABLE IF NOT EXISTS detect_allow (principal TEXT PRIMARY KEY, note TEXT, added_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS detect_clear (principal TEXT PRIMARY KEY, at TEXT NOT NULL);
`;

export class DetectStore {
  private readonly db: Database.Database;
  private readonly upsertStmt: Database.Statement;

  constructor(dataDir: string) {
    this.db = new Database(join(ensureDataDir(dataDir), 'detect.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.upsertStmt = this.db.prepare(
      `INSERT INTO detect_risk (principal, tenant, risk, peak, flagged, updated_at, data) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(principal) DO UPDATE SET tenant=excluded.tenant, risk=excluded.risk, peak=excluded.peak, flagged=excluded.flagged, updated_at=excluded.updated_at, data=excluded.data`,
    );
  }

  /** Writes records in one transaction. */
  save(records: readonly RiskRecord[]): void {
    if (records.length === 0) return;
    this.db.transaction(() => {
      for (const r of records) this.upsertStmt.run(r.principal, r.tenant, r.risk, r.peak, r.flagged ? 1 : 0, r.updatedAt, JSON.stringify(r));
    })();
  }

  get(principal: string): RiskRecord | null {
    const row = this.db.prepare('SELECT data FROM detect_risk WHERE principal = ?').get(principal) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as RiskRecord) : null;
  }

  /** Records, riskiest first. */
  list(o: { flaggedOnly?: boolean; limit?: number } = {}): RiskRecord[] {
    const rows = this.db
      .prepare(`SELECT data FROM detect_risk ${o.flaggedOnly ? 'WHERE flagged = 1' : ''} ORDER BY flagged DESC, risk DESC, peak DESC LIMIT ?`)
      .all(o.limit ?? 1000) as { data: string }[];
    return rows.map((r) => JSON.parse(r.data) as RiskRecord);
  }

  /** Deletes a principal's record and asks running gateways to forget it too. */
  clear(principal: string): boolean {
    const n = this.db.prepare('DELETE FROM detect_risk WHERE principal = ?').run(principal).changes;
    this.db.prepare('INSERT OR REPLACE INTO detect_clear (principal, at) VALUES (?, ?)').run(principal, new Date().toISOString());
    return n > 0;
  }

  /** Clears requested since the last call (for a running gateway's engine). */
  takeClears(): string[] {
    return this.db.transaction(() => {
      const rows = this.db.prepare('SELECT principal FROM detect_clear').all() as { principal: string }[];
      this.db.prepare('DELETE FROM detect_clear').run();
      return rows.map((r) => r.principal);
    })();
  }

  allow(principal: string, note: string | null = null): void {
    this.db.prepare('INSERT OR REPLACE INTO detect_allow (principal, note, added_at) VALUES (?, ?, ?)').run(principal, note, new Date().toISOString());
    this.clear(principal);
  }

  disallow(principal: string): boolean {
    return this.db.prepare('DELETE FROM detect_allow WHERE principal = ?').run(principal).changes > 0;
  }

  allowed(): { principal: string; note: string | null; addedAt: string }[] {
    return (this.db.prepare('SELECT principal, note, added_at FROM detect_allow ORDER BY principal').all() as { principal: string; note: string | null; added_at: string }[]).map((r) => ({
      principal: r.principal,
      note: r.note,
      addedAt: r.added_at,
    }));
  }

  close(): void {
    this.db.close();
  }
}
