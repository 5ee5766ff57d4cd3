/**
 * Reading the audit log back, pure: the stored row, the filters of `moat audit query` as SQL
 * for either store, and the JSON Lines export that `moat detect replay` reads.
 */
import type { JsonObject, Route } from '../pipeline/context.js';
import { PROMPT_FIELD, type AuditRecord } from './record.js';

/** The columns stored beside each record's JSON, for queries (verify checks they agree with it). */
export interface IndexedColumns {
  ts: string;
  kind: string;
  principal: string | null;
  tenant: string | null;
  model: string | null;
  route: string;
  outcome: string;
}

/** One row as stored (SQLite and PostgreSQL alike). */
export interface StoredRow extends IndexedColumns {
  seq: number;
  data: string;
  prevHash: string;
  hash: string;
}

export const ROW_COLUMNS = 'seq, ts, kind, principal, tenant, model, route, outcome, data, prev_hash AS "prevHash", hash';

export interface AuditFilter {
  principal?: string;
  tenant?: string;
  model?: string;
  /** The outcome: allowed, denied, upstream_error, client_aborted, error (ok/failed for admin records). */
  decision?: string;
  kind?: 'request' | 'admin';
  route?: string;
  /** ISO timestamps, inclusive lower and exclusive upper bound. */
  since?: string;
  until?: string;
  /** Only records with a larger sequence number (for paging). */
  afterSeq?: number;
  limit?: number;
}

/** The WHERE clause of a filter; `ph(i)` writes the i-th placeholder (`?` or `$i`). */
export function whereClause(f: AuditFilter, ph: (i: number) => string): { sql: string; params: unknown[] } {
  const conds: string[] = [];
  const params: unknown[] = [];
  const add = (col: string, op: string, v: unknown) => {
    params.push(v);
    conds.push(`${col} ${op} ${ph(params.length)}`);
  };
  if (f.principal !== undefined) add('principal', '=', f.principal);
  if (f.tenant !== undefined) add('tenant', '=', f.tenant);
  if (f.model !== undefined) add('model', '=', f.model);
  if (f.decision !== undefined) add('outcome', '=', f.decision);
  if (f.kind !== undefined) add('kind', '=', f.kind);
  if (f.route !== undefined) add('route', '=', f.route);
  if (f.since !== undefined) add('ts', '>=', f.since);
  if (f.until !== undefined) add('ts', '<', f.until);
  if (f.afterSeq !== undefined) add('seq', '>', f.afterSeq);
  return { sql: conds.length ? `WHERE ${conds.join(' AND ')}` : '', params };
}

/** One line of `moat audit export`: the request as the client sent it (as far as the log kept it). */
export interface ExportLine {
  ts: string;
  principal: string | null;
  tenant: string | null;
  ip: string;
  route: string;
  body: JsonObject;
}

/**
 * The export line of a request record; null for admin records and for requests nobody was
 * authenticated for (there is no principal to attribute them to).
 */
export function exportLine(rec: AuditRecord): ExportLine | null {
  if (rec.kind !== 'request' || rec.principal === null) return null;
  const field = PROMPT_FIELD[rec.route as Route];
  const body: JsonObject = { ...rec.params };
  if (field && rec.prompt !== null && rec.prompt !== undefined) body[field] = rec.prompt;
  return { ts: rec.ts, principal: rec.principal, tenant: rec.tenant, ip: rec.sourceIp, route: rec.route, body };
}

/**
 * Parses a time argument: an ISO date or timestamp, or a duration back from now (`90d`, `12h`,
 * `30m`). Returns an ISO string, or null when it is neither.
 */
export function parseTime(v: string, now = Date.now()): string | null {
  const m = /^(\d+)\s*([smhd])$/.exec(v.trim());
  if (m) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(m[1]) * unit).toISOString();
  }
  const t = Date.parse(v);
  return Number.isFinite(t) ? new Date(t).toISOString() : null;
}
