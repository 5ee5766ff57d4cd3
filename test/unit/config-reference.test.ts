// moat.example.yaml is the configuration reference the README points to. It must stay valid,
// name every setting that has a default, and show each default as it really is.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { POLICY_DEFAULTS } from '../../src/policy/config.js';

const text = readFileSync(new URL('../../moat.example.yaml', import.meta.url), 'utf8');
const example = parse(text) as Record<string, unknown>;

/** Every leaf path of a plain object (arrays and records of user names count as leaves). */
function leaves(o: unknown, prefix: string[] = []): string[][] {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return [prefix];
  const entries = Object.entries(o as Record<string, unknown>);
  if (entries.length === 0) return [prefix];
  return entries.flatMap(([k, v]) => leaves(v, [...prefix, k]));
}

function at(o: unknown, path: readonly string[]): unknown {
  let cur = o;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || !(k in cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

describe('moat.example.yaml', () => {
  it('is a valid configuration', () => {
    const config = parseConfigText(text, {}, 'moat.example.yaml');
    expect(Object.keys(config.models)).toEqual(['llama-8b']);
    expect(config.roles.researcher?.[0]?.permissions).toContain('logprobs');
  });

  it('names every setting that has a default, with that default', () => {
    // The defaults: a config with one model and nothing else. Sections the example fills with
    // sample entries (models, roles, policy overrides) are compared by key only.
    const defaults = configSchema.parse({ models: {} }) as Record<string, unknown>;
    const sampleSections = new Set(['models', 'roles']);
    const missing: string[] = [];
    const different: string[] = [];
    for (const path of leaves(defaults)) {
      if (sampleSections.has(path[0]!) || (path[0] === 'policy' && path[1] === 'overrides')) continue;
      const shown = at(example, path);
      if (shown === undefined) missing.push(path.join('.'));
      else if (JSON.stringify(shown) !== JSON.stringify(at(defaults, path))) different.push(`${path.join('.')}: ${JSON.stringify(shown)} vs ${JSON.stringify(at(defaults, path))}`);
    }
    expect(missing).toEqual([]);
    expect(different).toEqual([]);
  });

  it('shows the built-in policy defaults', () => {
    const shown = at(example, ['policy']) as Record<string, unknown>;
    const { extraFields: _builtIn, ...rest } = POLICY_DEFAULTS;
    for (const path of leaves(rest)) expect(at(shown, path), `policy.${path.join('.')}`).toEqual(at(rest, path));
  });

  it('shows each default of a model upstream', () => {
    const model = configSchema.shape.models.valueType.parse({ upstream: { baseURL: 'http://127.0.0.1:8000/v1' } });
    const shown = at(example, ['models', 'llama-8b']) as Record<string, unknown>;
    for (const path of leaves(model)) {
      if (path.join('.') === 'upstream.baseURL') continue;
      expect(at(shown, path), path.join('.')).toEqual(at(model, path));
    }
  });
});
