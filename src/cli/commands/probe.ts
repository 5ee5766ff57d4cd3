/** `moat probe <base-url>`: black-box checks of a live OpenAI-compatible endpoint. */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { formatProbeJson, formatProbeText } from '../../probe/report.js';
import { ProbeError, runProbe } from '../../probe/run.js';
import { CliError, parseIntArg } from '../common.js';

interface ProbeCliOptions {
  apiKey?: string;
  model?: string;
  maxRequests: number;
  rate: number;
  json?: boolean;
}

function parseRate(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 100) throw new InvalidArgumentError('--rate must be a number of requests per second between 0 and 100');
  return n;
}

export function registerProbe(program: Command): void {
  program
    .command('probe <base-url>')
    .description('check a live OpenAI-compatible endpoint (e.g. http://127.0.0.1:8080/v1) for what lets its model be stolen')
    .option('--api-key <key>', "an ordinary user's API key (default: $MOAT_PROBE_API_KEY)")
    .option('--model <name>', 'model to query (default: the first one GET /models lists)')
    .option('--max-requests <n>', 'most requests the whole probe may send', parseIntArg('--max-requests', 20), 80)
    .option('--rate <per-second>', 'most requests per second', parseRate, 5)
    .option('--json', 'print {"checks": [{"id", "status", "evidence", "fix"}]}')
    .action(async (baseURL: string, opts: ProbeCliOptions) => {
      try {
        const report = await runProbe({ baseURL, apiKey: opts.apiKey ?? process.env.MOAT_PROBE_API_KEY, model: opts.model, maxRequests: opts.maxRequests, rate: opts.rate });
        process.stdout.write(opts.json ? formatProbeJson(report) : formatProbeText(report));
        if (report.checks.some((c) => c.status === 'fail')) process.exitCode = 1;
      } catch (e) {
        if (e instanceof ProbeError) throw new CliError(e.message, 2);
        throw e;
      }
    });
}
