/**
 * The app graph of a scanned project: scopes (an app, a router, a blueprint, a Fastify plugin)
 * with the guards they apply, mounts of one scope into another (possibly across files), and the
 * routes registered on each scope. The front-ends describe each file; `linkRoutes` resolves
 * imports and mounts and gives each route every guard that applies to it. Pure logic.
 */
import { dirname, join, normalize } from 'node:path/posix';
import { emptyFacts, mergeFacts, type Framework, type Guard, type HandlerFacts, type Language, type RouteFacts } from './types.js';

/** A guard registered on a scope: position in the file (for frameworks where order matters) and path prefix. */
export interface ScopeGuard {
  pos: number;
  prefix: string;
  guard: Guard;
}

export interface ScopeDecl {
  name: string;
  /** Express and Hono apply `use()` middleware only to routes registered after it. */
  ordered: boolean;
  guards: ScopeGuard[];
}

/** A name used in a mount: `router`, `chat.router`, `routes.default` ... */
export interface NameRef {
  root: string;
  members: string[];
}

export interface MountDecl {
  parent: string;
  child: NameRef;
  pos: number;
  prefix: string;
  /** Guards given at the mount itself (`app.use('/v1', auth, router)`, `include_router(..., dependencies=...)`). */
  guards: Guard[];
}

export interface RouteDecl {
  /** The scope the route is registered on; null for file-based routes (Next.js). */
  scope: string | null;
  pos: number;
  line: number;
  method: string;
  /** Path relative to the scope. */
  path: string;
  framework: Framework;
  /** Facts from the handler and the guards given on the route itself. */
  facts: HandlerFacts;
  /** A handler imported from another file, resolved when linking. */
  handlerRef?: NameRef;
  /** Kinds of inherited guard the route opts out of (Flask-Limiter / slowapi `@limiter.exempt`). */
  exempt?: Array<Guard['kind']>;
}

/** `import x from './a'` -> { source: './a', name: 'default' }; `import * as m` / `import m` (Python) -> name null. */
export interface ImportBinding {
  source: string;
  name: string | null;
}

/** Next.js middleware.ts: its guards and the paths it covers (null: every path). */
export interface EdgeMiddleware {
  guards: Guard[];
  matchers: string[] | null;
}

export interface FileModel {
  file: string;
  language: Language;
  scopes: Map<string, ScopeDecl>;
  mounts: MountDecl[];
  routes: RouteDecl[];
  imports: Map<string, ImportBinding>;
  /** Export name -> local scope name (Python: every module-level scope is exported under its name). */
  exports: Map<string, string>;
  /** Facts of exported functions that may serve as handlers elsewhere, by export key (`create`, `default.create`). */
  handlers: Map<string, HandlerFacts>;
  edgeMiddleware?: EdgeMiddleware;
}

export function newFileModel(file: string, language: Language): FileModel {
  return { file, language, scopes: new Map(), mounts: [], routes: [], imports: new Map(), exports: new Map(), handlers: new Map() };
}

/** Joins two route paths: ('/v1', '/chat') -> '/v1/chat'. */
export function joinPath(prefix: string, path: string): string {
  const p = `${prefix.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  return p.length > 1 ? p.replace(/\/+$/, '') : '/';
}

const segs = (p: string) => p.split('/').filter(Boolean);
const isParam = (s: string) => s.startsWith(':') || s.startsWith('{') || s.startsWith('<') || s.startsWith('[') || s === '*';

/** True when middleware mounted at `prefix` (Express '/v1', Hono '/v1/*', '*') runs for `path`. */
export function prefixMatches(prefix: string, path: string): boolean {
  const pre = segs(prefix.replace(/\/?\*$/, ''));
  const got = segs(path);
  if (pre.length > got.length) return false;
  return pre.every((s, i) => s === got[i] || isParam(s) || isParam(got[i]!));
}

/** True when a Next.js `config.matcher` entry covers `path`. Unreadable matchers are assumed to cover it. */
export function nextMatcherMatches(matcher: string, path: string): boolean {
  const src = matcher
    .replace(/:(\w+)\*/g, '(?:.*)')
    .replace(/:(\w+)\+/g, '(?:.+)')
    .replace(/:(\w+)\?/g, '(?:[^/]*)')
    .replace(/:(\w+)/g, '(?:[^/]+)');
  try {
    return new RegExp(`^${src}$`).test(path) || new RegExp(`^${src}$`).test(`${path}/`);
  } catch {
    return true;
  }
}

type Models = ReadonlyMap<string, FileModel>;

function resolveModule(from: FileModel, source: string, models: Models): FileModel | null {
  const candidates: string[] = [];
  if (from.language === 'typescript') {
    if (!source.startsWith('.')) return null;
    const base = normalize(join(dirname(from.file), source));
    const stem = base.replace(/\.(m|c)?js$/, '');
    for (const b of [base, stem]) for (const ext of ['', '.ts', '.tsx', '.js', '.mjs', '.cjs', '.jsx', '/index.ts', '/index.js']) candidates.push(b + ext);
  } else {
    const dots = /^\.*/.exec(source)![0].length;
    const rel = source.slice(dots).split('.').filter(Boolean).join('/');
    const roots: string[] = [];
    if (dots > 0) {
      let d = dirname(from.file);
      for (let i = 1; i < dots; i++) d = dirname(d);
      roots.push(d);
    } else {
      // An absolute module path: try every ancestor of the importing file as the package root.
      for (let d = dirname(from.file); ; d = dirname(d)) {
        roots.push(d);
        if (d === '.' || d === '/' || d === dirname(d)) break;
      }
    }
    for (const r of roots) for (const ext of ['.py', '/__init__.py']) candidates.push(normalize(join(r, rel) + ext));
  }
  for (const c of candidates) {
    const m = models.get(c);
    if (m) return m;
  }
  return null;
}

interface ScopeId {
  file: string;
  name: string;
}

/** The files and export keys an imported name may denote: `chat.router` -> (chat module, 'router') ... */
function importTargets(from: FileModel, ref: NameRef, models: Models): Array<{ m: FileModel; key: string }> {
  const b = from.imports.get(ref.root);
  if (!b) return [];
  const out: Array<{ m: FileModel; key: string }> = [];
  const add = (source: string, parts: string[]) => {
    const m = resolveModule(from, source, models);
    if (m && parts.length > 0) out.push({ m, key: parts.join('.') });
  };
  if (b.name === null) add(b.source, ref.members);
  else {
    add(b.source, [b.name, ...ref.members]);
    if (from.language === 'python') add(`${b.source}${b.source.endsWith('.') ? '' : '.'}${b.name}`, ref.members);
  }
  return out;
}

/** Resolves a mounted name to the scope it denotes, following one import when needed. */
export function resolveRef(from: FileModel, ref: NameRef, models: Models): ScopeId | null {
  if (ref.members.length === 0 && from.scopes.has(ref.root)) return { file: from.file, name: ref.root };
  for (const { m, key } of importTargets(from, ref, models)) {
    const local = m.exports.get(key) ?? (m.language === 'python' && m.scopes.has(key) ? key : undefined);
    if (local && m.scopes.has(local)) return { file: m.file, name: local };
  }
  return null;
}

/** The facts of a handler imported from another file (`router.post('/chat', chatController.create)`), each site marked with that file. */
export function resolveHandler(from: FileModel, ref: NameRef, models: Models): HandlerFacts | null {
  for (const { m, key } of importTargets(from, ref, models)) {
    const f = m.handlers.get(key);
    if (!f) continue;
    const at = <T extends { file?: string }>(xs: T[]) => xs.map((x) => ({ ...x, file: x.file ?? m.file }));
    return { inference: at(f.inference), guards: at(f.guards), logprobs: at(f.logprobs), unfiltered: at(f.unfiltered), passthrough: at(f.passthrough), embeddingsReturned: at(f.embeddingsReturned) };
  }
  return null;
}

interface ResolvedMount {
  parent: ScopeId;
  mount: MountDecl;
}

const key = (s: ScopeId) => `${s.file}#${s.name}`;

/** Every route of the project with all the guards that apply to it (its own, its scope's, its mounts'). */
export function linkRoutes(models: Models): RouteFacts[] {
  const mountsOf = new Map<string, ResolvedMount[]>();
  for (const m of models.values()) {
    for (const mount of m.mounts) {
      const child = resolveRef(m, mount.child, models);
      if (!child) continue;
      const list = mountsOf.get(key(child)) ?? [];
      list.push({ parent: { file: m.file, name: mount.parent }, mount });
      mountsOf.set(key(child), list);
    }
  }

  /** Guards of `scope` that apply at `pos` to `path`, plus those of every mount above it; returns the outermost full path too. */
  const inherited = (scope: ScopeId, path: string, pos: number, seen: Set<string>): { guards: Guard[]; fullPath: string } => {
    const k = key(scope);
    const decl = models.get(scope.file)?.scopes.get(scope.name);
    if (!decl || seen.has(k)) return { guards: [], fullPath: path };
    seen.add(k);
    const guards = decl.guards.filter((g) => (!decl.ordered || g.pos < pos) && prefixMatches(g.prefix, path)).map((g) => g.guard);
    let fullPath = path;
    for (const { parent, mount } of mountsOf.get(k) ?? []) {
      const up = inherited(parent, joinPath(mount.prefix, path), mount.pos, new Set(seen));
      if (fullPath === path) fullPath = up.fullPath;
      guards.push(...mount.guards, ...up.guards);
    }
    return { guards, fullPath };
  };

  const edges = [...models.values()].filter((m) => m.edgeMiddleware);
  const out: RouteFacts[] = [];
  for (const m of models.values()) {
    for (const r of m.routes) {
      const imported = r.handlerRef ? resolveHandler(m, r.handlerRef, models) : null;
      const facts: HandlerFacts = imported ? mergeFacts(mergeFacts(emptyFacts(), r.facts), imported) : { ...r.facts, guards: [...r.facts.guards] };
      let path = r.path;
      if (r.scope) {
        const up = inherited({ file: m.file, name: r.scope }, r.path, r.pos, new Set());
        facts.guards.push(...up.guards.filter((g) => !r.exempt?.includes(g.kind)));
        path = up.fullPath;
      } else {
        for (const e of edges) {
          const root = dirname(e.file);
          if (root !== '.' && !m.file.startsWith(`${root}/`)) continue;
          const mw = e.edgeMiddleware!;
          if (mw.matchers === null || mw.matchers.some((x) => nextMatcherMatches(x, path))) facts.guards.push(...mw.guards);
        }
      }
      out.push({ ...facts, file: m.file, line: r.line, framework: r.framework, method: r.method, path });
    }
  }
  return out;
}
