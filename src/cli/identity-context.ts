/**
 * Opens the identity store the way `moat serve` does, so that what the CLI creates works on a
 * running server that uses the same data directory (or the same configured secret). Each CLI
 * action goes through the same IdentityAdmin as the admin API and leaves an `admin` record in
 * the audit log of that data directory.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { adminRecord } from '../audit/admin-record.js';
import { auditSchema } from '../audit/config.js';
import { openAuditSink } from '../audit/open.js';
import type { AuditSink } from '../audit/sink.js';
import { ensureDataDir } from '../config/data-dir.js';
import { MoatError } from '../errors.js';
import { IdentityAdmin } from '../identity/admin.js';
import { ApiKeys } from '../identity/api-keys.js';
import { RoleRegistry } from '../identity/roles.js';
import { keySecretOf } from '../identity/setup.js';
import { SqliteIdentityStore } from '../identity/sqlite-store.js';
import type { JsonObject } from '../pipeline/context.js';
import { createLogger } from '../server/logger.js';
import { CliError, DEFAULT_DATA_DIR, loadOptionalConfig } from './common.js';

export interface IdentityOptions {
  dataDir?: string;
  config?: string;
}

export interface IdentityContext {
  admin: IdentityAdmin;
  keys: ApiKeys;
  dataDir: string;
  close: () => Promise<void>;
  audit: AuditSink;
}

export async function openIdentity(opts: IdentityOptions): Promise<IdentityContext> {
  const cfg = loadOptionalConfig(opts.config);
  const dataDir = ensureDataDir(opts.dataDir ?? cfg?.dataDir ?? DEFAULT_DATA_DIR);
  const secret = keySecretOf(cfg?.identity.keySecret, dataDir);
  const store = new SqliteIdentityStore(dataDir);
  const keys = new ApiKeys(store, secret, 0);
  const roles = new RoleRegistry(cfg?.roles ?? {}, store);
  await roles.refresh();
  // Log lines go to stderr so that --json output stays clean.
  const audit = openAuditSink({ dataDir, audit: { ...(cfg?.audit ?? auditSchema.parse({})), flushMs: 60_000, maxQueue: 1_000 } }, createLogger('warn', process.stderr));
  return {
    admin: new IdentityAdmin(store, keys, roles),
    keys,
    dataDir,
    audit,
    async close() {
      await audit.close();
      await store.close();
    },
  };
}

/** Adds --data-dir and --config, the options every identity command shares. */
export function withStore(c: Command): Command {
  return c
    .option('--data-dir <dir>', 'data directory shared with `moat serve` (default: from moat.yaml, else ./.moat)')
    .option('-c, --config <file>', 'configuration file (default ./moat.yaml when present)');
}

export interface ActionNote {
  target?: JsonObject;
  details?: JsonObject;
}

/**
 * Runs one administrative action on the data directory and audits it (ok or failed). A
 * MoatError becomes a one-line CLI error with its message.
 */
export async function runAdmin<T>(opts: IdentityOptions, action: string, note: ActionNote, fn: (ctx: IdentityContext, note: ActionNote) => Promise<T>): Promise<T> {
  const ctx = await openIdentity(opts);
  const started = performance.now();
  const record = (outcome: 'ok' | 'failed', status: number, errorCode: string | null) =>
    ctx.audit.append(
      adminRecord({
        action,
        actor: null,
        target: note.target ?? {},
        details: { via: 'cli', ...(note.details ?? {}) },
        outcome,
        status,
        errorCode,
        sourceIp: 'cli',
        requestId: `cli_${randomBytes(6).toString('hex')}`,
        latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
      }),
    );
  try {
    const out = await fn(ctx, note);
    record('ok', 200, null);
    return out;
  } catch (e) {
    record('failed', e instanceof MoatError ? e.status : 1, e instanceof MoatError ? e.code : null);
    if (e instanceof MoatError) throw new CliError(e.message);
    throw e;
  } finally {
    await ctx.close();
  }
}
