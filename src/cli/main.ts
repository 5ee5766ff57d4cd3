/**
 * The `moat` command. Each sub-command lives in its own file under commands/ and registers
 * itself here.
 */
import { Command, CommanderError } from 'commander';
import { registerAudit } from './commands/audit.js';
import { registerConfig } from './commands/config.js';
import { registerDemo } from './commands/demo.js';
import { registerDetect } from './commands/detect.js';
import { registerKeys } from './commands/keys.js';
import { registerPrincipals } from './commands/principals.js';
import { registerProbe } from './commands/probe.js';
import { registerRoles } from './commands/roles.js';
import { registerScan } from './commands/scan.js';
import { registerServe } from './commands/serve.js';
import { registerTenants } from './commands/tenants.js';
import { registerWatermark } from './commands/watermark.js';
import { CliError } from './common.js';

export function buildProgram(): Command {
  const program = new Command('moat')
    .description('Moat: a model-theft defense gateway for OpenAI-compatible inference APIs')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)');
  registerServe(program);
  registerDemo(program);
  registerKeys(program);
  registerPrincipals(program);
  registerTenants(program);
  registerRoles(program);
  registerConfig(program);
  registerDetect(program);
  registerAudit(program);
  registerScan(program);
  registerProbe(program);
  registerWatermark(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof CliError) {
      process.stderr.write(`moat: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`moat: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
