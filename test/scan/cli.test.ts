/**
 * `moat scan` as CI runs it: the three output formats, SARIF checked against the SARIF 2.1.0
 * JSON schema (the rtm.5 schema shipped in @microsoft/jest-sarif), and the --fail-on exit status.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import AjvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { runMoat } from '../helpers/cli.js';

const CORPUS = fileURLToPath(new URL('../fixtures/scan/', import.meta.url));
const schemaPath = createRequire(import.meta.url).resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');

// Both packages are CommonJS with the export on `.default` under NodeNext typing.
const Ajv = AjvDraft04.default;
const addFormats = ajvFormats.default;

function sarifValidator() {
  // The rtm.5 schema's language pattern has a stray ']' that is legal only without the u flag.
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);
}

describe('moat scan CLI', () => {
  it('text: one block per finding with file:line, severity, rule, route and fix; exit 1 on high findings by default', () => {
    const r = runMoat(['scan', CORPUS + 'flask-vulnerable']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^app\.py:15 {2}HIGH {2}unfiltered-params {2}\(flask POST \/completion\)$/m);
    expect(r.stdout).toMatch(/Fix: read only the allowed fields/);
    expect(r.stdout).toMatch(/9 findings \(5 high, 2 medium, 2 low\) in 2 inference routes/);
  });

  it('json: {"findings": [{rule, severity, file, line, message}]}', () => {
    const r = runMoat(['scan', CORPUS + 'express-iplimit', '--format', 'json']);
    expect(r.status).toBe(0); // medium findings only, below the default --fail-on high
    const out = JSON.parse(r.stdout) as { findings: Array<Record<string, unknown>> };
    expect(out.findings).toHaveLength(2);
    for (const f of out.findings) {
      expect(f).toMatchObject({ rule: 'ip-keyed-rate-limit', severity: 'medium', file: 'server.ts' });
      expect(typeof f.line).toBe('number');
      expect(f.message).toMatch(/CWE-770/);
    }
  });

  it('--fail-on sets the threshold of the exit status', () => {
    expect(runMoat(['scan', CORPUS + 'express-iplimit', '--fail-on', 'medium']).status).toBe(1);
    expect(runMoat(['scan', CORPUS + 'express-vulnerable', '--fail-on', 'none']).status).toBe(0);
    expect(runMoat(['scan', CORPUS + 'fastapi-fixed', '--fail-on', 'low']).status).toBe(0);
    const bad = runMoat(['scan', CORPUS, '--fail-on', 'critical']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/expected one of high, medium, low, none/);
  });

  it('sarif: valid SARIF 2.1.0 with rules, CWE tags and relative locations', () => {
    const r = runMoat(['scan', CORPUS, '--format', 'sarif', '--fail-on', 'none']);
    expect(r.status).toBe(0);
    const log = JSON.parse(r.stdout) as { version: string; runs: Array<{ tool: { driver: { rules: Array<{ id: string; properties: { tags: string[] } }> } }; results: Array<{ ruleId: string; locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }> }> }> };
    const validate = sarifValidator();
    expect(validate(log), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    const run = log.runs[0]!;
    expect(run.tool.driver.rules.map((x) => x.id)).toHaveLength(7);
    expect(run.tool.driver.rules.find((x) => x.id === 'missing-rate-limit')!.properties.tags).toContain('external/cwe/cwe-770');
    expect(run.results.length).toBeGreaterThan(50);
    const loc = run.results.find((x) => x.ruleId === 'unfiltered-params')!.locations[0]!.physicalLocation;
    expect(loc.artifactLocation.uri).toMatch(/^[\w-]+\/[\w./-]+$/);
    expect(loc.region.startLine).toBeGreaterThan(0);
  });

  it('the validator rejects a broken SARIF log (so the check above can fail)', () => {
    const validate = sarifValidator();
    expect(validate({ version: '2.1.0', runs: [{ tool: { driver: {} }, results: [{ level: 'fatal', message: {} }] }] })).toBe(false);
  });

  it('a missing directory is a clear error', () => {
    const r = runMoat(['scan', CORPUS + 'does-not-exist']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no such file or directory/);
  });
});
