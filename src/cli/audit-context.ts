/**
 * Opens the audit log the way `moat serve` writes it (same data directory, same sink), for the
 * `moat audit` commands.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { auditSchema, type AuditConfig } from '../audit/config.js';
import { keyIdOf } from '../audit/checkpoint.js';
import { openAuditStore, sealPolicy } from '../audit/open.js';
import { dataDirPublicKey, trustedKeys } from '../audit/signing-key.js';
import type { AuditStore } from '../audit/store.js';
import { ensureDataDir } from '../config/data-dir.js';
import { CliError, DEFAULT_DATA_DIR, loadOptionalConfig } from './common.js';

export interface AuditOptions {
  dataDir?: string;
  config?: string;
}

export interface AuditContext {
  store: AuditStore;
  dataDir: string;
  audit: AuditConfig;
  /** The checkpoint signer (created in the data directory when there is none yet). */
  seal: () => ReturnType<typeof sealPolicy>;
  /** Public keys that verification trusts: the given files, else the data directory's own. */
  trusted: (files: readonly string[]) => Map<string, KeyObject>;
}

export function openAudit(o: AuditOptions): AuditContext {
  const cfg = loadOptionalConfig(o.config);
  const dataDir = ensureDataDir(o.dataDir ?? cfg?.dataDir ?? DEFAULT_DATA_DIR);
  const audit = cfg?.audit ?? auditSchema.parse({});
  const c = { audit, dataDir };
  return {
    store: openAuditStore(c),
    dataDir,
    audit,
    seal: () => {
      try {
        return sealPolicy(c);
      } catch (e) {
        throw new CliError(`cannot load the audit signing key: ${(e as Error).message}`);
      }
    },
    trusted(files) {
      try {
        if (files.length) return trustedKeys(files);
        if (audit.signingKey) {
          const pub = createPublicKey(audit.signingKey);
          return new Map([[keyIdOf(pub), pub]]);
        }
        const own = dataDirPublicKey(dataDir);
        return own ? trustedKeys([own]) : new Map();
      } catch (e) {
        throw new CliError(`cannot read the public key: ${(e as Error).message}`);
      }
    },
  };
}
