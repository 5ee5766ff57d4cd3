/**
 * Opens the identity store the way `moat serve` does, so keys created from the CLI work on a
 * running server that uses the same data directory (or the same configured secret).
 */
import { loadOrCreateSecret, ensureDataDir } from '../config/data-dir.js';
import { ApiKeys } from '../identity/api-keys.js';
import { SqliteIdentityStore } from '../identity/sqlite-store.js';
import { DEFAULT_DATA_DIR, loadOptionalConfig } from './common.js';

export interface IdentityOptions {
  dataDir?: string;
  config?: string;
}

export function openIdentity(opts: IdentityOptions): { keys: ApiKeys; dataDir: string; close: () => Promise<void> } {
  const cfg = loadOptionalConfig(opts.config);
  const dataDir = ensureDataDir(opts.dataDir ?? cfg?.dataDir ?? DEFAULT_DATA_DIR);
  const secret = cfg?.identity.keySecret ? Buffer.from(cfg.identity.keySecret, 'utf8') : loadOrCreateSecret(dataDir, 'key-hash.secret');
  const store = new SqliteIdentityStore(dataDir);
  return { keys: new ApiKeys(store, secret, 0), dataDir, close: () => store.close() };
}
