/** A tiny client for the admin API in tests, plus a reader of the audit log's admin records. */
import type { SqliteAuditSink } from '../../src/audit/sqlite-sink.js';
import { request } from 'undici';
import type { Gateway } from '../../src/server/gateway.js';

export interface AdminReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown> & { error?: { code: string; message: string; type: string; param?: string | null } };
  text: string;
}

export function adminClient(baseURL: string, key: string | null) {
  const origin = baseURL.replace(/\/v1$/, '');
  return async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<AdminReply> {
    const res = await request(`${origin}/admin/v1${path}`, {
      method: method as 'GET',
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.body.text();
    let json: AdminReply['json'] = {};
    try {
      json = text ? (JSON.parse(text) as AdminReply['json']) : {};
    } catch {
      /* not JSON: the test will look at text */
    }
    return { status: res.statusCode, headers: res.headers, json, text };
  };
}

/** Every audit record of kind `admin`, oldest first. */
export function adminAuditRecords(gw: Gateway): Array<Record<string, unknown> & { params: Record<string, unknown> }> {
  const sink = gw.auditSink as SqliteAuditSink;
  sink.flush();
  const rows = sink.db.prepare("SELECT data FROM audit_log WHERE kind = 'admin' ORDER BY seq").all() as Array<{ data: string }>;
  return rows.map((r) => JSON.parse(r.data) as Record<string, unknown> & { params: Record<string, unknown> });
}
