/**
 * `moat scan`: reads a directory's JavaScript/TypeScript and Python files, builds the app graph
 * of each, links routers and mounts across files, and applies the rules to every route that
 * runs a model. The only I/O of the scanner is here (reading files).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { linkRoutes, type FileModel } from './graph.js';
import { parseJs } from './js/ast.js';
import { jsFileModel } from './js/frameworks.js';
import { pyFileModel } from './python/frameworks.js';
import { evaluateRoute } from './rules.js';
import { unsuppressed } from './suppress.js';
import type { Finding, RouteFacts } from './types.js';

const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'build', '.next', 'out', 'coverage', '.venv', 'venv', 'env', '__pycache__', 'site-packages', '.tox', '.mypy_cache', '.turbo', '.vercel']);
const JS_FILE = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;
/** Larger files are generated or vendored code, not route handlers. */
const MAX_FILE_BYTES = 1_000_000;

export interface ScanResult {
  root: string;
  findings: Finding[];
  /** Every route found, with or without a model call (for `--verbose` and tests). */
  routes: RouteFacts[];
  filesScanned: number;
  /** Files that could not be read or parsed, with the reason. */
  skipped: Array<{ file: string; reason: string }>;
  /** Findings silenced by a `moat-scan-ignore` comment. */
  suppressed: number;
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) await visit(join(dir, e.name));
      } else if (e.isFile() && ((JS_FILE.test(e.name) && !e.name.endsWith('.d.ts')) || e.name.endsWith('.py'))) out.push(join(dir, e.name));
    }
  };
  await visit(root);
  return out.sort();
}

/** Builds the model of one file from its text; `file` is the path relative to the scan root, with '/' separators. */
export async function modelOfFile(file: string, text: string): Promise<FileModel> {
  if (file.endsWith('.py')) return pyFileModel(file, text);
  const parsed = parseJs(file, text);
  if (parsed.errors.length > 0 && (parsed.program.body as unknown[]).length === 0) throw new Error(parsed.errors[0]);
  return jsFileModel(file, parsed, text);
}

/** Applies the rules to linked routes; findings sorted by file, line and rule. */
export function findingsOf(routes: readonly RouteFacts[]): Finding[] {
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const f of routes.flatMap(evaluateRoute)) {
    const k = `${f.file}:${f.line}:${f.rule}:${f.route}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(f);
  }
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule));
}

/** Scans a directory (or a single file). */
export async function scanDirectory(root: string): Promise<ScanResult> {
  const info = await stat(root);
  const base = info.isDirectory() ? root : join(root, '..');
  const files = info.isDirectory() ? await listFiles(root) : [root];
  const models = new Map<string, FileModel>();
  const texts = new Map<string, string>();
  const skipped: ScanResult['skipped'] = [];
  for (const abs of files) {
    const file = relative(base, abs).split(sep).join('/');
    try {
      const st = await stat(abs);
      if (st.size > MAX_FILE_BYTES) {
        skipped.push({ file, reason: `larger than ${MAX_FILE_BYTES} bytes` });
        continue;
      }
      const text = await readFile(abs, 'utf8');
      texts.set(file, text);
      models.set(file, await modelOfFile(file, text));
    } catch (e) {
      skipped.push({ file, reason: (e as Error).message.split('\n')[0]!.slice(0, 200) });
    }
  }
  const routes = linkRoutes(models);
  const { kept, suppressed } = unsuppressed(findingsOf(routes), (f) => texts.get(f) ?? null);
  return { root, findings: kept, routes, filesScanned: models.size, skipped, suppressed };
}
