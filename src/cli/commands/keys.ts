/** `moat keys create|list|revoke|rotate`: API keys in the data directory that `moat serve` reads. */
import type { Command } from 'commander';
import { keyState } from '../../identity/admin.js';
import type { CreatedKey } from '../../identity/api-keys.js';
import { NAME_RE } from '../../identity/schema.js';
import type { PublicKeyRecord } from '../../identity/types.js';
import { CliError, collect, parseIntArg, printJson } from '../common.js';
import { runAdmin, withStore, type IdentityOptions } from '../identity-context.js';
import { limitOptions, limitsFrom, parseDuration } from '../limit-options.js';

/** Checks a principal, tenant or role name given on the command line. */
export function checkName(kind: string, v: string): string {
  if (!NAME_RE.test(v)) throw new CliError(`${kind} '${v.slice(0, 40)}' is not valid: use 1-128 letters, digits and . _ @ -, starting with a letter or digit`);
  return v;
}

interface CreateOpts extends IdentityOptions {
  principal: string;
  tenant?: string;
  role?: string[];
  rpm?: number;
  tpm?: number;
  tpd?: number;
  concurrency?: number;
  label?: string;
  expiresDays?: number;
  admin?: boolean;
  json?: boolean;
}

function keyLine(k: PublicKeyRecord): string {
  return `${k.id}  ${k.hint}  ${k.principal}  ${k.scope}  ${keyState(k)}  created ${k.createdAt}  expires ${k.expiresAt ?? 'never'}  last used ${k.lastUsedAt ?? 'never'}`;
}

function shownOnce(c: CreatedKey): string {
  return `\n  ${c.key}\n\nStore it now: Moat keeps only a hash and cannot show it again.\n`;
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('create, list, revoke and rotate API keys');

  limitOptions(
    withStore(
      keys
        .command('create')
        .description('create an API key; the principal and tenant are created when they do not exist yet')
        .requiredOption('--principal <name>', 'who the key belongs to (a person or a service account)')
        .option('--tenant <name>', "organization or team of a new principal (default 'default')")
        .option('--role <role>', "role of a new principal (repeatable; default 'user', or 'admin' with --admin)", collect)
        .option('--label <text>', 'a note to recognise the key by')
        .option('--expires-days <n>', 'the key expires after this many days', parseIntArg('--expires-days', 1))
        .option('--admin', 'an admin key: works only on /admin/v1, and only for a principal with an admin role')
        .option('--json', 'print {"id","key","principal","tenant",...} as JSON'),
    ),
    false,
    'a new principal',
  ).action(async (o: CreateOpts) => {
    const principal = checkName('principal', o.principal);
    const tenant = o.tenant === undefined ? undefined : checkName('tenant', o.tenant);
    const roles = o.role?.map((r) => checkName('role', r));
    const limits = limitsFrom(o);
    const created = await runAdmin(o, 'keys.create', { target: { principal } }, async (ctx, note) => {
      const c = await ctx.admin.createKey({
        principal,
        ...(tenant !== undefined ? { tenant } : {}),
        ...(roles ? { roles } : {}),
        limits,
        label: o.label ?? null,
        expiresAt: o.expiresDays ? new Date(Date.now() + o.expiresDays * 86_400_000) : null,
        scope: o.admin ? 'admin' : 'inference',
      });
      note.details = { keyId: c.id, scope: c.scope, tenant: c.tenant, principalCreated: c.principalCreated };
      return c;
    });
    if (o.json) {
      printJson({ id: created.id, key: created.key, principal: created.principal, tenant: created.tenant, scope: created.scope, expiresAt: created.expiresAt, principalCreated: created.principalCreated });
      return;
    }
    const ignored = !created.principalCreated && (roles || Object.keys(limits).length) ? ' (it exists: --role and limit options were ignored; use `moat principals update`)' : '';
    process.stdout.write(
      `Created ${created.scope} key ${created.id} for principal '${created.principal}' (tenant '${created.tenant}')${created.principalCreated ? ', a new principal' : ignored}.\n${shownOnce(created)}`,
    );
  });

  withStore(keys.command('list').description('list keys (never the secrets)').option('--principal <name>', 'only this principal').option('--json', 'print JSON')).action(
    async (o: IdentityOptions & { principal?: string; json?: boolean }) => {
      const list = await runAdmin(o, 'keys.list', {}, (ctx) => ctx.admin.listKeys(o.principal));
      if (o.json) return printJson({ keys: list.map((k) => ({ ...k, state: keyState(k) })) });
      for (const k of list) process.stdout.write(keyLine(k) + '\n');
      if (list.length === 0) process.stdout.write('no keys\n');
    },
  );

  withStore(keys.command('revoke <id>').description('revoke a key; running servers refuse it within the identity cache TTL').option('--json', 'print JSON')).action(
    async (id: string, o: IdentityOptions & { json?: boolean }) => {
      const r = await runAdmin(o, 'keys.revoke', { target: { key: id } }, async (ctx, note) => {
        const out = await ctx.admin.revokeKey(id);
        note.details = { alreadyRevoked: !out.changed };
        return out;
      });
      if (o.json) printJson({ id, revoked: true, alreadyRevoked: !r.changed });
      else process.stdout.write(r.changed ? `revoked ${id}\n` : `${id} was already revoked\n`);
    },
  );

  withStore(
    keys
      .command('rotate <id>')
      .description('issue a replacement key; the old key keeps working during the overlap, then expires')
      .option('--overlap <duration>', 'how long the old key keeps working, e.g. 0, 15m, 24h, 7d', parseDuration, 86_400_000)
      .option('--json', 'print the new key and the old key expiry as JSON'),
  ).action(async (id: string, o: IdentityOptions & { overlap: number; json?: boolean }) => {
    if (o.overlap > 30 * 86_400_000) throw new CliError('--overlap is at most 30d');
    const r = await runAdmin(o, 'keys.rotate', { target: { key: id } }, async (ctx, note) => {
      const out = await ctx.admin.rotateKey(id, o.overlap);
      note.details = { newKeyId: out.id, overlapSeconds: o.overlap / 1000, oldExpiresAt: out.oldExpiresAt };
      return out;
    });
    if (o.json) printJson({ id: r.id, key: r.key, principal: r.principal, tenant: r.tenant, scope: r.scope, rotatedFrom: id, oldExpiresAt: r.oldExpiresAt });
    else process.stdout.write(`Rotated ${id} -> ${r.id} (principal '${r.principal}'). The old key stops working at ${r.oldExpiresAt}.\n${shownOnce(r)}`);
  });
}
