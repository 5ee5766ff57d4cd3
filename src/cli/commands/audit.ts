/**
 * `moat audit verify|query|export|prune|seal`: check the hash-chained log, read it back, hand it
 * to detection replay, apply retention, and sign its head for safekeeping elsewhere.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { Checkpoint } from '../../audit/checkpoint.js';
import { exportLine, parseTime, type AuditFilter } from '../../audit/query.js';
import type { AuditRecord } from '../../audit/record.js';
import { verifyLog, type VerifyReport } from '../../audit/verify.js';
import { openAudit, type AuditContext, type AuditOptions } from '../audit-context.js';
import { CliError, collect, parseIntArg, printJson } from '../common.js';

interface FilterOpts extends AuditOptions {
  principal?: string;
  tenant?: string;
  model?: string;
  decision?: string;
  kind?: 'request' | 'admin';
  since?: string;
  until?: string;
  limit?: number;
}

function time(name: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = parseTime(v);
  if (!t) throw new CliError(`${name} '${v.slice(0, 40)}' is not a time: use an ISO date such as 2025-01-31 or a duration back from now such as 7d, 12h`);
  return t;
}

function filterOf(o: FilterOpts): AuditFilter {
  const f: AuditFilter = {};
  for (const k of ['principal', 'tenant', 'model', 'decision', 'kind', 'limit'] as const) if (o[k] !== undefined) Object.assign(f, { [k]: o[k] });
  const since = time('--since', o.since);
  const until = time('--until', o.until);
  if (since) f.since = since;
  if (until) f.until = until;
  return f;
}

const withStore = (c: Command) =>
  c.option('--data-dir <dir>', 'data directory shared with `moat serve` (default: from moat.yaml, else ./.moat)').option('-c, --config <file>', 'configuration file (default ./moat.yaml when present)');

const withFilters = (c: Command) =>
  withStore(c)
    .option('--principal <name>', 'only this principal')
    .option('--tenant <name>', 'only this tenant')
    .option('--model <name>', 'only this model')
    .option('--decision <outcome>', 'allowed, denied, upstream_error, client_aborted or error (ok/failed for admin records)')
    .option('--kind <kind>', 'request or admin')
    .option('--since <time>', 'from this time on (ISO date, or a duration back from now: 7d, 12h, 30m)')
    .option('--until <time>', 'before this time')
    .option('--limit <n>', 'at most this many records', parseIntArg('--limit', 1));

async function withAudit<T>(o: AuditOptions, fn: (a: AuditContext) => Promise<T>): Promise<T> {
  const a = openAudit(o);
  try {
    return await fn(a);
  } finally {
    await a.store.close();
  }
}

async function writeLines(out: Writable, lines: AsyncIterable<string> | Iterable<string>): Promise<number> {
  let n = 0;
  for await (const l of lines) {
    n++;
    if (!out.write(l + '\n')) await once(out, 'drain');
  }
  return n;
}

function readAnchor(file: string): Checkpoint {
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as Checkpoint;
    if (typeof c.seq !== 'number' || typeof c.signature !== 'string') throw new Error('not a checkpoint');
    return c;
  } catch (e) {
    throw new CliError(`cannot read the anchor ${file}: ${(e as Error).message} (write one with \`moat audit seal --json\`)`);
  }
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('verify, query and export the hash-chained audit log');

  withStore(audit.command('verify').description('check the whole chain and its signed checkpoints; exit 1 naming the first bad record'))
    .option('--public-key <file>', 'trust this checkpoint public key (PEM; repeatable; default: the data directory\'s own)', collect)
    .option('--anchor <file>', 'a checkpoint saved earlier with `moat audit seal --json`; the log must still contain it')
    .option('--json', 'print {"ok", "first_bad_seq", ...} as JSON')
    .action(async (o: AuditOptions & { publicKey?: string[]; anchor?: string; json?: boolean }) => {
      const report: VerifyReport = await withAudit(o, async (a) => {
        const cps = await a.store.checkpoints();
        const r = await verifyLog(a.store.rows(), cps, a.trusted(o.publicKey ?? []));
        if (o.anchor && r.ok) {
          const anchor = readAnchor(o.anchor);
          if (!cps.some((c) => c.seq === anchor.seq && c.hash === anchor.hash && c.signature === anchor.signature)) {
            Object.assign(r, { ok: false, first_bad_seq: Math.min(anchor.seq, (r.last_seq ?? 0) + 1), reason: `the anchored checkpoint at seq ${anchor.seq} is no longer in the log (records or checkpoints were removed)` });
          }
        }
        return r;
      });
      if (o.json) printJson(report);
      else if (report.ok) {
        const range = report.records ? `seq ${report.first_seq}..${report.last_seq}` : 'empty';
        process.stdout.write(`audit log OK: ${report.records} records (${range}), ${report.checkpoints} signed checkpoints, sealed through seq ${report.sealed_through ?? '-'} (${report.unsealed} unsealed)\n`);
      } else process.stdout.write(`audit log FAILED at record ${report.first_bad_seq}: ${report.reason}\n`);
      process.exitCode = report.ok ? 0 : 1;
    });

  withFilters(audit.command('query').description('print matching records as JSON Lines (with their seq)')).action(async (o: FilterOpts) => {
    await withAudit(o, async (a) => {
      const rows = a.store.query(filterOf(o));
      await writeLines(process.stdout, (async function* () {
        for await (const r of rows) yield JSON.stringify({ seq: r.seq, ...(JSON.parse(r.data) as AuditRecord) });
      })());
    });
  });

  withFilters(audit.command('export').description('export requests as JSON Lines {"ts","principal","tenant","ip","route","body"} for `moat detect replay`'))
    .option('-o, --out <file>', 'write to this file instead of stdout')
    .action(async (o: FilterOpts & { out?: string }) => {
      await withAudit(o, async (a) => {
        const out = o.out ? createWriteStream(o.out) : process.stdout;
        const rows = a.store.query({ ...filterOf(o), kind: 'request' });
        const n = await writeLines(out, (async function* () {
          for await (const r of rows) {
            const line = exportLine(JSON.parse(r.data) as AuditRecord);
            if (line) yield JSON.stringify(line);
          }
        })());
        if (o.out) {
          out.end();
          await once(out, 'finish');
          process.stderr.write(`exported ${n} requests to ${o.out}\n`);
        }
      });
    });

  withStore(audit.command('prune').description('remove records older than a given age, keeping the rest verifiable'))
    .requiredOption('--older-than <age>', 'e.g. 90d')
    .option('--json', 'print JSON')
    .action(async (o: AuditOptions & { olderThan: string; json?: boolean }) => {
      if (!/^\d+\s*[smhd]$/.test(o.olderThan.trim())) throw new CliError(`--older-than '${o.olderThan.slice(0, 40)}' is not an age: use e.g. 90d, 12h`);
      const before = parseTime(o.olderThan)!;
      const r = await withAudit(o, async (a) => a.store.prune(before, a.seal()));
      if (o.json) printJson({ before, ...r });
      else if (r.throughSeq === null) process.stdout.write(`nothing to remove before ${before} (retention cuts only up to a signed checkpoint)\n`);
      else process.stdout.write(`removed ${r.removed} records (through seq ${r.throughSeq}) older than ${before}\n`);
    });

  withStore(audit.command('seal').description('sign a checkpoint of the current head now, and print it (keep it elsewhere; pass it to verify --anchor)'))
    .option('--json', 'print the checkpoint as JSON')
    .action(async (o: AuditOptions & { json?: boolean }) => {
      const cp = await withAudit(o, async (a) => {
        await a.store.write([], a.seal(), true);
        return (await a.store.checkpoints()).at(-1) ?? null;
      });
      if (!cp) throw new CliError('the audit log is empty: nothing to seal');
      if (o.json) printJson(cp);
      else process.stdout.write(`checkpoint at seq ${cp.seq}: ${cp.hash} signed by key ${cp.keyId} at ${cp.ts}\n`);
    });
}
