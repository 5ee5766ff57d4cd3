/**
 * Signed checkpoints of the audit chain. A checkpoint states "the record with sequence number
 * `seq` has hash `hash`", signed with Ed25519. The chain alone shows that a record was changed
 * in place; a checkpoint also shows that the tail was cut off, or that a stretch of records was
 * rewritten and re-hashed, since nobody without the private key can sign the forged head.
 * Checkpoints are chained to each other too (`prev`), so one cannot be removed from the middle.
 *
 * @example
 *   const signer = new AuditSigner(privateKey);
 *   const cp = signer.sign({ seq: 42, hash, prev: GENESIS });
 *   verifyCheckpoint(cp, new Map([[signer.keyId, publicKey]])); // true
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export interface Checkpoint {
  seq: number;
  hash: string;
  ts: string;
  /** Digest of the previous checkpoint (GENESIS for the first). */
  prev: string;
  keyId: string;
  /** base64 Ed25519 signature over {@link checkpointPayload}. */
  signature: string;
}

export function checkpointPayload(c: Pick<Checkpoint, 'seq' | 'hash' | 'ts' | 'prev' | 'keyId'>): string {
  return `moat-audit-checkpoint/1\nseq=${c.seq}\nhash=${c.hash}\nts=${c.ts}\nprev=${c.prev}\nkey=${c.keyId}\n`;
}

/** What the next checkpoint's `prev` must be. */
export function checkpointDigest(c: Checkpoint): string {
  return createHash('sha256').update(checkpointPayload(c)).update(c.signature).digest('hex');
}

/** A short, stable id of a public key: the first 16 hex digits of SHA-256 of its DER form. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

export class AuditSigner {
  readonly keyId: string;
  readonly publicKey: KeyObject;

  constructor(readonly privateKey: KeyObject) {
    this.publicKey = createPublicKey(privateKey);
    this.keyId = keyIdOf(this.publicKey);
  }

  sign(head: { seq: number; hash: string; prev: string }, now = new Date()): Checkpoint {
    const c = { seq: head.seq, hash: head.hash, ts: now.toISOString(), prev: head.prev, keyId: this.keyId };
    return { ...c, signature: sign(null, Buffer.from(checkpointPayload(c)), this.privateKey).toString('base64') };
  }
}

/** True when the checkpoint was signed by one of the trusted keys. */
export function verifyCheckpoint(c: Checkpoint, trusted: ReadonlyMap<string, KeyObject>): boolean {
  const key = trusted.get(c.keyId);
  if (!key) return false;
  try {
    return verify(null, Buffer.from(checkpointPayload(c)), key, Buffer.from(c.signature, 'base64'));
  } catch {
    return false;
  }
}

/** When a store writes a checkpoint after a batch: every N records, every T ms, or now. */
export interface SealPolicy {
  signer: AuditSigner;
  everyRecords: number;
  everyMs: number;
}

/** Whether a new checkpoint is due for `head`, given the last one. Pure. */
export function sealDue(head: number, last: Pick<Checkpoint, 'seq' | 'ts'> | null | undefined, p: SealPolicy, force: boolean, now = Date.now()): boolean {
  const sealed = last?.seq ?? 0;
  if (head <= sealed) return false;
  if (force || head - sealed >= p.everyRecords) return true;
  return !last || now - Date.parse(last.ts) >= p.everyMs;
}
