import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../src/config/load.js';

const base = 'models:\n  m:\n    upstream:\n      baseURL: http://127.0.0.1:8000/v1\n';
const problems = (text: string) => {
  try {
    parseConfigText(base + text, {});
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
};

describe('identity and limits configuration', () => {
  it('roles are read as lists of grants', () => {
    const cfg = parseConfigText(`${base}roles:\n  researcher:\n    - models: [m]\n      permissions: [use, logprobs]\n`, {});
    expect(cfg.roles).toEqual({ researcher: [{ models: ['m'], permissions: ['use', 'logprobs'] }] });
    expect(cfg.admin.enabled).toBe(true);
  });

  it('an unknown permission or a bad role name is named with its path', () => {
    expect(problems('roles:\n  r:\n    - models: [m]\n      permissions: [use, steal]\n')[0]).toMatch(/^roles\.r\.0\.permissions\.1: /);
    expect(problems('roles:\n  "bad role":\n    - models: [m]\n      permissions: [use]\n')[0]).toMatch(/^roles\.bad role: /);
    expect(problems('roles:\n  r:\n    - models: []\n      permissions: [use]\n')[0]).toMatch(/^roles\.r\.0\.models: expected at least one model/);
  });

  it('limit defaults per principal and tenant; the Redis store needs a URL', () => {
    const cfg = parseConfigText(`${base}limits:\n  defaults:\n    tpm: 10000\n  tenantDefaults:\n    concurrency: 8\n`, {});
    expect(cfg.limits.defaults).toEqual({ rpm: 600, tpm: 10000, tpd: 0, concurrency: 0 });
    expect(cfg.limits.tenantDefaults).toEqual({ rpm: 0, tpm: 0, tpd: 0, concurrency: 8 });
    expect(problems('limits:\n  store: redis\n')[0]).toMatch(/^limits\.redis: required when store is redis/);
    expect(problems('limits:\n  store: redis\n  redis:\n    url: http://x\n')[0]).toMatch(/^limits\.redis\.url: expected a redis:\/\//);
  });
});

describe('JWT configuration and claim mapping', () => {
  const issuer = (extra: string) => `identity:\n  jwt:\n    issuers:\n      - issuer: https://idp.test\n        audiences: [moat]\n${extra}`;

  it('needs exactly one key source, https for remote keys, and asymmetric algorithms only', () => {
    expect(problems(issuer(''))[0]).toMatch(/^identity\.jwt\.issuers\.0: give exactly one of jwksUrl or publicKeys/);
    expect(problems(issuer('        jwksUrl: http://idp.test/jwks\n'))[0]).toMatch(/jwksUrl: expected an https:\/\/ URL/);
    expect(problems(issuer('        jwksUrl: https://idp.test/jwks\n        algorithms: [HS256]\n'))[0]).toMatch(/^identity\.jwt\.issuers\.0\.algorithms\.0: /);
    const cfg = parseConfigText(base + issuer('        jwksUrl: http://127.0.0.1:9999/jwks\n'), {});
    expect(cfg.identity.jwt?.issuers[0]).toMatchObject({ algorithms: ['RS256'], claims: { principal: 'sub' }, defaultRoles: [], requireKnownPrincipal: false });
  });

  it('maps nested claims, role strings and a role map', async () => {
    const { mapClaims } = await import('../../src/identity/jwt-claims.js');
    const cfg = { claims: { principal: 'sub', tenant: 'org.id', roles: 'scope' }, defaultRoles: ['user'] };
    expect(mapClaims(cfg, { sub: 'ann', org: { id: 'acme' }, scope: 'reader writer' })).toEqual({ principal: 'ann', tenant: 'acme', roles: ['user', 'reader', 'writer'] });
    expect(mapClaims({ ...cfg, roleMap: { writer: 'user' } }, { sub: 'ann', scope: ['writer', 'admin'] }).roles).toEqual(['user']);
    expect(() => mapClaims(cfg, { org: {} })).toThrow(/lacks a required claim \(sub\)/);
    expect(() => mapClaims(cfg, { sub: { nested: true } })).toThrow(/printable name/);
  });
});
