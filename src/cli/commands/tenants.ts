/** `moat tenants list|show|create|update`: organizations or teams, and their shared limits. */
import type { Command } from 'commander';
import type { Tenant } from '../../identity/types.js';
import { printJson } from '../common.js';
import { runAdmin, withStore, type IdentityOptions } from '../identity-context.js';
import { formatLimits, limitChangeFrom, limitOptions, limitsFrom } from '../limit-options.js';
import { checkName } from './keys.js';

type Opts = IdentityOptions & { json?: boolean; rpm?: number | 'none'; tpm?: number | 'none'; tpd?: number | 'none'; concurrency?: number | 'none' };
const line = (t: Tenant) => `${t.name}  limits ${formatLimits(t.limits)}  created ${t.createdAt}`;

export function registerTenants(program: Command): void {
  const cmd = program.command('tenants').description('list, show, create and update tenants (limits shared by their principals)');

  withStore(cmd.command('list').description('list tenants').option('--json', 'print JSON')).action(async (o: Opts) => {
    const list = await runAdmin(o, 'tenants.list', {}, (ctx) => ctx.admin.listTenants());
    if (o.json) return printJson({ tenants: list });
    for (const t of list) process.stdout.write(line(t) + '\n');
    if (list.length === 0) process.stdout.write('no tenants\n');
  });

  withStore(cmd.command('show <name>').description('show a tenant and its principals').option('--json', 'print JSON')).action(async (name: string, o: Opts) => {
    const r = await runAdmin(o, 'tenants.get', { target: { tenant: name } }, async (ctx) => ({ ...(await ctx.admin.getTenant(name)), principals: (await ctx.admin.listPrincipals(name)).map((p) => p.name) }));
    if (o.json) return printJson(r);
    process.stdout.write(`${line(r)}\n  principals: ${r.principals.join(', ') || '(none)'}\n`);
  });

  limitOptions(withStore(cmd.command('create <name>').description('create a tenant').option('--json', 'print JSON')), false, 'the whole tenant').action(async (name: string, o: Opts) => {
    const limits = limitsFrom(o);
    const t = await runAdmin(o, 'tenants.create', { target: { tenant: name }, details: { limits } }, (ctx) => ctx.admin.createTenant(checkName('tenant', name), limits));
    if (o.json) printJson(t);
    else process.stdout.write(`created ${line(t)}\n`);
  });

  limitOptions(withStore(cmd.command('update <name>').description("change a tenant's limits").option('--json', 'print JSON')), true, 'the whole tenant').action(async (name: string, o: Opts) => {
    const limits = limitChangeFrom(o);
    const t = await runAdmin(o, 'tenants.update', { target: { tenant: name }, details: { limits } }, (ctx) => ctx.admin.updateTenant(name, limits));
    if (o.json) printJson(t);
    else process.stdout.write(`updated ${line(t)}\n`);
  });
}
