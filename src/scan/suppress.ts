/**
 * Inline suppressions, for what the scanner cannot see (a limit enforced by a gateway in front of
 * the app, an audit log written by a proxy): a comment `moat-scan-ignore` on the finding's line
 * or the line above silences it; `moat-scan-ignore: missing-rate-limit, missing-audit-log`
 * silences only those rules. Pure logic.
 */
import type { Finding } from './types.js';

const MARK = /moat-scan-ignore(?::?\s*([a-z-]+(?:\s*,\s*[a-z-]+)*))?/;

/** True when line `line` (1-based) or the one above carries a suppression that covers `rule`. */
export function isSuppressed(lines: readonly string[], line: number, rule: string): boolean {
  for (const l of [lines[line - 1], lines[line - 2]]) {
    const m = l === undefined ? null : MARK.exec(l);
    if (!m) continue;
    if (!m[1]) return true;
    if (m[1].split(/\s*,\s*/).includes(rule)) return true;
  }
  return false;
}

/** The findings not silenced by a comment in their file; `textOf` gives a file's text (or null). */
export function unsuppressed(findings: readonly Finding[], textOf: (file: string) => string | null): { kept: Finding[]; suppressed: number } {
  const split = new Map<string, string[]>();
  const kept: Finding[] = [];
  for (const f of findings) {
    let lines = split.get(f.file);
    if (!lines) split.set(f.file, (lines = (textOf(f.file) ?? '').split('\n')));
    if (!isSuppressed(lines, f.line, f.rule)) kept.push(f);
  }
  return { kept, suppressed: findings.length - kept.length };
}
