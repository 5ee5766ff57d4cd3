/** `moat scan <dir>`: static analysis of inference code for the weaknesses that enable model theft. */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { formatJson, formatText } from '../../scan/report/text.js';
import { toSarif } from '../../scan/report/sarif.js';
import { atLeast } from '../../scan/rules.js';
import { scanDirectory } from '../../scan/scan.js';
import { SEVERITIES, type Severity } from '../../scan/types.js';
import { CliError } from '../common.js';

interface ScanOptions {
  format: 'text' | 'json' | 'sarif';
  failOn: Severity | 'none';
}

function parseFailOn(v: string): Severity | 'none' {
  if (v === 'none' || (SEVERITIES as readonly string[]).includes(v)) return v as Severity | 'none';
  throw new InvalidArgumentError(`expected one of ${[...SEVERITIES, 'none'].join(', ')}`);
}

export function registerScan(program: Command): void {
  program
    .command('scan <dir>')
    .description('find inference endpoints in TypeScript/JavaScript (Express, Fastify, Hono, Next.js) and Python (FastAPI, Flask) code and report what lets the model be stolen')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'sarif']).default('text'))
    .option('--fail-on <severity>', 'exit with status 1 when a finding is at least this severe (high, medium, low, none)', parseFailOn, 'high')
    .action(async (dir: string, opts: ScanOptions) => {
      if (!existsSync(dir)) throw new CliError(`no such file or directory: ${dir}`, 2);
      const result = await scanDirectory(dir);
      if (opts.format === 'json') process.stdout.write(formatJson(result));
      else if (opts.format === 'sarif') process.stdout.write(JSON.stringify(toSarif(result, program.version() ?? '0.0.0'), null, 2) + '\n');
      else process.stdout.write(formatText(result));
      const threshold = opts.failOn;
      if (threshold !== 'none' && result.findings.some((f) => atLeast(f.severity, threshold))) process.exitCode = 1;
    });
}
