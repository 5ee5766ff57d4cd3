import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KEY_LENGTH, KEY_PREFIX, generateApiKey, hashApiKey, hashesEqual, isWellFormedKey, keyHint } from '../../src/identity/api-key.js';

describe('API key format', () => {
  it('has the prefix, the length and a valid checksum', () => {
    const { key, id } = generateApiKey();
    expect(key.startsWith(KEY_PREFIX)).toBe(true);
    expect(key).toHaveLength(KEY_LENGTH);
    expect(isWellFormedKey(key)).toBe(true);
    expect(id).toMatch(/^key_[0-9A-Za-z]{16}$/);
  });

  it('keys are unique (no repeats in 2,000)', () => {
    const seen = new Set(Array.from({ length: 2000 }, () => generateApiKey().key));
    expect(seen.size).toBe(2000);
  });

  it('any single-character change of a key breaks its checksum or format', () => {
    const { key } = generateApiKey();
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    fc.assert(
      fc.property(fc.integer({ min: KEY_PREFIX.length, max: KEY_LENGTH - 1 }), fc.integer({ min: 1, max: 61 }), (pos, shift) => {
        const c = key[pos]!;
        const swapped = alphabet[(alphabet.indexOf(c) + shift) % 62]!;
        const mutated = key.slice(0, pos) + swapped + key.slice(pos + 1);
        return !isWellFormedKey(mutated);
      }),
    );
  });

  it('rejects arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => !isWellFormedKey(s) || s.startsWith(KEY_PREFIX)));
    expect(isWellFormedKey('')).toBe(false);
    expect(isWellFormedKey('sk-' + 'a'.repeat(40))).toBe(false);
  });

  it('stores a keyed hash that depends on the secret', () => {
    const { key } = generateApiKey();
    const a = hashApiKey('secret-one-secret-one-secret-one', key);
    const b = hashApiKey('secret-two-secret-two-secret-two', key);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(key.slice(KEY_PREFIX.length, KEY_PREFIX.length + 8));
    expect(hashesEqual(a, a)).toBe(true);
    expect(hashesEqual(a, b)).toBe(false);
  });

  it('the hint shows only the prefix and the checksum tail', () => {
    const { key } = generateApiKey();
    const hint = keyHint(key);
    expect(hint.startsWith(KEY_PREFIX)).toBe(true);
    expect(hint).not.toContain(key.slice(KEY_PREFIX.length, KEY_PREFIX.length + 4));
  });
});
