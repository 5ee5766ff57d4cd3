/**
 * API key format, generation and hashing. Pure logic, no I/O.
 *
 * A key looks like `moat_` + 32 base62 characters of randomness (190 bits) + 6 base62
 * characters of CRC-32 checksum: `moat_3vQ...Zk9xYq1a`. The fixed prefix lets secret scanners
 * find leaked keys; the checksum lets Moat reject a mistyped or forged key before any lookup.
 * Only an HMAC-SHA-256 of the key (keyed with a server secret) is ever stored.
 *
 * @example
 *   const { key } = generateApiKey();
 *   isWellFormedKey(key) // true
 *   hashApiKey(secret, key) // 64 hex chars, stored in place of the key
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const KEY_PREFIX = 'moat_';
const BODY_LEN = 32;
const CHECK_LEN = 6;
export const KEY_LENGTH = KEY_PREFIX.length + BODY_LEN + CHECK_LEN;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE62 = /^[0-9A-Za-z]+$/;

function base62(bytes: Buffer, length: number): string {
  let n = BigInt('0x' + bytes.toString('hex'));
  let out = '';
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(n % 62n)]! + out;
    n /= 62n;
  }
  return out;
}

function checksum(body: string): string {
  // A 32-bit CRC fits a double exactly, so plain arithmetic suffices on this per-request path.
  let n = crc32(KEY_PREFIX + body) >>> 0;
  let out = '';
  for (let i = 0; i < CHECK_LEN; i++) {
    out = ALPHABET[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** A random public identifier such as `key_7fA2...`, safe to log and show. */
export function newId(kind: string): string {
  return `${kind}_${base62(randomBytes(12), 16)}`;
}

/** The whole key for a 32-character base62 body: prefix, body and checksum. */
export function keyFromBody(body: string): string {
  return KEY_PREFIX + body + checksum(body);
}

export function generateApiKey(): { key: string; id: string; hint: string } {
  // 24 random bytes (192 bits) are reduced to 32 base62 chars = 190.5 bits of entropy.
  const key = keyFromBody(base62(randomBytes(24), BODY_LEN));
  return { key, id: newId('key'), hint: keyHint(key) };
}

/** True when the string has Moat's prefix, length, alphabet and a matching checksum. */
export function isWellFormedKey(key: string): boolean {
  if (key.length !== KEY_LENGTH || !key.startsWith(KEY_PREFIX)) return false;
  const body = key.slice(KEY_PREFIX.length, KEY_PREFIX.length + BODY_LEN);
  const check = key.slice(KEY_PREFIX.length + BODY_LEN);
  if (!BASE62.test(body) || !BASE62.test(check)) return false;
  return checksum(body) === check;
}

/** The keyed hash stored in place of the key. */
export function hashApiKey(secret: Buffer | string, key: string): string {
  return createHmac('sha256', secret).update(key).digest('hex');
}

export function hashesEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

/**
 * A non-secret hint to recognise a key in listings: the prefix and the last 4 characters
 * of the checksum (which carry no information about the random body beyond 24 bits of CRC).
 */
export function keyHint(key: string): string {
  return `${KEY_PREFIX}…${key.slice(-4)}`;
}
