/**
 * Reads `moat.yaml`, interpolates `${ENV_VAR}` and validates it. Every failure is a
 * ConfigError whose message names the key and what was expected, so start-up can stop
 * with one readable line.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type ConfigInput, type MoatConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: string[] = [message],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces `${NAME}` and `${NAME:-default}` in every string of a parsed document. */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, path: string[] = [], problems: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_m, name: string, def: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (def !== undefined) return def;
      problems.push(`${fmtPath(path)}: environment variable ${name} is not set (export it, or use \${${name}:-default})`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, String(i)], problems));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, [...path, k], problems);
    return out;
  }
  return value;
}

function fmtPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(top level)' : path.map(String).join('.');
}

/** Turns zod issues into lines such as `models.demo.upstream.baseURL: expected an http:// URL`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const where = fmtPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      return `${where}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')} (check the spelling against moat.example.yaml, the configuration reference)`;
    }
    if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) {
      return `${where}: required ${issue.expected} is missing`;
    }
    return `${where}: ${issue.message.replace(/^Invalid input: /, '')}`;
  });
}

/** Validates an already-parsed config object (used by `moat serve` quick mode and tests). */
export function validateConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): MoatConfig {
  const problems: string[] = [];
  const interpolated = interpolateEnv(raw ?? {}, env, [], problems);
  if (problems.length) throw new ConfigError(problems.join('\n'), problems);
  const parsed = configSchema.safeParse(interpolated);
  if (!parsed.success) {
    const lines = describeIssues(parsed.error.issues);
    throw new ConfigError(lines.join('\n'), lines);
  }
  if (Object.keys(parsed.data.models).length === 0) {
    throw new ConfigError('models: at least one model is required (map a public name to an upstream)');
  }
  return parsed.data;
}

export function parseConfigText(text: string, env: NodeJS.ProcessEnv = process.env, source = 'moat.yaml'): MoatConfig {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) {
    throw new ConfigError(doc.errors.map((e) => `${source}: ${e.message}`).join('\n'));
  }
  return validateConfig(doc.toJS(), env);
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): MoatConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read the configuration file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseConfigText(text, env, file);
}

export type { ConfigInput, MoatConfig };
