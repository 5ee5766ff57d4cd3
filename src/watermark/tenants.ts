/**
 * The tenant (or principal) names of the identity store in a data directory, so detection can try
 * every key the gateway may have used without the gateway running. A missing store means no names
 * (it is not created).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteIdentityStore } from '../identity/sqlite-store.js';
import type { KeyScope } from './keys.js';

export async function namesFromIdentityStore(dataDir: string, scope: KeyScope): Promise<string[]> {
  if (!existsSync(join(dataDir, 'identity.db'))) return [];
  const store = new SqliteIdentityStore(dataDir);
  try {
    const rows = scope === 'tenant' ? await store.listTenants() : await store.listPrincipals();
    return rows.map((r) => r.name).sort();
  } finally {
    await store.close();
  }
}
