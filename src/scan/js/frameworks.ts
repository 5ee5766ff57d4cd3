/**
 * The JavaScript/TypeScript front-end: turns one parsed file into a FileModel (apps, routers,
 * plugins, their middleware, mounts, routes and exports) for Express, Fastify and Hono; Next.js
 * route handlers and middleware live in nextjs.ts.
 */
import { modelFactoryKind } from '../names.js';
import { newFileModel, type FileModel, type NameRef, type ScopeDecl } from '../graph.js';
import { emptyFacts, type Framework, type Guard } from '../types.js';
import { chainOf, child, children, isFunction, propOf, snippet, stringOf, unwrap, walk, type Node, type ParsedJs } from './ast.js';
import { analyzeFunction, callKind, type JsFileCtx } from './flow.js';
import { fastifyPluginGuards, fastifyRouteOptionGuards, guardsOf } from './guards.js';
import { collectExports, collectHandlers } from './exports.js';
import { nextjsFile } from './nextjs.js';

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'all', 'options', 'head']);
const APP_NAME = /^(app|router|server|api|fastify|instance|routes|v1|\w*Router|\w*App|\w*Routes)$/;

/** Module-level functions, constants, models and imports of a program. */
export function fileContext(parsed: ParsedJs, text: string): JsFileCtx {
  const ctx: JsFileCtx = { text, lineOf: parsed.lineOf, functions: new Map(), consts: new Map(), models: new Map(), imports: new Map() };
  for (let st of children(parsed.program, 'body')) {
    if (st.type === 'ExportNamedDeclaration' || st.type === 'ExportDefaultDeclaration') st = child(st, 'declaration') ?? st;
    if (st.type === 'ImportDeclaration') {
      const source = stringOf(child(st, 'source')) ?? '';
      for (const s of children(st, 'specifiers')) {
        const local = child(s, 'local')!.name as string;
        const name = s.type === 'ImportDefaultSpecifier' ? 'default' : s.type === 'ImportNamespaceSpecifier' ? null : (chainOf(child(s, 'imported')) ?? local);
        ctx.imports.set(local, { source, name });
      }
    }
    if (st.type === 'FunctionDeclaration' && child(st, 'id')) ctx.functions.set(child(st, 'id')!.name as string, st);
    if (st.type !== 'VariableDeclaration') continue;
    for (const d of children(st, 'declarations')) {
      const id = child(d, 'id');
      const init = unwrap(child(d, 'init'));
      if (!init) continue;
      if (init.type === 'CallExpression' && chainOf(child(init, 'callee')) === 'require') {
        const source = stringOf(children(init, 'arguments')[0] ?? null) ?? '';
        if (id?.type === 'Identifier') ctx.imports.set(id.name as string, { source, name: 'default' });
        else if (id?.type === 'ObjectPattern') for (const p of children(id, 'properties')) if (p.type === 'Property') ctx.imports.set(chainOf(child(p, 'value')), { source, name: chainOf(child(p, 'key')) });
        continue;
      }
      if (id?.type !== 'Identifier') continue;
      const name = id.name as string;
      if (isFunction(init)) ctx.functions.set(name, init);
      ctx.consts.set(name, init);
      if (init.type === 'CallExpression' || init.type === 'NewExpression') {
        const kind = modelFactoryKind(chainOf(child(init, 'callee')), stringOf(children(init, 'arguments')[0] ?? null));
        if (kind) ctx.models.set(name, kind);
      }
    }
  }
  return ctx;
}

function frameworkOf(ctx: JsFileCtx): Framework | null {
  const sources = [...ctx.imports.values()].map((b) => b.source);
  if (sources.some((s) => s === 'fastify' || s.startsWith('@fastify/') || s === 'fastify-plugin')) return 'fastify';
  if (sources.some((s) => s === 'hono' || s.startsWith('hono/') || s.startsWith('@hono/'))) return 'hono';
  if (sources.some((s) => s === 'express')) return 'express';
  return null;
}

/** What kind of scope an initializer creates: express(), express.Router(), Fastify(), new Hono(). */
function scopeKind(init: Node | null, ctx: JsFileCtx): 'ordered' | 'unordered' | null {
  const n = unwrap(init);
  if (!n || (n.type !== 'CallExpression' && n.type !== 'NewExpression')) return null;
  let chain = chainOf(child(n, 'callee'));
  if (chain.endsWith('.basePath')) chain = chainOf(child(unwrap(child(n, 'callee'))!, 'object'));
  const src = ctx.imports.get(chain.split('.')[0]!)?.source;
  if (src === 'express' && /^(\w+|\w+\.Router|Router)$/.test(chain)) return 'ordered';
  if (src === 'hono' && chain === 'Hono') return 'ordered';
  if (src === 'fastify') return 'unordered';
  return null;
}

/** Builds the FileModel of a JavaScript/TypeScript file. */
export function jsFileModel(file: string, parsed: ParsedJs, text: string): FileModel {
  const ctx = fileContext(parsed, text);
  const model = newFileModel(file, 'typescript');
  model.imports = ctx.imports;
  if (nextjsFile(file, parsed, ctx, model)) return model;
  collectHandlers(parsed, ctx, model);
  const framework = frameworkOf(ctx);
  if (!framework) return model;

  const scope = (name: string, ordered: boolean): ScopeDecl => {
    let s = model.scopes.get(name);
    if (!s) model.scopes.set(name, (s = { name, ordered, guards: [] }));
    return s;
  };
  walk(parsed.program, (n) => {
    if (n.type === 'VariableDeclarator' && child(n, 'id')?.type === 'Identifier') {
      const kind = scopeKind(child(n, 'init'), ctx);
      if (kind) scope(child(n, 'id')!.name as string, kind === 'ordered');
    }
  });
  // Fastify plugins: functions whose first parameter registers routes or hooks.
  const pluginName = new Map<Node, string>();
  if (framework === 'fastify') {
    for (const [name, fn] of ctx.functions) pluginName.set(fn, name);
    walk(parsed.program, (n) => {
      if (n.type === 'ExportDefaultDeclaration' && isFunction(child(n, 'declaration'))) pluginName.set(child(n, 'declaration')!, 'default');
      if (isFunction(n) && !pluginName.has(n)) pluginName.set(n, `plugin@${n.start}`);
    });
  }
  const receiverScope = new Map<string, string>();
  for (const [fn, name] of pluginName) {
    const p = children(fn, 'params')[0];
    if (p?.type === 'Identifier') receiverScope.set(`${fn.start}:${p.name as string}`, name);
  }
  /** The scope a receiver name denotes at a node: a declared app/router, a plugin parameter, or an app-like name. */
  const scopeAt = (recv: string, parents: readonly Node[]): string | null => {
    for (let i = parents.length - 1; i >= 0; i--) {
      const s = receiverScope.get(`${parents[i]!.start}:${recv}`);
      if (s && isFunction(parents[i]!)) return scope(s, false).name;
    }
    if (model.scopes.has(recv)) return recv;
    return APP_NAME.test(recv) ? scope(recv, framework !== 'fastify').name : null;
  };
  const ordered = framework !== 'fastify';
  const handlerFacts = (h: Node | null, extraGuards: Guard[]) => {
    let fn = unwrap(h);
    if (fn?.type === 'Identifier') fn = ctx.functions.get(fn.name as string) ?? null;
    const facts = emptyFacts();
    if (fn && isFunction(fn)) {
      const p = children(fn, 'params')[0];
      const req = p?.type === 'Identifier' ? (p.name as string) : 'req';
      Object.assign(facts, analyzeFunction(fn, ctx, { request: new Set([req]), body: new Set() }));
    }
    facts.guards.push(...extraGuards);
    return facts;
  };
  /** A handler imported from another file: `chat.create`, `createChat`. */
  const importedHandler = (h: Node | null): NameRef | null => {
    const u = unwrap(h);
    if (u?.type !== 'Identifier' && u?.type !== 'MemberExpression') return null;
    const [root, ...members] = chainOf(u).split('.');
    return root && ctx.imports.has(root) && !ctx.functions.has(root) && !members.includes('?') ? { root, members } : null;
  };
  const refOf = (n: Node | null): NameRef | null => {
    const c = chainOf(n);
    if (c.includes('?')) return null;
    const [root, ...members] = c.split('.');
    return model.scopes.has(root!) || ctx.imports.has(root!) ? { root: root!, members } : null;
  };

  walk(parsed.program, (n, parents) => {
    if (n.type !== 'CallExpression') return;
    const callee = unwrap(child(n, 'callee'));
    if (callee?.type !== 'MemberExpression') return;
    const method = chainOf(callee).split('.').pop()!;
    const args = children(n, 'arguments');
    let recvNode = unwrap(child(callee, 'object'));
    let routePath: string | null = null;
    if (recvNode?.type === 'CallExpression' && chainOf(recvNode).endsWith('.route')) {
      routePath = stringOf(children(recvNode, 'arguments')[0] ?? null); // router.route('/x').post(...)
      recvNode = unwrap(child(unwrap(child(recvNode, 'callee'))!, 'object'));
    }
    const recv = chainOf(recvNode);
    if (recv.includes('?')) return;
    const s = scopeAt(recv, parents);
    if (!s) return;
    const pos = n.start;
    const line = parsed.lineOf(n.start);

    if (method === 'use') {
      const prefix = stringOf(args[0] ?? null);
      const rest = prefix === null ? args : args.slice(1);
      const before: Guard[] = [];
      for (const a of rest) {
        const ref = unwrap(a)?.type === 'Identifier' || unwrap(a)?.type === 'MemberExpression' ? refOf(a) : null;
        // An imported name is a router when it reads like one; otherwise it is middleware.
        if (ref && (model.scopes.has(ref.root) || (ctx.imports.has(ref.root) && /(router|routes|app|api|controller)s?$/i.test(chainOf(a))))) {
          model.mounts.push({ parent: s, child: ref, pos, prefix: prefix ?? '', guards: [...before] });
          continue;
        }
        const proxy = proxyTarget(a, ctx);
        if (proxy) {
          const facts = emptyFacts();
          facts.inference.push({ line, what: proxy, kind: 'forward' });
          facts.unfiltered.push({ line, what: `${proxy} forwards the raw request` });
          facts.passthrough.push({ line, what: `${proxy} returns the raw answer` });
          facts.guards.push(...before);
          model.routes.push({ scope: s, pos, line, method: 'ALL', path: prefix ?? '/', framework, facts });
          continue;
        }
        const g = guardsOf(a, ctx);
        before.push(...g);
        for (const guard of g) model.scopes.get(s)!.guards.push({ pos, prefix: prefix ?? '', guard });
      }
      return;
    }
    if (method === 'route' && framework === 'hono') {
      const ref = refOf(args[1] ?? null);
      if (ref) model.mounts.push({ parent: s, child: ref, pos, prefix: stringOf(args[0] ?? null) ?? '', guards: [] });
      return;
    }
    if (method === 'route' && framework === 'fastify' && unwrap(args[0] ?? null)?.type === 'ObjectExpression') {
      const opts = args[0]!;
      const m = propOf(opts, 'method');
      const methods = stringOf(m) ?? (unwrap(m)?.type === 'ArrayExpression' ? children(unwrap(m)!, 'elements').map(stringOf).filter(Boolean).join(',') : 'ALL');
      const h = propOf(opts, 'handler');
      const ref = importedHandler(h);
      model.routes.push({ scope: s, pos, line, method: methods.toUpperCase(), path: stringOf(propOf(opts, 'url') ?? propOf(opts, 'path')) ?? '/', framework, facts: handlerFacts(h, fastifyRouteOptionGuards(opts, ctx)), ...(ref ? { handlerRef: ref } : {}) });
      return;
    }
    if (method === 'addHook' && framework === 'fastify') {
      for (const guard of guardsOf(args[1] ?? null, ctx)) model.scopes.get(s)!.guards.push({ pos, prefix: '', guard });
      return;
    }
    if (method === 'register' && framework === 'fastify') {
      const plugin = unwrap(args[0] ?? null);
      const opts = args[1] ?? null;
      const g = fastifyPluginGuards(plugin, opts, ctx);
      if (g) {
        for (const guard of g) model.scopes.get(s)!.guards.push({ pos, prefix: '', guard });
        return;
      }
      const named = guardsOf(plugin, ctx);
      if (unwrap(plugin)?.type !== 'ArrowFunctionExpression' && unwrap(plugin)?.type !== 'FunctionExpression' && named.length > 0) {
        // An auth or limiter plugin (usually wrapped in fastify-plugin) applies to the scope that registers it.
        for (const guard of named) model.scopes.get(s)!.guards.push({ pos, prefix: '', guard });
        return;
      }
      const prefix = stringOf(propOf(opts, 'prefix')) ?? '';
      if (plugin && isFunction(plugin)) model.mounts.push({ parent: s, child: { root: pluginName.get(plugin) ?? `plugin@${plugin.start}`, members: [] }, pos, prefix, guards: [] });
      else {
        const target = plugin?.type === 'CallExpression' && chainOf(plugin) === 'import' ? null : plugin;
        const ref = target ? refOf(target) : null;
        if (ref && ctx.functions.has(ref.root)) model.mounts.push({ parent: s, child: { root: pluginName.get(ctx.functions.get(ref.root)!) ?? ref.root, members: [] }, pos, prefix, guards: [] });
        else if (ref) model.mounts.push({ parent: s, child: ref, pos, prefix, guards: [] });
      }
      return;
    }
    if (!METHODS.has(method)) return;
    const path = routePath ?? stringOf(args[0] ?? null);
    if (path === null || !/^[/*]/.test(path)) return;
    const rest = routePath === null ? args.slice(1) : args;
    if (rest.length === 0) return;
    const last = rest[rest.length - 1]!;
    // Fastify also takes app.post(path, { ...options, handler }).
    const handler = framework === 'fastify' && unwrap(last)?.type === 'ObjectExpression' ? propOf(last, 'handler') : last;
    const optionArgs = handler === last ? rest.slice(0, -1) : rest;
    let guards: Guard[] = [];
    if (framework === 'fastify') for (const a of optionArgs) guards = guards.concat(unwrap(a)?.type === 'ObjectExpression' ? fastifyRouteOptionGuards(a, ctx) : guardsOf(a, ctx));
    else for (const a of optionArgs) guards = guards.concat(guardsOf(a, ctx));
    const ref = importedHandler(handler);
    model.routes.push({ scope: s, pos, line, method: method.toUpperCase(), path, framework, facts: handlerFacts(handler, guards), ...(ref ? { handlerRef: ref } : {}) });
  });

  for (const sc of model.scopes.values()) sc.ordered = sc.ordered && ordered;
  collectExports(parsed, model, pluginName);
  return model;
}

/** `createProxyMiddleware({ target: VLLM_URL })` and friends: a route that forwards everything to an inference server. */
function proxyTarget(a: Node, ctx: JsFileCtx): string | null {
  const n = unwrap(a);
  if (n?.type !== 'CallExpression') return null;
  const chain = chainOf(child(n, 'callee'));
  if (!/^(createProxyMiddleware|proxy|httpProxy|expressHttpProxy)$/.test(chain)) return null;
  const args = children(n, 'arguments');
  const target = propOf(args[0] ?? null, 'target') ?? args[0] ?? null;
  const fake: Node = { type: 'CallExpression', start: n.start, end: n.end, callee: { type: 'Identifier', name: 'fetch', start: n.start, end: n.start }, arguments: target ? [target] : [] };
  return callKind(fake, ctx) ? snippet(ctx.text, n) : null;
}
