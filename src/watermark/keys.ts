/**
 * Watermark keys. One master secret; a key per tenant (or per principal) derived from it with
 * HKDF-SHA-256, so keys need no storage, a tenant's key reveals nothing about another's, and any
 * holder of the master secret can re-derive every key to attribute a copy.
 *
 * @example
 *   const k = deriveKey(master, 'tenant', 'acme');
 *   k.select('#12', 3, 2); // 0 or 1: which member of set 3 this key picks after context '#12'
 */
import { createHmac, hkdfSync } from 'node:crypto';

export type KeyScope = 'tenant' | 'principal';

const SALT = Buffer.from('moat-watermark-v1');

export class WatermarkKey {
  constructor(
    /** 32 bytes; never logged. */
    private readonly bytes: Buffer,
    /** `tenant:acme`: what the key belongs to, for reports. */
    readonly label: string,
  ) {}

  /**
   * Keyed choice among `n` alternatives for a set in a context: HMAC-SHA-256 of the set and the
   * context, first 32 bits, modulo n (bias below 1e-9 for the set sizes in the table).
   */
  select(context: string, setId: number, n: number): number {
    const mac = createHmac('sha256', this.bytes).update(`${setId}\u001f${context}`).digest();
    return mac.readUInt32BE(0) % n;
  }

  /** A short, non-secret fingerprint of the key (first 8 hex of HMAC over a fixed label). */
  fingerprint(): string {
    return createHmac('sha256', this.bytes).update('fingerprint').digest('hex').slice(0, 8);
  }
}

/** Derives the key of one tenant or principal from the master secret. */
export function deriveKey(master: Buffer, scope: KeyScope, name: string): WatermarkKey {
  if (master.length < 16) throw new Error('the watermark master secret must hold at least 16 bytes');
  const okm = hkdfSync('sha256', master, SALT, `${scope}:${name}`, 32);
  return new WatermarkKey(Buffer.from(okm), `${scope}:${name}`);
}
