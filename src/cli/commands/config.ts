/** `moat config check [FILE]`: validates a configuration without starting anything. */
import type { Command } from 'commander';
import { ConfigError, loadConfigFile } from '../../config/load.js';
import { CliError, DEFAULT_CONFIG_FILE, printJson } from '../common.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('work with moat.yaml');
  config
    .command('check [file]')
    .description('validate a configuration file (default ./moat.yaml) and report every problem')
    .option('--json', 'print the result as JSON')
    .action((file: string | undefined, opts: { json?: boolean }) => {
      const path = file ?? DEFAULT_CONFIG_FILE;
      try {
        const cfg = loadConfigFile(path);
        const models = Object.keys(cfg.models);
        if (opts.json) printJson({ ok: true, file: path, models });
        else process.stdout.write(`${path}: ok (${models.length} model${models.length === 1 ? '' : 's'}: ${models.join(', ')})\n`);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        if (opts.json) {
          printJson({ ok: false, file: path, problems: e.problems });
          process.exitCode = 2;
          return;
        }
        throw new CliError(`${path} is not valid:\n  ${e.problems.join('\n  ')}`, 2);
      }
    });
}
