/** `moat roles list|set|delete`: what each role may do, per model. */
import type { Command } from 'commander';
import { formatGrant, parseGrant, type RoleGrant } from '../../identity/access.js';
import { CliError, printJson } from '../common.js';
import { runAdmin, withStore, type IdentityOptions } from '../identity-context.js';
import { checkName } from './keys.js';

type Opts = IdentityOptions & { json?: boolean; grant?: RoleGrant[] };

function grantArg(v: string, prev: RoleGrant[] = []): RoleGrant[] {
  try {
    return [...prev, parseGrant(v)];
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
}

export function registerRoles(program: Command): void {
  const cmd = program.command('roles').description('list, define and delete roles (permissions per model)');

  withStore(cmd.command('list').description('list every role: built in, from moat.yaml, and stored').option('--json', 'print JSON')).action(async (o: Opts) => {
    const list = await runAdmin(o, 'roles.list', {}, async (ctx) => ctx.admin.listRoles());
    if (o.json) return printJson({ roles: list });
    for (const r of list) process.stdout.write(`${r.name}  (${r.source})  ${r.grants.map(formatGrant).join('  ')}\n`);
  });

  withStore(
    cmd
      .command('set <name>')
      .description("define or replace a stored role, e.g. --grant '*=use,list' --grant 'llama-3=logprobs'")
      .requiredOption('--grant <MODELS=PERMISSIONS>', 'models (comma-separated, * = all) and permissions among use, logprobs, embeddings, list, admin (repeatable)', grantArg)
      .option('--json', 'print JSON'),
  ).action(async (name: string, o: Opts) => {
    const grants = o.grant!;
    const r = await runAdmin(o, 'roles.put', { target: { role: name }, details: { grants } }, (ctx) => ctx.admin.putRole(checkName('role', name), grants));
    if (o.json) printJson(r.role);
    else process.stdout.write(`${r.created ? 'created' : 'replaced'} role ${name}: ${grants.map(formatGrant).join('  ')}\n`);
  });

  withStore(cmd.command('delete <name>').description('delete a stored role (principals holding it lose what it granted)').option('--json', 'print JSON')).action(async (name: string, o: Opts) => {
    await runAdmin(o, 'roles.delete', { target: { role: name } }, (ctx) => ctx.admin.deleteRole(name));
    if (o.json) printJson({ name, deleted: true });
    else process.stdout.write(`deleted role ${name}\n`);
  });
}
