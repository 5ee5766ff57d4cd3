/**
 * The Ed25519 key that signs audit checkpoints: from configuration (a PKCS#8 PEM, so replicas
 * can share one), else generated once in the data directory as `audit-signing.key` (mode 0600)
 * beside its public half `audit-signing.pub`. Copy the public key somewhere the gateway's host
 * cannot write, and verify with it (`moat audit verify --public-key FILE`): whoever can replace
 * the key in the data directory can also re-sign a forged log.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDataDir } from '../config/data-dir.js';
import { AuditSigner, keyIdOf } from './checkpoint.js';

export const SIGNING_KEY_FILE = 'audit-signing.key';
export const PUBLIC_KEY_FILE = 'audit-signing.pub';

function readIfExists(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Loads (or creates, with O_EXCL so that concurrent starts agree) the checkpoint signer. */
export function loadSigner(dataDir: string, configuredPem?: string): AuditSigner {
  if (configuredPem) return new AuditSigner(createPrivateKey(configuredPem));
  const dir = ensureDataDir(dataDir);
  const file = join(dir, SIGNING_KEY_FILE);
  let pem = readIfExists(file);
  const pubFile = join(dir, PUBLIC_KEY_FILE);
  if (pem === null && readIfExists(pubFile) !== null) {
    // A new key would sign checkpoints that the kept public key cannot verify.
    throw new Error(`${SIGNING_KEY_FILE} is missing from ${dir} but ${PUBLIC_KEY_FILE} is there: restore the key, or move ${PUBLIC_KEY_FILE} away to start a new one`);
  }
  if (pem === null) {
    const { privateKey } = generateKeyPairSync('ed25519');
    try {
      writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    pem = readFileSync(file, 'utf8');
  }
  const signer = new AuditSigner(createPrivateKey(pem));
  if (readIfExists(pubFile) === null) writeFileSync(pubFile, signer.publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  return signer;
}

/** Reads public keys (PEM files) into the map that verification trusts, keyed by key id. */
export function trustedKeys(files: readonly string[]): Map<string, KeyObject> {
  const out = new Map<string, KeyObject>();
  for (const f of files) {
    const key = createPublicKey(readFileSync(f, 'utf8'));
    out.set(keyIdOf(key), key);
  }
  return out;
}

/** The data directory's own public key file, if there is one. */
export function dataDirPublicKey(dataDir: string): string | null {
  const f = join(dataDir, PUBLIC_KEY_FILE);
  return readIfExists(f) === null ? null : f;
}
