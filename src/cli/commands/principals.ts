/** `moat principals list|show|create|update`: who may call, their tenant, roles and limits. */
import type { Command } from 'commander';
import { keyState } from '../../identity/admin.js';
import type { Principal } from '../../identity/types.js';
import { collect, printJson } from '../common.js';
import { runAdmin, withStore, type IdentityOptions } from '../identity-context.js';
import { formatLimits, limitChangeFrom, limitOptions, limitsFrom } from '../limit-options.js';
import { checkName } from './keys.js';

type LimitOpts = { rpm?: number | 'none'; tpm?: number | 'none'; tpd?: number | 'none'; concurrency?: number | 'none' };
type Opts = IdentityOptions & LimitOpts & { json?: boolean; tenant?: string; role?: string[]; addRole?: string[]; removeRole?: string[] };

const line = (p: Principal) => `${p.name}  tenant ${p.tenant}  roles ${p.roles.join(',') || '(none)'}  limits ${formatLimits(p.limits)}`;
const names = (kind: string, v: string[] | undefined) => v?.map((r) => checkName(kind, r));

export function registerPrincipals(program: Command): void {
  const cmd = program.command('principals').description('list, show, create and update principals (people and service accounts)');

  withStore(cmd.command('list').description('list principals').option('--tenant <name>', 'only this tenant').option('--json', 'print JSON')).action(async (o: Opts) => {
    const list = await runAdmin(o, 'principals.list', {}, (ctx) => ctx.admin.listPrincipals(o.tenant));
    if (o.json) return printJson({ principals: list });
    for (const p of list) process.stdout.write(line(p) + '\n');
    if (list.length === 0) process.stdout.write('no principals\n');
  });

  withStore(cmd.command('show <name>').description('show a principal and its keys').option('--json', 'print JSON')).action(async (name: string, o: Opts) => {
    const p = await runAdmin(o, 'principals.get', { target: { principal: name } }, (ctx) => ctx.admin.getPrincipal(name));
    if (o.json) return printJson(p);
    process.stdout.write(line(p) + '\n');
    for (const k of p.keys) process.stdout.write(`  ${k.id}  ${k.hint}  ${k.scope}  ${keyState(k)}  last used ${k.lastUsedAt ?? 'never'}\n`);
  });

  limitOptions(
    withStore(
      cmd
        .command('create <name>')
        .description('create a principal (and its tenant when new)')
        .option('--tenant <name>', "its tenant (default 'default')")
        .option('--role <role>', "a role (repeatable; default 'user')", collect)
        .option('--json', 'print JSON'),
    ),
    false,
    'the principal',
  ).action(async (name: string, o: Opts) => {
    const input = { name: checkName('principal', name), tenant: checkName('tenant', o.tenant ?? 'default'), limits: limitsFrom(o), ...(o.role ? { roles: names('role', o.role) } : {}) };
    const p = await runAdmin(o, 'principals.create', { target: { principal: name }, details: { tenant: input.tenant, roles: o.role ?? ['user'], limits: input.limits } }, (ctx) =>
      ctx.admin.createPrincipal(input),
    );
    if (o.json) printJson(p);
    else process.stdout.write(`created ${line(p)}\n`);
  });

  limitOptions(
    withStore(
      cmd
        .command('update <name>')
        .description('change the roles or limits of a principal (running servers see it within the identity cache TTL)')
        .option('--role <role>', 'replace the roles with these (repeatable)', collect)
        .option('--add-role <role>', 'add a role (repeatable)', collect)
        .option('--remove-role <role>', 'remove a role (repeatable)', collect)
        .option('--json', 'print JSON'),
    ),
    true,
    'the principal',
  ).action(async (name: string, o: Opts) => {
    const limits = limitChangeFrom(o);
    const change = {
      ...(o.role ? { roles: names('role', o.role) } : {}),
      ...(o.addRole ? { addRoles: names('role', o.addRole) } : {}),
      ...(o.removeRole ? { removeRoles: o.removeRole } : {}),
      ...(Object.keys(limits).length ? { limits } : {}),
    };
    const p = await runAdmin(o, 'principals.update', { target: { principal: name }, details: { change } }, (ctx) => ctx.admin.updatePrincipal(name, change));
    if (o.json) printJson(p);
    else process.stdout.write(`updated ${line(p)}\n`);
  });
}
