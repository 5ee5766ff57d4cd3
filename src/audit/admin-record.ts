/**
 * The audit record of one administrative action (admin API or CLI). Pure logic. It names the
 * action, who did it and on what, never a credential: a created key appears only by its id.
 *
 * @example
 *   sink.append(adminRecord({ action: 'keys.create', actor, target: { principal: 'alice' }, details: { keyId } }));
 */
import type { JsonObject } from '../pipeline/context.js';
import type { AuditRecord } from './record.js';

export interface AdminAction {
  /** Dotted name of the action, e.g. `keys.revoke`, `roles.put`, `detect.block`. */
  action: string;
  /** Who acted; null when the actor is the local operator (the CLI on the data directory). */
  actor: { principal: string; tenant: string; keyId: string | null } | null;
  /** What the action was about, e.g. `{ key: 'key_...' }` or `{ principal: 'alice' }`. */
  target?: JsonObject;
  /** Non-secret details: the change requested, ids created, counts. */
  details?: JsonObject;
  outcome: 'ok' | 'failed' | 'denied';
  status: number;
  errorCode?: string | null;
  /** `cli` for the command line, else the client address. */
  sourceIp: string;
  requestId: string;
  latencyMs?: number;
  at?: Date;
}

/** Field names whose values never enter an audit record, wherever they appear. */
const SECRET_FIELDS = /^(key|apiKey|api_key|secret|keySecret|token|password|authorization)$/i;

/** A copy of the value with secret-named fields replaced, so a careless detail cannot leak one. */
export function withoutSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => withoutSecrets(v, depth + 1));
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELDS.test(k) ? '[redacted]' : withoutSecrets(v, depth + 1);
  return out;
}

export function adminRecord(a: AdminAction): AuditRecord {
  return {
    kind: 'admin',
    ts: (a.at ?? new Date()).toISOString(),
    requestId: a.requestId,
    principal: a.actor?.principal ?? null,
    tenant: a.actor?.tenant ?? null,
    keyId: a.actor?.keyId ?? null,
    sourceIp: a.sourceIp,
    route: `admin:${a.action}`,
    model: null,
    stream: false,
    params: withoutSecrets({ action: a.action, target: a.target ?? {}, ...(a.details ?? {}) }) as JsonObject,
    prompt: null,
    promptMode: 'redacted',
    outcome: a.outcome,
    status: a.status,
    errorCode: a.errorCode ?? null,
    rules: [],
    promptTokens: null,
    completionTokens: null,
    outputBytes: 0,
    latencyMs: a.latencyMs ?? 0,
    risk: null,
  };
}
