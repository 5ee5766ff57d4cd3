/** The secret behind per-tenant embedding rotations: from configuration, else generated once in the data directory. */
import { loadOrCreateSecret } from '../config/data-dir.js';
import type { MoatConfig } from '../config/schema.js';
import { TenantRotations } from './rotation.js';

/** Null when no policy layer rotates embeddings, so no secret is created for nothing. */
export function rotationsFor(config: Pick<MoatConfig, 'policy' | 'dataDir'>): TenantRotations | null {
  const p = config.policy;
  const used = p.embeddings?.rotate === true || p.overrides.some((o) => o.embeddings?.rotate === true);
  if (!used) return null;
  const secret = p.rotationSecret ? Buffer.from(p.rotationSecret, 'utf8') : loadOrCreateSecret(config.dataDir, 'embedding-rotation.secret');
  return new TenantRotations(secret);
}
