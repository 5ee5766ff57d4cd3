/**
 * The data directory holds Moat's embedded state: SQLite files and secrets generated on first
 * use. Secrets are written with mode 0600 and never printed.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function ensureDataDir(dir: string): string {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true, mode: 0o700 });
  return abs;
}

/**
 * Returns the secret kept in `<dir>/<name>`, creating it with `bytes` random bytes when absent.
 * Creation uses O_EXCL so that two processes starting together agree on one secret.
 */
export function loadOrCreateSecret(dir: string, name: string, bytes = 32): Buffer {
  const file = join(ensureDataDir(dir), name);
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const secret = randomBytes(bytes);
  try {
    writeFileSync(file, secret.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return secret;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  }
}
