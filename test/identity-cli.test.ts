/**
 * The identity commands as an operator runs them on a data directory: tenants, principals,
 * roles and keys with --json, an admin key that works on the admin API of a server started on
 * the same directory, rotation, and an audit record for every command.
 */
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoUpstream } from '../src/demo/server.js';
import { adminClient } from './helpers/admin.js';
import { runMoat, startMoat } from './helpers/cli.js';
import { tempDir } from './helpers/gateway.js';

let dir: string;
const moat = (...args: string[]) => {
  const r = runMoat([...args, '--data-dir', dir]);
  return { ...r, json: () => JSON.parse(r.stdout) as Record<string, unknown> & { [k: string]: unknown } };
};

beforeAll(() => {
  dir = tempDir('moat-idcli-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('identity commands', () => {
  it('keys create makes the principal and tenant with the given role and limits', () => {
    const k = moat('keys', 'create', '--principal', 'ann', '--tenant', 'acme', '--rpm', '30', '--tpm', '9000', '--json');
    expect(k.status).toBe(0);
    expect(k.json()).toMatchObject({ principal: 'ann', tenant: 'acme', scope: 'inference', principalCreated: true });
    const shown = moat('principals', 'show', 'ann', '--json').json();
    expect(shown).toMatchObject({ name: 'ann', tenant: 'acme', roles: ['user'], limits: { rpm: 30, tpm: 9000 } });
    expect(JSON.stringify(shown)).not.toContain(k.json().key as string);
    const t = moat('tenants', 'list', '--json').json();
    expect(t.tenants).toEqual([expect.objectContaining({ name: 'acme' })]);
  });

  it('tenants and principals are updated; bad values are explained', () => {
    expect(moat('tenants', 'update', 'acme', '--tpd', '100000', '--json').json()).toMatchObject({ limits: { tpd: 100000 } });
    const p = moat('principals', 'update', 'ann', '--rpm', 'none', '--concurrency', '2', '--json').json();
    expect(p.limits).toEqual({ tpm: 9000, concurrency: 2 });
    const bad = moat('principals', 'update', 'ann', '--rpm', 'lots');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('expected an integer >= 0');
    const unknown = moat('principals', 'update', 'nobody', '--rpm', '1');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain("No principal named 'nobody'");
  });

  it('roles set/list/delete; a built-in role cannot be replaced', () => {
    const r = moat('roles', 'set', 'researcher', '--grant', '*=use,list', '--grant', 'moat-demo=logprobs', '--json');
    expect(r.status).toBe(0);
    expect(r.json()).toMatchObject({ name: 'researcher', source: 'stored', grants: [{ models: ['*'], permissions: ['use', 'list'] }, { models: ['moat-demo'], permissions: ['logprobs'] }] });
    expect(moat('principals', 'update', 'ann', '--add-role', 'researcher', '--json').json().roles).toEqual(['user', 'researcher']);
    const listed = moat('roles', 'list').stdout;
    expect(listed).toMatch(/^researcher {2}\(stored\) {2}\*=use,list {2}moat-demo=logprobs$/m);
    expect(listed).toMatch(/^user {2}\(builtin\)/m);
    expect(moat('roles', 'set', 'user', '--grant', '*=admin').stderr).toContain("The role 'user' is built in");
    expect(moat('roles', 'set', 'x', '--grant', '*=steal').stderr).toContain("unknown permission 'steal'");
    expect(moat('roles', 'delete', 'researcher').status).toBe(0);
  });

  it('an admin key from the CLI works on the admin API; rotate replaces a key; every command is audited', async () => {
    const demo = await startDemoUpstream();
    const server = await startMoat(['serve', '--upstream', demo.baseURL, '--port', '0', '--data-dir', dir], /at (http:\/\/\S+\/v1)/);
    try {
      const a = moat('keys', 'create', '--principal', 'root', '--admin', '--json').json();
      expect(a).toMatchObject({ scope: 'admin', principalCreated: true });
      const call = adminClient(server.match[1]!, a.key as string);
      expect((await call('GET', '/principals/ann')).json).toMatchObject({ name: 'ann', tenant: 'acme' });

      const user = moat('keys', 'create', '--principal', 'ann', '--json').json();
      const rot = moat('keys', 'rotate', String(user.id), '--overlap', '0', '--json');
      expect(rot.status).toBe(0);
      expect(rot.json()).toMatchObject({ principal: 'ann', rotatedFrom: user.id });
      const keys = moat('keys', 'list', '--principal', 'ann', '--json').json().keys as Array<{ id: string; state: string }>;
      expect(keys.find((k) => k.id === user.id)!.state).toBe('expired');
      expect(keys.find((k) => k.id === rot.json().id)!.state).toBe('active');
      expect(moat('keys', 'rotate', String(user.id)).stderr).toContain('is expired');
    } finally {
      await server.stop();
      await demo.close();
    }
    const db = new Database(join(dir, 'audit.db'), { readonly: true });
    const rows = db.prepare("SELECT route, outcome, data FROM audit_log WHERE kind = 'admin' ORDER BY seq").all() as Array<{ route: string; outcome: string; data: string }>;
    db.close();
    const routes = rows.map((r) => r.route);
    for (const a of ['admin:keys.create', 'admin:principals.get', 'admin:tenants.update', 'admin:roles.put', 'admin:roles.delete', 'admin:keys.rotate']) expect(routes).toContain(a);
    expect(rows.find((r) => r.route === 'admin:principals.update' && r.outcome === 'failed')).toBeTruthy();
    expect(rows.some((r) => r.data.includes('moat_') && /moat_[0-9A-Za-z]{38}/.test(r.data))).toBe(false);
  });
});
