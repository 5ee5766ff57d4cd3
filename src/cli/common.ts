/** Helpers shared by the CLI commands: resolving the configuration and the data directory. */
import { existsSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { ConfigError, loadConfigFile } from '../config/load.js';
import type { MoatConfig } from '../config/schema.js';

/** An error the CLI reports as one line on stderr, with an exit status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export const DEFAULT_CONFIG_FILE = 'moat.yaml';
export const DEFAULT_DATA_DIR = './.moat';

/** Loads `--config FILE`, else ./moat.yaml when present, else null. Config errors become CliErrors. */
export function loadOptionalConfig(file: string | undefined): MoatConfig | null {
  const path = file ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : null);
  if (!path) return null;
  try {
    return loadConfigFile(path);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`invalid configuration in ${path}:\n  ${e.problems.join('\n  ')}`, 2);
    throw e;
  }
}

export function parseIntArg(name: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}
