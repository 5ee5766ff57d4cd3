/**
 * What a JavaScript/TypeScript file exports for other files: routers and plugins (scopes) and
 * functions that other files register as route handlers ("controllers"), with their facts.
 */
import type { FileModel } from '../graph.js';
import { chainOf, child, children, isFunction, keyName, unwrap, type Node, type ParsedJs } from './ast.js';
import { analyzeFunction, type JsFileCtx } from './flow.js';

export function collectExports(parsed: ParsedJs, model: FileModel, pluginName: Map<Node, string>): void {
  const setIfScope = (exported: string, local: string) => {
    if (model.scopes.has(local)) model.exports.set(exported, local);
  };
  for (const st of children(parsed.program, 'body')) {
    if (st.type === 'ExportDefaultDeclaration') {
      const d = unwrap(child(st, 'declaration'));
      if (d?.type === 'Identifier') setIfScope('default', d.name as string);
      else if (d && isFunction(d) && pluginName.has(d)) setIfScope('default', pluginName.get(d)!);
      else if (d?.type === 'CallExpression' && chainOf(child(d, 'callee')) === 'fp') {
        const inner = unwrap(children(d, 'arguments')[0] ?? null);
        if (inner?.type === 'Identifier') setIfScope('default', inner.name as string);
        else if (inner && isFunction(inner)) setIfScope('default', pluginName.get(inner) ?? '');
      }
    } else if (st.type === 'ExportNamedDeclaration') {
      const d = child(st, 'declaration');
      if (d?.type === 'VariableDeclaration') for (const v of children(d, 'declarations')) setIfScope(chainOf(child(v, 'id')), chainOf(child(v, 'id')));
      if (d?.type === 'FunctionDeclaration') setIfScope(chainOf(child(d, 'id')), chainOf(child(d, 'id')));
      for (const sp of children(st, 'specifiers')) setIfScope(chainOf(child(sp, 'exported')), chainOf(child(sp, 'local')));
    } else if (st.type === 'ExpressionStatement') {
      const e = unwrap(child(st, 'expression'));
      if (e?.type !== 'AssignmentExpression') continue;
      const left = chainOf(child(e, 'left'));
      const right = chainOf(child(e, 'right'));
      if (left === 'module.exports') setIfScope('default', right);
      else if (/^(module\.)?exports\.\w+$/.test(left)) setIfScope(left.split('.').pop()!, right);
    }
  }
}

/** Facts of every exported function with parameters, keyed as other files import it (`create`, `default`, `default.create`). */
export function collectHandlers(parsed: ParsedJs, ctx: JsFileCtx, model: FileModel): void {
  const add = (key: string, target: Node | null) => {
    let fn = unwrap(target);
    if (fn?.type === 'Identifier') fn = ctx.functions.get(fn.name as string) ?? null;
    if (!fn || !isFunction(fn) || model.handlers.has(key)) return;
    const p = children(fn, 'params')[0];
    if (!p) return;
    model.handlers.set(key, analyzeFunction(fn, ctx, { request: new Set([p.type === 'Identifier' ? (p.name as string) : 'req']), body: new Set() }));
  };
  const addObject = (prefix: string, obj: Node | null, alsoBare: boolean) => {
    const o = unwrap(obj);
    if (o?.type !== 'ObjectExpression') return;
    for (const p of children(o, 'properties')) {
      const k = p.type === 'Property' ? keyName(p) : null;
      if (!k) continue;
      add(`${prefix}.${k}`, child(p, 'value'));
      if (alsoBare) add(k, child(p, 'value'));
    }
  };
  for (const st of children(parsed.program, 'body')) {
    if (st.type === 'ExportDefaultDeclaration') {
      const d = child(st, 'declaration');
      add('default', d);
      addObject('default', d, false);
    } else if (st.type === 'ExportNamedDeclaration') {
      const d = child(st, 'declaration');
      if (d?.type === 'FunctionDeclaration') add(chainOf(child(d, 'id')), d);
      if (d?.type === 'VariableDeclaration') for (const v of children(d, 'declarations')) add(chainOf(child(v, 'id')), child(v, 'init'));
      for (const sp of children(st, 'specifiers')) add(chainOf(child(sp, 'exported')), child(sp, 'local'));
    } else if (st.type === 'ExpressionStatement') {
      const e = unwrap(child(st, 'expression'));
      if (e?.type !== 'AssignmentExpression') continue;
      const left = chainOf(child(e, 'left'));
      if (left === 'module.exports') {
        add('default', child(e, 'right'));
        addObject('default', child(e, 'right'), true);
      } else if (/^(module\.)?exports\.\w+$/.test(left)) {
        const k = left.split('.').pop()!;
        add(k, child(e, 'right'));
        add(`default.${k}`, child(e, 'right'));
      }
    }
  }
}
