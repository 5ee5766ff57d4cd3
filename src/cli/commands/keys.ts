/** `moat keys create|list|revoke`: API keys in the data directory that `moat serve` reads. */
import type { Command } from 'commander';
import { CliError, parseIntArg, printJson } from '../common.js';
import { openIdentity, type IdentityOptions } from '../identity-context.js';

const NAME = /^[A-Za-z0-9][\w.@-]{0,127}$/;

function checkName(kind: string, v: string): string {
  if (!NAME.test(v)) throw new CliError(`${kind} '${v.slice(0, 40)}' is not valid: use 1-128 letters, digits and . _ @ -, starting with a letter or digit`);
  return v;
}

interface CreateOpts extends IdentityOptions {
  principal: string;
  tenant?: string;
  role?: string[];
  rpm?: number;
  label?: string;
  expiresDays?: number;
  json?: boolean;
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('create, list and revoke API keys');
  const withStore = (c: Command) =>
    c.option('--data-dir <dir>', 'data directory shared with `moat serve` (default: from moat.yaml, else ./.moat)').option('-c, --config <file>', 'configuration file (default ./moat.yaml when present)');

  withStore(
    keys
      .command('create')
      .description('create an API key; the principal and tenant are created when they do not exist yet')
      .requiredOption('--principal <name>', 'who the key belongs to (a person or a service account)')
      .option('--tenant <name>', 'organization or team of a new principal', 'default')
      .option('--role <role>', "role of a new principal (repeatable; default 'user')", (v: string, p: string[] = []) => [...p, v])
      .option('--rpm <n>', 'requests per minute for a new principal', parseIntArg('--rpm'))
      .option('--label <text>', 'a note to recognise the key by')
      .option('--expires-days <n>', 'the key expires after this many days', parseIntArg('--expires-days', 1))
      .option('--json', 'print {"id","key","principal","tenant"} as JSON'),
  ).action(async (o: CreateOpts) => {
    const ctx = openIdentity(o);
    try {
      const created = await ctx.keys.create({
        principal: checkName('principal', o.principal),
        tenant: checkName('tenant', o.tenant ?? 'default'),
        roles: o.role ?? ['user'],
        limits: o.rpm !== undefined ? { rpm: o.rpm } : {},
        label: o.label ?? null,
        expiresAt: o.expiresDays ? new Date(Date.now() + o.expiresDays * 86_400_000) : null,
      });
      if (o.json) printJson({ id: created.id, key: created.key, principal: created.principal, tenant: created.tenant });
      else {
        process.stdout.write(
          `Created key ${created.id} for principal '${created.principal}' (tenant '${created.tenant}')${created.principalCreated ? ', a new principal' : ''}.\n\n  ${created.key}\n\nStore it now: Moat keeps only a hash and cannot show it again.\n`,
        );
      }
    } finally {
      await ctx.close();
    }
  });

  withStore(keys.command('list').description('list keys (never the secrets)').option('--principal <name>', 'only this principal').option('--json', 'print JSON')).action(
    async (o: IdentityOptions & { principal?: string; json?: boolean }) => {
      const ctx = openIdentity(o);
      try {
        const list = (await ctx.keys.store.listKeys(o.principal)).map(({ hash: _hash, ...k }) => k);
        if (o.json) printJson({ keys: list });
        else {
          for (const k of list) {
            const state = k.revokedAt ? 'revoked' : k.expiresAt && Date.parse(k.expiresAt) < Date.now() ? 'expired' : 'active';
            process.stdout.write(`${k.id}  ${k.hint}  ${k.principal}  ${state}  created ${k.createdAt}  last used ${k.lastUsedAt ?? 'never'}\n`);
          }
          if (list.length === 0) process.stdout.write('no keys\n');
        }
      } finally {
        await ctx.close();
      }
    },
  );

  withStore(keys.command('revoke <id>').description('revoke a key; running servers refuse it within the identity cache TTL').option('--json', 'print JSON')).action(
    async (id: string, o: IdentityOptions & { json?: boolean }) => {
      const ctx = openIdentity(o);
      try {
        const key = await ctx.keys.store.getKey(id);
        if (!key) throw new CliError(`no key with id '${id.slice(0, 64)}' (see \`moat keys list\`)`);
        const changed = await ctx.keys.store.revokeKey(id);
        if (o.json) printJson({ id, revoked: true, alreadyRevoked: !changed });
        else process.stdout.write(changed ? `revoked ${id}\n` : `${id} was already revoked\n`);
      } finally {
        await ctx.close();
      }
    },
  );
}
