/**
 * Reads the tenant (or principal) names of the identity store in a data directory, read-only, so
 * detection can try every key the gateway may have used without the gateway running.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyScope } from './keys.js';

export function namesFromIdentityStore(dataDir: string, scope: KeyScope): string[] {
  const file = join(dataDir, 'identity.db');
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const table = scope === 'tenant' ? 'tenants' : 'principals';
    return db
      .prepare<[], { name: string }>(`SELECT name FROM ${table} ORDER BY name`)
      .all()
      .map((r) => r.name);
  } finally {
    db.close();
  }
}
