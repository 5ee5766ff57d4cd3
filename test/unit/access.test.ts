import { describe, expect, it } from 'vitest';
import { withoutSecrets } from '../../src/audit/admin-record.js';
import { BUILTIN_ROLES, can, formatGrant, isAdmin, parseGrant } from '../../src/identity/access.js';
import { mergeLimits } from '../../src/identity/admin.js';
import { RoleRegistry } from '../../src/identity/roles.js';
import type { StoredRole } from '../../src/identity/types.js';

describe('access', () => {
  it('default deny: no role, or an unknown role, can do nothing', () => {
    expect(can(BUILTIN_ROLES, [], 'use', 'm')).toBe(false);
    expect(can(BUILTIN_ROLES, ['nope'], 'use', 'm')).toBe(false);
  });

  it('built-in user may use and list every model, nothing more; admin only administers', () => {
    for (const p of ['use', 'list'] as const) expect(can(BUILTIN_ROLES, ['user'], p, 'any-model')).toBe(true);
    for (const p of ['logprobs', 'embeddings', 'admin'] as const) expect(can(BUILTIN_ROLES, ['user'], p, 'any-model')).toBe(false);
    expect(isAdmin(BUILTIN_ROLES, ['user'])).toBe(false);
    expect(isAdmin(BUILTIN_ROLES, ['admin'])).toBe(true);
    expect(can(BUILTIN_ROLES, ['admin'], 'use', 'any-model')).toBe(false);
  });

  it('per-model grants; admin on one model is not administration', () => {
    const roles = new Map([['r', [{ models: ['a'], permissions: ['use', 'logprobs', 'admin'] as const }]]]);
    expect(can(roles, ['r'], 'logprobs', 'a')).toBe(true);
    expect(can(roles, ['r'], 'logprobs', 'b')).toBe(false);
    expect(isAdmin(roles, ['r'])).toBe(false);
  });

  it('grant shorthand round-trips and rejects unknown permissions', () => {
    const g = parseGrant('llama3:8b,qwen=use,logprobs');
    expect(g).toEqual({ models: ['llama3:8b', 'qwen'], permissions: ['use', 'logprobs'] });
    expect(parseGrant(formatGrant(g))).toEqual(g);
    expect(() => parseGrant('*=use,steal')).toThrow(/unknown permission 'steal'/);
    expect(() => parseGrant('use')).toThrow(/MODELS=PERMISSIONS/);
    expect(() => parseGrant('=use')).toThrow();
  });
});

describe('role registry', () => {
  it('moat.yaml overrides built-ins; stored roles never shadow either', async () => {
    const stored: StoredRole[] = [
      { name: 'user', grants: [{ models: ['*'], permissions: ['admin'] }], createdAt: '', updatedAt: '' },
      { name: 'analyst', grants: [{ models: ['m'], permissions: ['use', 'embeddings'] }], createdAt: '', updatedAt: '' },
    ];
    const reg = new RoleRegistry({ user: [{ models: ['m'], permissions: ['use'] }] }, { listRoles: async () => stored });
    expect(can(reg, ['user'], 'use', 'other')).toBe(false);
    expect(reg.get('analyst')).toBeUndefined();
    await reg.refresh();
    expect(can(reg, ['analyst'], 'embeddings', 'm')).toBe(true);
    expect(isAdmin(reg, ['user'])).toBe(false);
    expect(reg.sourceOf('user')).toBe('config');
    expect(reg.sourceOf('admin')).toBe('builtin');
    expect(reg.sourceOf('analyst')).toBe('stored');
    expect(reg.list().map((r) => `${r.name}:${r.source}`)).toEqual(['admin:builtin', 'analyst:stored', 'user:config']);
  });
});

describe('limit changes and audit details', () => {
  it('a number sets, null removes, absent keeps', () => {
    expect(mergeLimits({ rpm: 1, tpm: 2 }, { rpm: null, tpd: 3 })).toEqual({ tpm: 2, tpd: 3 });
  });

  it('secret-named fields never reach an audit record, at any depth', () => {
    expect(withoutSecrets({ a: 1, key: 'moat_x', nested: [{ apiKey: 's', token: 't', ok: true }] })).toEqual({ a: 1, key: '[redacted]', nested: [{ apiKey: '[redacted]', token: '[redacted]', ok: true }] });
  });
});
