/**
 * SARIF 2.1.0 output, for code-scanning tools: one run, the rule catalogue as the tool's rules
 * (with CWE tags and a security-severity score), one result per finding with a location relative
 * to the scanned directory.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { RULES } from '../rules.js';
import { remedy } from '../remedies.js';
import type { ScanResult } from '../scan.js';
import type { Severity } from '../types.js';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { high: 'error', medium: 'warning', low: 'note' };
/** GitHub reads `security-severity` (0-10) to rank security results. */
const SCORE: Record<Severity, string> = { high: '8.0', medium: '5.5', low: '3.0' };

export function toSarif(r: ScanResult, version: string): Record<string, unknown> {
  const index = new Map(RULES.map((rule, i) => [rule.id, i]));
  const root = pathToFileURL(resolve(r.root)).href.replace(/\/?$/, '/');
  return {
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'moat-scan',
            version,
            rules: RULES.map((rule) => ({
              id: rule.id,
              name: rule.id.replace(/(^|-)(\w)/g, (_, _d: string, c: string) => c.toUpperCase()),
              shortDescription: { text: rule.title },
              fullDescription: { text: rule.why },
              help: { text: `${rule.why} Secure pattern (FastAPI): ${remedy(rule.id, 'fastapi')} Secure pattern (Express): ${remedy(rule.id, 'express')}` },
              defaultConfiguration: { level: LEVEL[rule.severity] },
              properties: { tags: ['security', ...rule.cwe.map((c) => `external/cwe/${c.toLowerCase()}`)], precision: 'medium', 'security-severity': SCORE[rule.severity] },
            })),
          },
        },
        originalUriBaseIds: { SRCROOT: { uri: root } },
        results: r.findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: index.get(f.rule),
          level: LEVEL[f.severity],
          message: { text: f.message },
          locations: [{ physicalLocation: { artifactLocation: { uri: encodeURI(f.file), uriBaseId: 'SRCROOT' }, region: { startLine: f.line } } }],
          partialFingerprints: { 'moatRoute/v1': `${f.rule}:${f.file}:${f.route}` },
        })),
      },
    ],
  };
}
