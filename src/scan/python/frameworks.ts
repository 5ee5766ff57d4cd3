/**
 * The Python front-end: turns one module into a FileModel for FastAPI (apps, APIRouters,
 * dependencies at app, router, include and route level, middleware) and Flask (apps,
 * blueprints, before_request hooks, decorators, Flask-Limiter).
 */
import { newFileModel, joinPath, type FileModel, type NameRef } from '../graph.js';
import { classifyKey, isAuditName, isAuthName, isRateLimitName, modelFactoryKind } from '../names.js';
import type { Framework, Guard, LimitKey } from '../types.js';
import { argsOf, defOf, dotted, namesPy, parsePython, snip, stringPy, unwrapPy, walkPy, type PyNode } from './ast.js';
import { analyzeDef, paramNames, type PyInputs, type PyModuleCtx } from './flow.js';

const ROUTE_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'api_route', 'route', 'websocket']);
const APP_NAME = /^(app|api|router|bp|blueprint|application|\w+_router|\w+_bp|\w+_blueprint|\w+_app)$/;
const LEAKY_FIELDS = ['logit_bias', 'logprobs', 'top_logprobs', 'echo'];
const SCOPE_CTORS: Record<string, Framework> = { FastAPI: 'fastapi', APIRouter: 'fastapi', Flask: 'flask', Blueprint: 'flask' };

interface Limiter {
  key: LimitKey;
  defaults: boolean;
  line: number;
  what: string;
}

function moduleContext(root: PyNode): { ctx: PyModuleCtx; classNodes: Map<string, PyNode>; decorators: Map<string, PyNode[]> } {
  const ctx: PyModuleCtx = { defs: new Map(), classes: new Map(), consts: new Map(), models: new Map(), imports: new Map() };
  const classNodes = new Map<string, PyNode>();
  const decorators = new Map<string, PyNode[]>();
  for (const st of root.children) {
    if (st.type === 'import_statement') {
      for (const c of st.children) {
        const mod = c.type === 'aliased_import' ? c.fields.name!.text : c.text;
        const local = c.type === 'aliased_import' ? c.fields.alias!.text : mod.split('.')[0]!;
        ctx.imports.set(local, { source: c.type === 'aliased_import' ? mod : local, name: null });
      }
    } else if (st.type === 'import_from_statement') {
      const mod = st.fields.module_name?.text ?? '';
      for (const c of st.children.slice(1)) {
        if (c.type === 'aliased_import') ctx.imports.set(c.fields.alias!.text, { source: mod, name: c.fields.name!.text });
        else if (c.type === 'dotted_name') ctx.imports.set(c.text, { source: mod, name: c.text });
      }
    }
    const def = defOf(st);
    if (def) ctx.defs.set(def.fields.name!.text, def);
    if (def && st.type === 'decorated_definition') decorators.set(def.fields.name!.text, st.children.filter((c) => c.type === 'decorator'));
    const cls = st.type === 'class_definition' ? st : st.type === 'decorated_definition' && st.fields.definition?.type === 'class_definition' ? st.fields.definition : null;
    if (cls) {
      const name = cls.fields.name!.text;
      classNodes.set(name, cls);
      const fields = new Set<string>();
      let extraAllow = false;
      walkPy(cls.fields.body!, (n) => {
        if (n.type === 'assignment' && n.fields.left?.type === 'identifier') {
          if (n.fields.type) fields.add(n.fields.left.text);
          if (/extra\s*=\s*["']allow["']|Extra\.allow/.test(n.text) || (n.fields.left.text === 'extra' && /allow/.test(n.fields.right?.text ?? ''))) extraAllow = true;
        }
        if (n.type === 'function_definition') return false;
      });
      ctx.classes.set(name, { fields, extraAllow });
    }
    const asg = st.type === 'expression_statement' ? st.children[0] : null;
    if (asg?.type === 'assignment' && asg.fields.left?.type === 'identifier' && asg.fields.right) {
      const name = asg.fields.left.text;
      ctx.consts.set(name, asg.fields.right);
      const r = unwrapPy(asg.fields.right);
      if (r?.type === 'call') {
        const kind = modelFactoryKind(dotted(r), stringPy(argsOf(r).positional[0]) ?? stringPy(argsOf(r).keywords.get('task')));
        if (kind) ctx.models.set(name, kind);
      }
    }
  }
  return { ctx, classNodes, decorators };
}

/** Builds the FileModel of a Python module. */
export async function pyFileModel(file: string, text: string): Promise<FileModel> {
  const root = await parsePython(text);
  const { ctx, classNodes, decorators: defDecorators } = moduleContext(root);
  const model = newFileModel(file, 'python');
  model.imports = ctx.imports;
  const sources = [...ctx.imports.values()].map((b) => b.source);
  const fileFramework: Framework | null = sources.some((s) => s.startsWith('fastapi')) ? 'fastapi' : sources.some((s) => s.startsWith('flask')) ? 'flask' : null;
  if (!fileFramework) return model;

  const prefixes = new Map<string, string>();
  const limiters = new Map<string, Limiter>();
  const scopeOf = (name: string): string | null => {
    if (model.scopes.has(name)) return name;
    if (!APP_NAME.test(name)) return null;
    model.scopes.set(name, { name, ordered: false, guards: [] });
    return name;
  };
  const addGuards = (scope: string, guards: Guard[]) => {
    for (const guard of guards) model.scopes.get(scope)!.guards.push({ pos: 0, prefix: '', guard });
  };

  // Guards of a function used as a dependency, hook, decorator or middleware.
  const defGuards = (def: PyNode, depth: number): Guard[] => {
    const params = paramNames(def);
    const inp: PyInputs = { request: new Set(params.filter((p) => p === 'request' || p === 'req')), body: new Set(), leakyModels: new Set() };
    return [...analyzeDef(def, ctx, inp).guards, ...(depth < 3 ? paramDeps(def, depth + 1) : [])];
  };
  const nameGuards = (name: string, node: PyNode, keyHint: LimitKey | null): Guard[] => {
    const what = snip(node);
    if (isRateLimitName(name)) return [{ kind: 'rate', key: keyHint ?? 'unknown', line: node.line, what }];
    if (isAuthName(name) || isAuthName(name.split('.').pop()!)) return [{ kind: 'auth', line: node.line, what }];
    if (isAuditName(name)) return [{ kind: 'audit', line: node.line, what }];
    return [];
  };
  /** `Depends(x)` / `Security(x)`: what x does. */
  const depGuards = (call: PyNode, depth: number): Guard[] => {
    const target = unwrapPy(argsOf(call).positional[0] ?? argsOf(call).keywords.get('dependency'));
    if (!target) return [];
    const name = dotted(target);
    if (target.type === 'call') {
      // fastapi-limiter's RateLimiter counts per client IP unless given an identifier function.
      const a = argsOf(target);
      const ident = a.keywords.get('identifier');
      const key = ident ? classifyKey([...namesPy(ident), ...namesPy(ctx.defs.get(dotted(ident)))]) : /RateLimiter$/.test(name) ? 'ip' : null;
      return nameGuards(name, call, key);
    }
    const def = ctx.defs.get(name);
    const found = def ? defGuards(def, depth) : [];
    const init = ctx.consts.get(name);
    const named = nameGuards(init ? `${name} ${dotted(init)}` : name, call, found.find((g) => g.kind === 'rate')?.key ?? null);
    return found.length > 0 ? [...found, ...named.filter((g) => !found.some((f) => f.kind === g.kind))] : named;
  };
  const depsIn = (n: PyNode | undefined, depth: number): Guard[] => {
    const out: Guard[] = [];
    if (!n) return out;
    walkPy(n, (x) => {
      if (x.type === 'call' && /(^|\.)(Depends|Security)$/.test(dotted(x))) {
        out.push(...depGuards(x, depth));
        return false;
      }
    });
    return out;
  };
  /** Dependencies declared on a function's parameters, directly or through an `Annotated` alias. */
  function paramDeps(def: PyNode, depth: number): Guard[] {
    const out: Guard[] = [];
    for (const p of def.fields.parameters?.children ?? []) {
      out.push(...depsIn(p.fields.value, depth), ...depsIn(p.fields.type, depth));
      const t = p.fields.type?.children[0];
      if (t?.type === 'identifier' && ctx.consts.has(t.text)) out.push(...depsIn(ctx.consts.get(t.text), depth));
    }
    return out;
  }
  const inputsOf = (def: PyNode, framework: Framework): PyInputs => {
    const inp: PyInputs = { request: new Set(), body: new Set(), leakyModels: new Set() };
    if (framework === 'flask') inp.request.add('request');
    for (const p of def.fields.parameters?.children ?? []) {
      const name = p.fields.name?.text ?? p.children.find((c) => c.type === 'identifier')?.text;
      if (!name) continue;
      const type = p.fields.type?.text ?? '';
      if (/^(Request|starlette\.requests\.Request|fastapi\.Request)$/.test(type)) inp.request.add(name);
      else if (/^(dict|Dict|Any|typing\.Any)\b|^dict\[|^Dict\[/.test(type) || /^Body\(/.test(p.fields.value?.text ?? '')) inp.body.add(name);
      const cls = ctx.classes.get(type.replace(/^Annotated\[\s*(\w+).*$/, '$1'));
      if (cls && (cls.extraAllow || LEAKY_FIELDS.some((f) => cls.fields.has(f)))) inp.leakyModels.add(name);
    }
    return inp;
  };
  let exempt = false;
  const decoratorGuards = (dec: PyNode): Guard[] => {
    const e = unwrapPy(dec.children[0]);
    if (!e) return [];
    const name = dotted(e);
    const obj = name.split('.').slice(0, -1).join('.');
    const last = name.split('.').pop()!;
    const lim = limiters.get(obj);
    if (lim && ['limit', 'shared_limit'].includes(last)) {
      const kf = e.type === 'call' ? argsOf(e).keywords.get('key_func') : undefined;
      const key = kf ? classifyKey([...namesPy(kf), ...namesPy(ctx.defs.get(dotted(kf)))]) : lim.key;
      return [{ kind: 'rate', key, line: dec.line, what: kf ? snip(dec) : `${snip(dec)} counted by ${lim.what} on line ${lim.line}` }];
    }
    if (lim && last === 'exempt') {
      exempt = true;
      return [];
    }
    const def = ctx.defs.get(name);
    const found = def ? defGuards(def, 1) : [];
    return found.length > 0 ? found : nameGuards(name, dec, null);
  };

  // Scopes and limiters first, so that routes and mounts anywhere in the module can find them.
  walkPy(root, (n) => {
    if (n.type !== 'assignment' || n.fields.left?.type !== 'identifier') return;
    const r = unwrapPy(n.fields.right);
    if (r?.type !== 'call') return;
    const ctor = dotted(r).split('.').pop()!;
    const a = argsOf(r);
    const name = n.fields.left.text;
    if (ctor in SCOPE_CTORS) {
      model.scopes.set(name, { name, ordered: false, guards: [] });
      prefixes.set(name, stringPy(a.keywords.get('prefix') ?? a.keywords.get('url_prefix')) ?? '');
      addGuards(name, depsIn(a.keywords.get('dependencies'), 1));
    }
    if (ctor === 'Limiter') {
      const kf = a.keywords.get('key_func') ?? a.positional[0];
      const key = kf ? classifyKey([...namesPy(kf), ...namesPy(ctx.defs.get(dotted(kf)))]) : 'ip';
      const lim = { key: key === 'unknown' ? 'unknown' : key, defaults: a.keywords.has('default_limits') || a.keywords.has('application_limits'), line: n.line, what: snip(r) } as Limiter;
      limiters.set(name, lim);
      const app = a.keywords.get('app');
      if (app && lim.defaults && scopeOf(dotted(app))) addGuards(dotted(app), [{ kind: 'rate', key: lim.key, line: lim.line, what: lim.what }]);
    }
  });

  walkPy(root, (n) => {
    if (n.type === 'call' && n.fields.function?.type === 'attribute') {
      const recv = dotted(n.fields.function.fields.object);
      const method = n.fields.function.fields.attribute!.text;
      const a = argsOf(n);
      const s = model.scopes.has(recv) || APP_NAME.test(recv) ? recv : null;
      if (method === 'init_app' && limiters.get(recv)?.defaults && a.positional[0] && scopeOf(dotted(a.positional[0]))) {
        const lim = limiters.get(recv)!;
        addGuards(dotted(a.positional[0]), [{ kind: 'rate', key: lim.key, line: lim.line, what: lim.what }]);
      }
      if (!s) return;
      if (method === 'include_router' || method === 'register_blueprint') {
        const target = dotted(a.positional[0] ?? a.keywords.get('router') ?? a.keywords.get('blueprint'));
        if (target.includes('?')) return;
        const [root0, ...members] = target.split('.');
        const child: NameRef = { root: root0!, members };
        scopeOf(s);
        model.mounts.push({ parent: s, child, pos: n.start, prefix: stringPy(a.keywords.get('prefix') ?? a.keywords.get('url_prefix')) ?? '', guards: depsIn(a.keywords.get('dependencies'), 1) });
      } else if ((method === 'add_api_route' || method === 'add_url_rule') && scopeOf(s)) {
        // app.add_api_route("/chat", chat, methods=["POST"]) / app.add_url_rule("/chat", view_func=chat, methods=["POST"])
        const path = stringPy(a.positional[0] ?? a.keywords.get('path') ?? a.keywords.get('rule'));
        const view = a.keywords.get('view_func') ?? a.keywords.get('endpoint') ?? a.positional[method === 'add_api_route' ? 1 : 2];
        const def = view ? ctx.defs.get(dotted(view)) : undefined;
        if (path === null || !def) return;
        const ms = a.keywords.get('methods');
        const facts = analyzeDef(def, ctx, inputsOf(def, fileFramework));
        facts.guards.push(...depsIn(a.keywords.get('dependencies'), 1), ...paramDeps(def, 1));
        exempt = false;
        for (const dec of defDecorators.get(def.fields.name!.text) ?? []) facts.guards.push(...decoratorGuards(dec));
        model.routes.push({ scope: s, pos: n.start, line: n.line, method: ms ? namesPy(ms).join(',').toUpperCase() : 'GET', path: joinPath(prefixes.get(s) ?? '', path), framework: fileFramework, facts, ...(exempt ? { exempt: ['rate' as const] } : {}) });
      } else if (method === 'add_middleware' && a.positional[0] && scopeOf(s)) {
        const cls = dotted(a.positional[0]);
        if (/SlowAPIMiddleware/.test(cls)) {
          const lim = [...limiters.values()].find((l) => l.defaults);
          if (lim) addGuards(s, [{ kind: 'rate', key: lim.key, line: n.line, what: snip(n) }]);
          return;
        }
        const dispatch = classNodes.get(cls)?.fields.body?.children.map(defOf).find((d) => d?.fields.name?.text === 'dispatch');
        const found = dispatch ? defGuards(dispatch, 1) : [];
        addGuards(s, found.length > 0 ? found : nameGuards(cls, n, null));
      } else if (method === 'before_request' && a.positional[0] && scopeOf(s)) {
        const def = ctx.defs.get(dotted(a.positional[0]));
        addGuards(s, def ? defGuards(def, 1) : nameGuards(dotted(a.positional[0]), n, null));
      }
      return;
    }
    if (n.type !== 'decorated_definition') return;
    const def = defOf(n);
    if (!def) return;
    const decorators = n.children.filter((c) => c.type === 'decorator');
    exempt = false;
    let route: { scope: string; methods: string; path: string; dec: PyNode } | null = null;
    const guards: Guard[] = [];
    for (const dec of decorators) {
      const e = unwrapPy(dec.children[0]);
      const name = dotted(e);
      const recv = name.split('.').slice(0, -1).join('.');
      const last = name.split('.').pop()!;
      const s = recv && (model.scopes.has(recv) || APP_NAME.test(recv)) ? recv : null;
      if (s && e?.type === 'call' && ROUTE_METHODS.has(last)) {
        const a = argsOf(e);
        const path = stringPy(a.positional[0] ?? a.keywords.get('path') ?? a.keywords.get('rule'));
        if (path === null) continue;
        const ms = a.keywords.get('methods');
        const methods = ms ? namesPy(ms).join(',').toUpperCase() : last === 'route' ? 'GET' : last === 'api_route' ? 'GET' : last.toUpperCase();
        route = { scope: s, methods, path, dec };
        guards.push(...depsIn(a.keywords.get('dependencies'), 1));
      } else if (s && (last === 'middleware' || last === 'before_request') && scopeOf(s)) {
        addGuards(s, defGuards(def, 1));
        return;
      } else guards.push(...decoratorGuards(dec));
    }
    if (!route) return;
    scopeOf(route.scope);
    const framework: Framework = fileFramework;
    const facts = analyzeDef(def, ctx, inputsOf(def, framework));
    facts.guards.push(...guards, ...paramDeps(def, 1));
    model.routes.push({ scope: route.scope, pos: n.start, line: route.dec.line, method: route.methods, path: joinPath(prefixes.get(route.scope) ?? '', route.path), framework, facts, ...(exempt ? { exempt: ['rate' as const] } : {}) });
  });
  return model;
}
