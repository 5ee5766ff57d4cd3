/**
 * Data flow inside one JavaScript/TypeScript handler: where the model is called, whether the
 * client's body reaches that call whole, whether the model's answer (or its vectors) goes back
 * to the client, and which checks the handler performs itself. Follows calls into helper
 * functions of the same file.
 */
import type { ImportBinding } from '../graph.js';
import { classifyKey, inferenceKindOfCall, isAuditName, isAuthName, isIdentityName, isInferenceUrl, isPromptName, isRateLimitName, isEmbeddingsUrl, LOGPROB_KEYS } from '../names.js';
import { emptyFacts, mergeFacts, type Guard, type HandlerFacts, type InferenceCall, type LimitKey } from '../types.js';
import { chainOf, child, children, isFunction, keyName, namesIn, propOf, snippet, stringOf, unwrap, walk, type Node } from './ast.js';

/** What the analysis knows about the file around a handler. */
export interface JsFileCtx {
  text: string;
  lineOf(offset: number): number;
  /** Module-level functions by name (declarations and `const f = () => ...`). */
  functions: Map<string, Node>;
  /** Module-level `const` initializers by name. */
  consts: Map<string, Node>;
  /** Module-level local models (`const generator = await pipeline(...)`). */
  models: Map<string, InferenceCall['kind']>;
  imports: Map<string, ImportBinding>;
  /** The key of a Fastify rate-limit plugin registered in this file, used by route-level limits. */
  limiterKey?: LimitKey;
}

/** How a handler's parameters relate to the request. */
export interface Inputs {
  /** Names bound to the request object (`req`, `request`, `c`). */
  request: Set<string>;
  /** Names bound to the client's whole body. */
  body: Set<string>;
}

const FORWARD_CALLS = /^(fetch|\$fetch|ofetch|got|ky|axios|request|undici\.request|undici\.fetch|axios\.(post|put|request)|got\.(post|stream)|ky\.post|http\.request|https\.request)$/;
const PASSTHROUGH_CALLS = new Set(['JSON.stringify', 'JSON.parse', 'Array.from', 'Object.values', 'Object.entries', 'Object.fromEntries', 'structuredClone', 'Buffer.from', 'Float32Array.from', 'String', 'Response.json', 'NextResponse.json', 'Response']);
const PASSTHROUGH_METHODS = new Set(['map', 'flat', 'flatMap', 'slice', 'filter', 'concat', 'toString', 'json', 'tolist', 'toJSON', 'values', 'entries']);
const RESPONSE_METHODS = new Set(['json', 'send', 'write', 'end', 'body', 'text', 'enqueue', 'writeSSE', 'html']);
const LOG_CALL = /^(console|logger|log|pino|winston|.*\.log|.*\.logger)\.(info|warn|log|debug|error|trace|notice|child)$/;

const isSource = (n: Node | null, inp: Inputs): boolean => {
  n = unwrap(n);
  if (!n) return false;
  if (n.type === 'MemberExpression' && !n.computed) {
    const prop = (child(n, 'property')!.name as string) ?? '';
    const obj = chainOf(child(n, 'object'));
    if (prop === 'body' && (inp.request.has(obj) || /^(req|request|ctx\.request|c\.req)$/.test(obj))) return true;
  }
  if (n.type === 'CallExpression') {
    const chain = chainOf(child(n, 'callee'));
    const m = /^(.*)\.(json|parseBody)$/.exec(chain);
    if (m && (inp.request.has(m[1]!) || inp.request.has(m[1]!.replace(/\.req$/, '')) || /^(req|request)$/.test(m[1]!))) return true;
  }
  return false;
};

/** Runs the analysis of `fn`; `visited` stops recursion through helpers that call each other. */
export function analyzeFunction(fn: Node, ctx: JsFileCtx, inp: Inputs, visited = new Set<Node>()): HandlerFacts {
  visited.add(fn);
  const facts = emptyFacts();
  const body = child(fn, 'body');
  if (!body) return facts;
  const line = (n: Node) => ctx.lineOf(n.start);
  const bodyNames = new Set(inp.body);
  const deleted = new Map<string, Set<string>>();
  const whole = new Map<string, InferenceCall['kind']>();
  const deep = new Map<string, InferenceCall['kind']>();
  const consts = new Map<string, Node>();

  const wholeBody = (n: Node | null): boolean => {
    n = unwrap(n);
    if (!n) return false;
    if (isSource(n, inp)) return true;
    if (n.type === 'Identifier') {
      const name = n.name as string;
      const d = deleted.get(name);
      return bodyNames.has(name) && !(d && d.has('logit_bias') && (d.has('logprobs') || d.has('top_logprobs')));
    }
    if (n.type === 'ObjectExpression') return children(n, 'properties').some((p) => p.type === 'SpreadElement' && wholeBody(child(p, 'argument')));
    if (n.type === 'CallExpression') {
      const chain = chainOf(child(n, 'callee'));
      if (['Object.assign', 'structuredClone', 'JSON.stringify', 'JSON.parse', '_.cloneDeep', 'lodash.cloneDeep'].includes(chain)) return children(n, 'arguments').some(wholeBody);
    }
    return false;
  };

  // Which names hold the model's answer (whole, or anything derived from it).
  const sinkOf = (n: Node | null): InferenceCall['kind'] | null => {
    n = unwrap(n);
    if (!n || (n.type !== 'CallExpression' && n.type !== 'NewExpression')) return null;
    return callKind(n, ctx, consts)?.kind ?? null;
  };
  const carries = (n: Node | null, map: Map<string, InferenceCall['kind']>): InferenceCall['kind'] | null => {
    n = unwrap(n);
    if (!n) return null;
    switch (n.type) {
      case 'Identifier':
        return map.get(n.name as string) ?? null;
      case 'MemberExpression':
        return carries(child(n, 'object'), map);
      case 'CallExpression':
      case 'NewExpression': {
        const s = sinkOf(n);
        if (s) return s;
        const callee = unwrap(child(n, 'callee'));
        const chain = chainOf(callee);
        if (callee?.type === 'MemberExpression' && PASSTHROUGH_METHODS.has(chain.split('.').pop()!)) return carries(child(callee, 'object'), map);
        if (PASSTHROUGH_CALLS.has(chain)) return children(n, 'arguments').map((a) => carries(a, map)).find(Boolean) ?? null;
        return null;
      }
      case 'ObjectExpression':
        return children(n, 'properties').map((p) => carries(child(p, p.type === 'SpreadElement' ? 'argument' : 'value'), map)).find(Boolean) ?? null;
      case 'ArrayExpression':
        return children(n, 'elements').map((e) => carries(e.type === 'SpreadElement' ? child(e, 'argument') : e, map)).find(Boolean) ?? null;
      case 'TemplateLiteral':
        return children(n, 'expressions').map((e) => carries(e, map)).find(Boolean) ?? null;
      case 'ConditionalExpression':
        return carries(child(n, 'consequent'), map) ?? carries(child(n, 'alternate'), map);
      case 'LogicalExpression':
        return carries(child(n, 'left'), map) ?? carries(child(n, 'right'), map);
      default:
        return null;
    }
  };
  /** The whole answer: the call itself, `await r.json()`, `r.data`/`r.body` of a forwarded request, a stream chunk. */
  const isWhole = (n: Node | null): InferenceCall['kind'] | null => {
    n = unwrap(n);
    if (!n) return null;
    if (n.type === 'Identifier') return whole.get(n.name as string) ?? null;
    const s = sinkOf(n);
    if (s) return s;
    if (n.type === 'CallExpression') {
      const callee = unwrap(child(n, 'callee'));
      const chain = chainOf(callee);
      if (callee?.type === 'MemberExpression' && /\.(json|text)$/.test(chain)) return isWhole(child(callee, 'object'));
      if (['JSON.stringify', 'Response.json', 'NextResponse.json', 'Readable.fromWeb'].includes(chain)) return isWhole(children(n, 'arguments')[0] ?? null);
    }
    if (n.type === 'NewExpression' && chainOf(child(n, 'callee')) === 'Response') return isWhole(children(n, 'arguments')[0] ?? null);
    if (n.type === 'MemberExpression' && !n.computed && ['data', 'body'].includes(child(n, 'property')!.name as string)) {
      const k = isWhole(child(n, 'object'));
      return k === 'forward' ? k : null;
    }
    if (n.type === 'TemplateLiteral') return children(n, 'expressions').map(isWhole).find(Boolean) ?? null;
    return null;
  };

  // Bindings, in source order, twice so that a loop's later assignment reaches an earlier use.
  const bind = (id: Node | null, init: Node | null) => {
    id = unwrap(id);
    if (!id || !init) return;
    if (id.type === 'Identifier') {
      const name = id.name as string;
      consts.set(name, init);
      if (wholeBody(init)) bodyNames.add(name);
      const w = isWhole(init);
      if (w) whole.set(name, w);
      const d = carries(init, deep) ?? carries(init, whole);
      if (d) deep.set(name, d);
    } else if (id.type === 'ObjectPattern' || id.type === 'ArrayPattern') {
      // const { embeddings } = await embedMany(...): every name bound from the answer carries it.
      const d = carries(init, deep) ?? carries(init, whole);
      if (d) walk(id, (x) => void (x.type === 'Identifier' && deep.set(x.name as string, d)));
    }
    if (id.type === 'ObjectPattern' && wholeBody(init)) {
      const taken = new Set(children(id, 'properties').map((p) => (p.type === 'Property' ? keyName(p) : null)));
      const rest = children(id, 'properties').find((p) => p.type === 'RestElement');
      const restId = rest ? child(rest, 'argument') : null;
      if (restId?.type === 'Identifier' && !(taken.has('logit_bias') && (taken.has('logprobs') || taken.has('top_logprobs')))) bodyNames.add(restId.name as string);
    }
  };
  for (let pass = 0; pass < 2; pass++) {
    walk(body, (n) => {
      if (n.type === 'VariableDeclarator') bind(child(n, 'id'), child(n, 'init'));
      else if (n.type === 'AssignmentExpression' && n.operator === '=') bind(child(n, 'left'), child(n, 'right'));
      else if ((n.type === 'ForOfStatement' || n.type === 'ForInStatement') && isWhole(child(n, 'right'))) {
        const left = child(n, 'left');
        const decl = left?.type === 'VariableDeclaration' ? child(children(left, 'declarations')[0]!, 'id') : left;
        if (decl?.type === 'Identifier') whole.set(decl.name as string, isWhole(child(n, 'right'))!);
      } else if (n.type === 'UnaryExpression' && n.operator === 'delete') {
        const arg = unwrap(child(n, 'argument'));
        if (arg?.type === 'MemberExpression') {
          const obj = chainOf(child(arg, 'object'));
          const prop = arg.computed ? stringOf(child(arg, 'property')) : (child(arg, 'property')!.name as string);
          if (prop) deleted.set(obj, (deleted.get(obj) ?? new Set()).add(prop));
        }
      }
    });
  }

  const topReturns = new Set<Node>();
  walk(body, (n) => {
    if (isFunction(n)) return false;
    if (n.type === 'ReturnStatement') topReturns.add(n);
  });
  if (fn.type === 'ArrowFunctionExpression' && fn.expression === true) topReturns.add({ type: 'ReturnStatement', start: body.start, end: body.end, argument: body });

  const responded = (arg: Node | null, at: Node) => {
    const w = isWhole(arg);
    if (w && w !== 'embeddings') facts.passthrough.push({ line: line(at), what: snippet(ctx.text, at) });
    const d = carries(arg, deep) ?? carries(arg, whole);
    if (d === 'embeddings') facts.embeddingsReturned.push({ line: line(at), what: snippet(ctx.text, at) });
  };
  for (const r of topReturns) responded(child(r, 'argument'), r);

  walk(body, (n, parents) => {
    if (n.type === 'Property' && LOGPROB_KEYS.has(keyName(n) ?? '')) {
      const v = unwrap(child(n, 'value'));
      const off = v?.type === 'Literal' && (v.value === false || v.value === null || v.value === 0);
      const inPattern = parents.some((p) => p.type === 'ObjectPattern');
      const undef = v?.type === 'Identifier' && v.name === 'undefined';
      if (!off && !inPattern && !undef) {
        facts.logprobs.push({ line: line(n), what: snippet(ctx.text, n) });
      }
    }
    if (n.type === 'MemberExpression' && !n.computed && LOGPROB_KEYS.has(child(n, 'property')!.name as string)) {
      const p = parents[parents.length - 1];
      const removed = (p?.type === 'UnaryExpression' && p.operator === 'delete') || (p?.type === 'AssignmentExpression' && child(p, 'left') === n);
      if (!removed) facts.logprobs.push({ line: line(n), what: snippet(ctx.text, n) });
    }
    if (n.type !== 'CallExpression' && n.type !== 'NewExpression') return;
    const args = children(n, 'arguments');
    const chain = chainOf(child(n, 'callee'));
    const call = callKind(n, ctx, consts);
    if (call) {
      facts.inference.push({ line: line(n), what: call.what, kind: call.kind });
      const payloads = call.kind === 'forward' ? forwardPayloads(args) : args;
      const leak = payloads.find((a) => wholeBody(a) || (call.kind === 'forward' && inp.request.has(chainOf(a))));
      if (leak) facts.unfiltered.push({ line: line(leak), what: snippet(ctx.text, leak) });
      return;
    }
    const last = chain.split('.').pop()!;
    if (args.length > 0 && (RESPONSE_METHODS.has(last) || chain === 'Response' || last === 'pipe' || last === 'pipeline')) {
      if (last === 'pipe') responded(child(child(n, 'callee')!, 'object'), n);
      else for (const a of args) responded(a, n);
    }
    const guard = guardOfCall(n, chain, args, ctx, consts);
    if (guard) facts.guards.push(guard);
    const callee = unwrap(child(n, 'callee'));
    if (callee?.type === 'Identifier' && ctx.functions.has(callee.name as string)) {
      const helper = ctx.functions.get(callee.name as string)!;
      if (!visited.has(helper)) {
        const params = children(helper, 'params');
        const sub: Inputs = { request: new Set(), body: new Set() };
        args.forEach((a, i) => {
          const p = params[i];
          if (p?.type !== 'Identifier') return;
          if (wholeBody(a)) sub.body.add(p.name as string);
          if (inp.request.has(chainOf(a))) sub.request.add(p.name as string);
        });
        mergeFacts(facts, analyzeFunction(helper, ctx, sub, visited));
      }
    }
  });
  return facts;
}

/** The arguments of an HTTP call that carry the payload: axios.post(url, data), fetch(url, { body }), got(url, { json }). */
function forwardPayloads(args: Node[]): Node[] {
  const out: Node[] = [];
  for (const a of args.slice(1)) {
    out.push(a);
    for (const k of ['body', 'data', 'json']) {
      const v = propOf(a, k);
      if (v) out.push(v);
    }
  }
  const cfg = args[0];
  for (const k of ['body', 'data', 'json']) {
    const v = propOf(cfg ?? null, k);
    if (v) out.push(v);
  }
  return out;
}

/** The model call a call expression makes, if any. */
export function callKind(n: Node, ctx: JsFileCtx, locals: Map<string, Node> = new Map()): { kind: InferenceCall['kind']; what: string } | null {
  const callee = unwrap(child(n, 'callee'));
  const chain = chainOf(callee);
  const what = `${chain}()`;
  if (callee?.type === 'Identifier' && ctx.models.has(chain)) return { kind: ctx.models.get(chain)!, what };
  const kind = inferenceKindOfCall(chain);
  if (kind) return { kind, what };
  if (FORWARD_CALLS.test(chain)) {
    const args = children(n, 'arguments');
    let url: Node | null = args[0] ?? null;
    if (unwrap(url)?.type === 'ObjectExpression') url = propOf(url, 'url');
    const pieces = urlPieces(url, ctx, locals);
    if (isInferenceUrl(pieces)) return { kind: isEmbeddingsUrl(pieces) ? 'embeddings' : 'forward', what };
  }
  return null;
}

/** Strings and names that make up a URL expression, following `const` bindings one step. */
function urlPieces(url: Node | null, ctx: JsFileCtx, locals: Map<string, Node>): string[] {
  const pieces = namesIn(url);
  for (const p of [...pieces]) {
    const init = locals.get(p) ?? ctx.consts.get(p);
    if (init) pieces.push(...namesIn(init));
  }
  return pieces;
}

/** A check performed by a call inside a handler: auth, a limiter, an audit or identity+prompt log line. */
function guardOfCall(n: Node, chain: string, args: Node[], ctx: JsFileCtx, locals: Map<string, Node>): Guard | null {
  const line = ctx.lineOf(n.start);
  const what = snippet(ctx.text, n);
  const last = chain.split('.').pop()!;
  if (args.some((a) => { const u = unwrap(a); return u?.type === 'Literal' && (u.value === 401 || u.value === 403); }) || statusProp(args)) return { kind: 'auth', line, what };
  if (isAuditName(chain)) return { kind: 'audit', line, what };
  if (LOG_CALL.test(chain)) {
    const names = args.flatMap((a) => namesIn(a));
    if (names.some(isIdentityName) && names.some(isPromptName)) return { kind: 'audit', line, what };
    return null;
  }
  const obj = chain.slice(0, Math.max(0, chain.length - last.length - 1));
  if ((isRateLimitName(obj) && ['limit', 'consume', 'check', 'hit', 'take', 'removeTokens', 'blockEffective', 'get'].includes(last)) || isRateLimitName(last)) {
    const names = args.flatMap((a) => namesIn(a));
    for (const nm of [...names]) {
      const init = locals.get(nm) ?? ctx.consts.get(nm);
      if (init) names.push(...namesIn(init));
    }
    return { kind: 'rate', key: classifyKey(names), line, what };
  }
  if (isAuthName(last) || (chain.includes('.') && isAuthName(chain) && /verify|authenticate|isAuthenticated/i.test(last))) return { kind: 'auth', line, what };
  return null;
}

function statusProp(args: Node[]): boolean {
  return args.some((a) => {
    const v = unwrap(propOf(a, 'status') ?? propOf(a, 'statusCode'));
    return v?.type === 'Literal' && (v.value === 401 || v.value === 403);
  });
}
