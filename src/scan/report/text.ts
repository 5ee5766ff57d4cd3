/** Human-readable report of a scan: one block per finding, then a summary line. */
import type { ScanResult } from '../scan.js';
import { SEVERITIES } from '../types.js';

function wrap(text: string, width: number, indent: string): string {
  const out: string[] = [];
  let line = '';
  for (const w of text.split(/\s+/)) {
    if (line && line.length + 1 + w.length > width) {
      out.push(indent + line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(indent + line);
  return out.join('\n');
}

export function formatText(r: ScanResult): string {
  const lines: string[] = [];
  for (const f of r.findings) {
    lines.push(`${f.file}:${f.line}  ${f.severity.toUpperCase()}  ${f.rule}  (${f.framework} ${f.route})`);
    lines.push(wrap(f.message, 96, '    '));
    lines.push('');
  }
  for (const s of r.skipped) lines.push(`skipped ${s.file}: ${s.reason}`);
  const inference = r.routes.filter((x) => x.inference.length > 0).length;
  const counts = SEVERITIES.map((s) => `${r.findings.filter((f) => f.severity === s).length} ${s}`).join(', ');
  lines.push(`${r.findings.length} finding${r.findings.length === 1 ? '' : 's'} (${counts}) in ${inference} inference route${inference === 1 ? '' : 's'} of ${r.routes.length} route${r.routes.length === 1 ? '' : 's'}, ${r.filesScanned} files scanned${r.suppressed > 0 ? `, ${r.suppressed} suppressed by moat-scan-ignore` : ''}.`);
  return lines.join('\n') + '\n';
}

/** The JSON report: `{"findings": [{"rule", "severity", "file", "line", "message"}]}` plus the route of each. */
export function formatJson(r: ScanResult): string {
  return JSON.stringify({ findings: r.findings.map((f) => ({ rule: f.rule, severity: f.severity, file: f.file, line: f.line, message: f.message, route: f.route, framework: f.framework })) }, null, 2) + '\n';
}
