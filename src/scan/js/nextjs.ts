/**
 * Next.js: route handlers (`app/.../route.ts` exporting GET/POST ..., and `pages/api/*`) are
 * routes whose path comes from the file's place; `middleware.ts` (or `proxy.ts`) guards the
 * paths its `config.matcher` covers.
 */
import type { FileModel } from '../graph.js';
import { emptyFacts, type Guard } from '../types.js';
import { chainOf, child, children, isFunction, propOf, stringOf, unwrap, type Node, type ParsedJs } from './ast.js';
import { analyzeFunction, type JsFileCtx } from './flow.js';
import { guardsOf } from './guards.js';

const HTTP = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
const APP_ROUTE = /(?:^|\/)app\/((?:.*\/)?)route\.(?:ts|tsx|js|jsx|mjs)$/;
const PAGES_API = /(?:^|\/)pages\/(api\/.*)\.(?:ts|tsx|js|jsx|mjs)$/;
const MIDDLEWARE = /(?:^|\/)(?:middleware|proxy)\.(?:ts|js|mjs)$/;

/** The URL path of a route file: app/api/chat/route.ts -> /api/chat; route groups `(x)` vanish. */
export function nextRoutePath(file: string): string | null {
  const app = APP_ROUTE.exec(file);
  const dir = app ? app[1]! : PAGES_API.exec(file)?.[1]?.replace(/(^|\/)index$/, '');
  if (dir === undefined) return null;
  const segs = dir.split('/').filter((s) => s && !/^\(.*\)$/.test(s) && !s.startsWith('@'));
  return `/${segs.join('/')}`;
}

/** Exported handlers: `export async function POST`, `export const POST = ...`, `export default` (pages). */
function exportedHandlers(program: Node, ctx: JsFileCtx, pages: boolean): Array<{ method: string; init: Node; line: number }> {
  const out: Array<{ method: string; init: Node; line: number }> = [];
  for (const st of children(program, 'body')) {
    if (st.type === 'ExportDefaultDeclaration' && pages) {
      let d = unwrap(child(st, 'declaration'));
      if (d?.type === 'Identifier') d = ctx.functions.get(d.name as string) ?? ctx.consts.get(d.name as string) ?? d;
      if (d) out.push({ method: 'ALL', init: d, line: ctx.lineOf(st.start) });
    }
    if (st.type !== 'ExportNamedDeclaration') continue;
    const d = child(st, 'declaration');
    if (d?.type === 'FunctionDeclaration' && HTTP.has(chainOf(child(d, 'id')))) out.push({ method: chainOf(child(d, 'id')), init: d, line: ctx.lineOf(d.start) });
    if (d?.type === 'VariableDeclaration') {
      for (const v of children(d, 'declarations')) {
        const name = chainOf(child(v, 'id'));
        if (HTTP.has(name) && child(v, 'init')) out.push({ method: name, init: child(v, 'init')!, line: ctx.lineOf(v.start) });
      }
    }
    for (const sp of children(st, 'specifiers')) {
      const name = chainOf(child(sp, 'exported'));
      const local = chainOf(child(sp, 'local'));
      const init = ctx.functions.get(local) ?? ctx.consts.get(local);
      if (HTTP.has(name) && init) out.push({ method: name, init, line: ctx.lineOf(sp.start) });
    }
  }
  return out;
}

/** A handler, unwrapping wrappers such as `auth(async (req) => ...)`, `withAuth(handler)`, `withRateLimit(handler)`. */
function unwrapHandler(init: Node, ctx: JsFileCtx): { fn: Node | null; guards: Guard[] } {
  const guards: Guard[] = [];
  let n: Node | null = unwrap(init);
  while (n?.type === 'CallExpression') {
    const args = children(n, 'arguments');
    const inner = args.find((a) => isFunction(unwrap(a)) || unwrap(a)?.type === 'Identifier' || unwrap(a)?.type === 'CallExpression');
    const wrapperOnly: Node = { ...n, arguments: [] };
    guards.push(...guardsOf(wrapperOnly, ctx));
    n = unwrap(inner ?? null);
    if (n?.type === 'Identifier') n = ctx.functions.get(n.name as string) ?? ctx.consts.get(n.name as string) ?? null;
  }
  return { fn: isFunction(n) ? n : null, guards };
}

/** Adds the routes or the middleware of a Next.js file to `model`; false when the file is neither. */
export function nextjsFile(file: string, parsed: ParsedJs, ctx: JsFileCtx, model: FileModel): boolean {
  const path = nextRoutePath(file);
  if (path !== null) {
    for (const h of exportedHandlers(parsed.program, ctx, PAGES_API.test(file))) {
      const { fn, guards } = unwrapHandler(h.init, ctx);
      const facts = emptyFacts();
      if (fn) {
        const p = children(fn, 'params')[0];
        Object.assign(facts, analyzeFunction(fn, ctx, { request: new Set([p?.type === 'Identifier' ? (p.name as string) : 'req']), body: new Set() }));
      }
      facts.guards.push(...guards);
      model.routes.push({ scope: null, pos: h.init.start, line: h.line, method: h.method, path, framework: 'nextjs', facts });
    }
    return true;
  }
  if (!MIDDLEWARE.test(file) || /(?:^|\/)(app|pages|node_modules)\//.test(file)) return false;
  // A file called proxy.ts or middleware.ts is Next.js middleware only in a Next.js project.
  const sources = [...ctx.imports.values()].map((b) => b.source);
  if (!sources.some((x) => /^(next|next-auth|@auth\/|@clerk\/nextjs|@supabase\/ssr)/.test(x)) || sources.some((x) => /^(express|fastify|hono)$/.test(x))) return false;
  const guards: Guard[] = [];
  let matchers: string[] | null = null;
  for (const st of children(parsed.program, 'body')) {
    if (st.type === 'ExportDefaultDeclaration') {
      const { fn, guards: g } = unwrapHandler(child(st, 'declaration')!, ctx);
      guards.push(...g, ...(fn ? analyzeFunction(fn, ctx, { request: new Set(['req', 'request']), body: new Set() }).guards : []));
    }
    if (st.type !== 'ExportNamedDeclaration') continue;
    const d = child(st, 'declaration');
    for (const sp of children(st, 'specifiers')) {
      // export { auth as middleware } from './auth'
      if (['middleware', 'proxy', 'default'].includes(chainOf(child(sp, 'exported')))) guards.push(...guardsOf(child(sp, 'local'), ctx));
    }
    const decls = d?.type === 'VariableDeclaration' ? children(d, 'declarations').map((v) => ({ name: chainOf(child(v, 'id')), init: child(v, 'init') })) : d?.type === 'FunctionDeclaration' ? [{ name: chainOf(child(d, 'id')), init: d as Node | null }] : [];
    for (const { name, init } of decls) {
      if (!init) continue;
      if (name === 'config') {
        const m = unwrap(propOf(init, 'matcher'));
        if (m?.type === 'ArrayExpression') matchers = children(m, 'elements').map((e) => stringOf(e) ?? stringOf(propOf(e, 'source'))).filter((x): x is string => x !== null);
        else if (stringOf(m) !== null) matchers = [stringOf(m)!];
      } else if (name === 'middleware' || name === 'proxy') {
        const { fn, guards: g } = unwrapHandler(init, ctx);
        guards.push(...g, ...(fn ? analyzeFunction(fn, ctx, { request: new Set(['req', 'request']), body: new Set() }).guards : []));
      }
    }
  }
  model.edgeMiddleware = { guards, matchers };
  return true;
}
