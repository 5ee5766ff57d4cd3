/**
 * Where the watermark master secret comes from: MOAT_WATERMARK_SECRET, else `watermark.secret` in
 * moat.yaml, else `<dataDir>/watermark.secret` (created with mode 0600 the first time the gateway
 * needs it). Detection must use the same secret as the gateway that marked the answers.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrCreateSecret } from '../config/data-dir.js';

export const SECRET_FILE = 'watermark.secret';
export const SECRET_ENV = 'MOAT_WATERMARK_SECRET';

/** Resolves the master secret; with `create: false`, returns null when none exists yet. */
export function masterSecret(o: { configSecret?: string | undefined; dataDir: string; create: boolean; env?: NodeJS.ProcessEnv }): Buffer | null {
  const fromEnv = (o.env ?? process.env)[SECRET_ENV];
  if (fromEnv) {
    if (fromEnv.length < 32) throw new Error(`${SECRET_ENV} must hold at least 32 characters`);
    return Buffer.from(fromEnv, 'utf8');
  }
  if (o.configSecret) return Buffer.from(o.configSecret, 'utf8');
  if (!o.create && !existsSync(join(o.dataDir, SECRET_FILE))) return null;
  return loadOrCreateSecret(o.dataDir, SECRET_FILE);
}
