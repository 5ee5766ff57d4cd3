/** Text and JSON reports of a probe run. */
import type { ProbeReport } from './run.js';

export function formatProbeText(r: ProbeReport): string {
  const width = Math.max(...r.checks.map((c) => c.id.length));
  const lines = [`moat probe ${r.target} (model ${r.model ?? 'unknown'}, ${r.requests} requests)`, ''];
  for (const c of r.checks) {
    lines.push(`${c.status.toUpperCase().padEnd(4)}  ${c.id.padEnd(width)}  ${c.evidence}`);
    if (c.status === 'fail') lines.push(`${' '.repeat(width + 8)}fix: ${c.fix}`);
  }
  const n = (s: string) => r.checks.filter((c) => c.status === s).length;
  lines.push('', `${n('pass')} passed, ${n('fail')} failed, ${n('skip')} skipped`);
  return lines.join('\n') + '\n';
}

/** `{"checks": [{"id", "status", "evidence", "fix"}], ...}` */
export function formatProbeJson(r: ProbeReport): string {
  return JSON.stringify({ target: r.target, model: r.model, requests: r.requests, checks: r.checks }, null, 2) + '\n';
}
