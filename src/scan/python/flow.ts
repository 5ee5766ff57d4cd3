/**
 * Data flow inside one Python view function (FastAPI or Flask): model calls, whether the
 * client's body reaches them whole, whether the answer or its vectors go back to the client, and
 * the checks the function performs itself. Follows calls into functions of the same module.
 */
import type { ImportBinding } from '../graph.js';
import { classifyKey, inferenceKindOfCall, isAuditName, isAuthName, isEmbeddingsUrl, isIdentityName, isInferenceUrl, isPromptName, isRateLimitName, LOGPROB_KEYS } from '../names.js';
import { emptyFacts, mergeFacts, type Guard, type HandlerFacts, type InferenceCall } from '../types.js';
import { argsOf, dotted, namesPy, snip, stringPy, unwrapPy, walkPy, type PyNode } from './ast.js';

/** A Pydantic model declared in the module: does it let leaky parameters through? */
export interface PyClass {
  fields: Set<string>;
  extraAllow: boolean;
}

export interface PyModuleCtx {
  defs: Map<string, PyNode>;
  classes: Map<string, PyClass>;
  consts: Map<string, PyNode>;
  models: Map<string, InferenceCall['kind']>;
  imports: Map<string, ImportBinding>;
}

export interface PyInputs {
  request: Set<string>;
  body: Set<string>;
  /** Parameters typed with a module model that allows extra or leaky fields. */
  leakyModels: Set<string>;
}

const HTTP_CLIENT = /^(requests|httpx|aiohttp|urllib3|session|client|http|http_client|async_client|\w*_client|\w*_session|self\.\w*client|self\.\w*session)$/i;
const PASS_FUNCS = new Set(['list', 'dict', 'tuple', 'jsonify', 'JSONResponse', 'ORJSONResponse', 'Response', 'json.dumps', 'np.array', 'np.asarray', 'numpy.array', 'make_response', 'StreamingResponse', 'EventSourceResponse']);
const PASS_METHODS = new Set(['tolist', 'to_dict', 'model_dump', 'dict', 'json', 'copy', 'numpy', 'cpu', 'detach', 'flatten', 'model_dump_json', 'aiter_bytes', 'iter_content', 'aiter_raw', 'iter_lines', 'aiter_lines', 'aiter_text', 'iter_bytes', 'items', 'values']);
const RESPONSE_FUNCS = /^(jsonify|JSONResponse|ORJSONResponse|Response|StreamingResponse|EventSourceResponse|make_response|PlainTextResponse)$/;
const LOG_CALL = /^(logging|logger|log|\w*_logger|\w*_log|app\.logger|current_app\.logger|self\.logger|structlog)\.(info|warning|warn|debug|error|critical|exception|msg)$/;

const isStatus401 = (n: PyNode | null | undefined): boolean => {
  n = unwrapPy(n);
  return !!n && ((n.type === 'integer' && (n.text === '401' || n.text === '403')) || /HTTP_40[13]_/.test(n.text) && n.type === 'attribute');
};

const isSource = (n: PyNode | null, inp: PyInputs): boolean => {
  n = unwrapPy(n);
  if (!n) return false;
  const chain = dotted(n);
  if (n.type === 'call') {
    const m = /^(.*)\.(json|get_json|body|get_data|form)$/.exec(chain);
    if (m && (inp.request.has(m[1]!) || m[1] === 'request' || m[1] === 'flask.request')) return true;
    const d = /^(.*)\.(dict|model_dump)$/.exec(chain);
    if (d && inp.leakyModels.has(d[1]!)) return true;
  }
  return n.type === 'attribute' && /^(flask\.)?request\.(json|form)$/.test(chain);
};

export function analyzeDef(fn: PyNode, ctx: PyModuleCtx, inp: PyInputs, visited = new Set<PyNode>()): HandlerFacts {
  visited.add(fn);
  const facts = emptyFacts();
  const body = fn.fields.body;
  if (!body) return facts;
  const bodyNames = new Set(inp.body);
  const deleted = new Map<string, Set<string>>();
  const whole = new Map<string, InferenceCall['kind']>();
  const deep = new Map<string, InferenceCall['kind']>();
  const locals = new Map<string, PyNode>();

  const sinkOf = (n: PyNode | null): InferenceCall['kind'] | null => (n?.type === 'call' ? (callKind(n, ctx, locals)?.kind ?? null) : null);
  const wholeBody = (n: PyNode | null | undefined): boolean => {
    n = unwrapPy(n);
    if (!n) return false;
    if (isSource(n, inp)) return true;
    if (n.type === 'identifier') {
      const d = deleted.get(n.text);
      return bodyNames.has(n.text) && !(d && d.has('logit_bias') && (d.has('logprobs') || d.has('top_logprobs')));
    }
    if (n.type === 'dictionary') return n.children.some((c) => c.type === 'dictionary_splat' && wholeBody(c.children[0]));
    if (n.type === 'call') {
      const chain = dotted(n);
      const a = argsOf(n);
      if (['dict', 'copy.deepcopy', 'copy.copy', 'json.dumps', 'json.loads'].includes(chain)) return a.positional.some(wholeBody) || a.splats.some(wholeBody);
      if (/\.(copy|model_dump|dict)$/.test(chain)) return wholeBody(n.fields.function?.fields.object);
    }
    return false;
  };
  const carries = (n: PyNode | null | undefined, map: Map<string, InferenceCall['kind']>): InferenceCall['kind'] | null => {
    n = unwrapPy(n);
    if (!n) return null;
    switch (n.type) {
      case 'identifier':
        return map.get(n.text) ?? null;
      case 'attribute':
        return carries(n.fields.object, map);
      case 'subscript':
        return carries(n.fields.value, map);
      case 'call': {
        const s = sinkOf(n);
        if (s) return s;
        const chain = dotted(n);
        const a = argsOf(n);
        if (n.fields.function?.type === 'attribute' && PASS_METHODS.has(n.fields.function.fields.attribute?.text ?? '')) return carries(n.fields.function.fields.object, map);
        if (PASS_FUNCS.has(chain)) return [...a.positional, ...a.keywords.values()].map((x) => carries(x, map)).find(Boolean) ?? null;
        return null;
      }
      case 'dictionary':
        return n.children.map((p) => carries(p.type === 'pair' ? p.fields.value : p.children[0], map)).find(Boolean) ?? null;
      case 'list':
      case 'tuple':
      case 'expression_list':
        return n.children.map((c) => carries(c, map)).find(Boolean) ?? null;
      case 'list_comprehension':
      case 'generator_expression':
      case 'dictionary_comprehension': {
        const clause = n.children.find((c) => c.type === 'for_in_clause');
        const k = carries(clause?.fields.right, map);
        if (!k) return null;
        const inner = new Map(map);
        for (const id of namesPy(clause?.fields.left)) inner.set(id, k);
        return carries(n.fields.body ?? n.children[0], inner);
      }
      case 'string':
        return n.children.filter((c) => c.type === 'interpolation').map((c) => carries(c.children[0], map)).find(Boolean) ?? null;
      case 'conditional_expression':
        return n.children.map((c) => carries(c, map)).find(Boolean) ?? null;
      default:
        return null;
    }
  };
  const isWhole = (n: PyNode | null | undefined): InferenceCall['kind'] | null => {
    n = unwrapPy(n);
    if (!n) return null;
    if (n.type === 'identifier') return whole.get(n.text) ?? null;
    const s = sinkOf(n);
    if (s) return s;
    if (n.type === 'call') {
      const f = n.fields.function;
      const a = argsOf(n);
      if (f?.type === 'attribute' && PASS_METHODS.has(f.fields.attribute?.text ?? '')) return isWhole(f.fields.object);
      if (PASS_FUNCS.has(dotted(n))) return isWhole(a.positional[0] ?? a.keywords.get('content'));
    }
    if (n.type === 'attribute' && ['content', 'text'].includes(n.fields.attribute?.text ?? '')) {
      const k = isWhole(n.fields.object);
      return k === 'forward' ? k : null;
    }
    if (n.type === 'string') return n.children.filter((c) => c.type === 'interpolation').map((c) => isWhole(c.children[0])).find(Boolean) ?? null;
    return null;
  };

  const bind = (left: PyNode | undefined, right: PyNode | undefined) => {
    if (!left || !right) return;
    if (left.type !== 'identifier') return;
    locals.set(left.text, right);
    if (wholeBody(right)) bodyNames.add(left.text);
    const w = isWhole(right);
    if (w) whole.set(left.text, w);
    const d = carries(right, deep) ?? carries(right, whole);
    if (d) deep.set(left.text, d);
  };
  for (let pass = 0; pass < 2; pass++) {
    walkPy(body, (n) => {
      if (n.type === 'assignment') bind(n.fields.left, n.fields.right);
      else if (n.type === 'for_statement' || n.type === 'for_in_clause') {
        const w = isWhole(n.fields.right);
        if (w && n.fields.left?.type === 'identifier') whole.set(n.fields.left.text, w);
        const d = carries(n.fields.right, deep);
        if (d && n.fields.left?.type === 'identifier') deep.set(n.fields.left.text, d);
      } else if (n.type === 'call' && /\.pop$/.test(dotted(n))) {
        const obj = dotted(n.fields.function?.fields.object);
        const k = stringPy(argsOf(n).positional[0]);
        if (k) deleted.set(obj, (deleted.get(obj) ?? new Set()).add(k));
      } else if (n.type === 'delete_statement') {
        for (const t of n.children.flatMap((c) => (c.type === 'expression_list' ? c.children : [c]))) {
          if (t.type !== 'subscript') continue;
          const k = stringPy(t.fields.subscript);
          if (k) deleted.set(dotted(t.fields.value), (deleted.get(dotted(t.fields.value)) ?? new Set()).add(k));
        }
      }
    });
  }

  const responded = (arg: PyNode | null | undefined, at: PyNode) => {
    if (!arg) return;
    const w = isWhole(arg);
    if (w && w !== 'embeddings') facts.passthrough.push({ line: at.line, what: snip(at) });
    if ((carries(arg, deep) ?? carries(arg, whole)) === 'embeddings') facts.embeddingsReturned.push({ line: at.line, what: snip(at) });
  };

  walkPy(body, (n, parents) => {
    const nested = parents.some((p) => p.type === 'function_definition' || p.type === 'lambda');
    if ((n.type === 'return_statement' && !nested) || n.type === 'yield') responded(n.children[0], n);
    if (n.type === 'return_statement' && n.children[0]?.type === 'expression_list' && n.children[0].children.slice(1).some(isStatus401)) facts.guards.push({ kind: 'auth', line: n.line, what: snip(n) });
    if (n.type === 'keyword_argument' && LOGPROB_KEYS.has(n.fields.name?.text ?? '') && !/^(False|None|0)$/.test(n.fields.value?.text ?? '')) facts.logprobs.push({ line: n.line, what: snip(n) });
    if (n.type === 'pair' && LOGPROB_KEYS.has(stringPy(n.fields.key) ?? '') && !/^(False|None|0)$/.test(n.fields.value?.text ?? '')) facts.logprobs.push({ line: n.line, what: snip(n) });
    if (n.type === 'attribute' && LOGPROB_KEYS.has(n.fields.attribute?.text ?? '')) {
      const p = parents[parents.length - 1];
      const written = p?.type === 'assignment' && p.fields.left === n;
      if (!written && !parents.some((x) => x.type === 'delete_statement')) facts.logprobs.push({ line: n.line, what: snip(n) });
    }
    if (n.type !== 'call' || parents[parents.length - 1]?.type === 'decorator') return;
    const chain = dotted(n);
    const a = argsOf(n);
    const call = callKind(n, ctx, locals);
    if (call) {
      facts.inference.push({ line: n.line, what: call.what, kind: call.kind });
      const payloads = call.kind === 'forward' ? ['json', 'data', 'content'].map((k) => a.keywords.get(k)).filter((x): x is PyNode => !!x).concat(a.positional.slice(1)) : [...a.positional, ...a.keywords.values()];
      const leak = [...payloads, ...a.splats].find(wholeBody);
      if (leak) facts.unfiltered.push({ line: leak.line, what: a.splats.includes(leak) ? `**${snip(leak)}` : snip(leak) });
      return;
    }
    if (RESPONSE_FUNCS.test(chain)) responded(a.positional[0] ?? a.keywords.get('content'), n);
    const guard = guardOfCall(n, chain, a, ctx, locals);
    if (guard) facts.guards.push(guard);
    const helper = n.fields.function?.type === 'identifier' ? ctx.defs.get(chain) : undefined;
    if (helper && !visited.has(helper)) {
      const params = paramNames(helper);
      const sub: PyInputs = { request: new Set(), body: new Set(), leakyModels: new Set() };
      a.positional.forEach((x, i) => {
        const p = params[i];
        if (!p) return;
        if (wholeBody(x)) sub.body.add(p);
        if (inp.request.has(dotted(x))) sub.request.add(p);
        if (inp.leakyModels.has(dotted(x))) sub.leakyModels.add(p);
      });
      for (const [k, v] of a.keywords) {
        if (wholeBody(v)) sub.body.add(k);
        if (inp.request.has(dotted(v))) sub.request.add(k);
      }
      for (const s of a.splats) if (wholeBody(s)) for (const p of params) sub.body.add(p);
      mergeFacts(facts, analyzeDef(helper, ctx, sub, visited));
    }
  });
  return facts;
}

export function paramNames(fn: PyNode): string[] {
  return (fn.fields.parameters?.children ?? []).map((p) => (p.type === 'identifier' ? p.text : (p.fields.name?.text ?? p.children.find((c) => c.type === 'identifier')?.text ?? ''))).filter(Boolean);
}

/** The model call a call node makes, if any. */
export function callKind(n: PyNode, ctx: PyModuleCtx, locals: Map<string, PyNode> = new Map()): { kind: InferenceCall['kind']; what: string } | null {
  const chain = dotted(n);
  const what = `${chain}()`;
  if (n.fields.function?.type === 'identifier' && ctx.models.has(chain)) return { kind: ctx.models.get(chain)!, what };
  const kind = inferenceKindOfCall(chain);
  if (kind) return { kind, what };
  const m = /^(.*)\.(post|put|request|stream|urlopen)$/.exec(chain);
  if (m && (HTTP_CLIENT.test(m[1]!) || /^(httpx\.AsyncClient|httpx\.Client|aiohttp\.ClientSession)\(/.test(n.fields.function?.fields.object?.text ?? ''))) {
    const a = argsOf(n);
    const url = a.positional[m[2] === 'request' ? 1 : 0] ?? a.keywords.get('url');
    const pieces = namesPy(url);
    for (const p of [...pieces]) {
      const init = locals.get(p) ?? ctx.consts.get(p);
      if (init) pieces.push(...namesPy(init));
    }
    if (isInferenceUrl(pieces)) return { kind: isEmbeddingsUrl(pieces) ? 'embeddings' : 'forward', what };
  }
  return null;
}

function guardOfCall(n: PyNode, chain: string, a: ReturnType<typeof argsOf>, ctx: PyModuleCtx, locals: Map<string, PyNode>): Guard | null {
  const what = snip(n);
  const line = n.line;
  const last = chain.split('.').pop()!;
  if ((/HTTPException$|^abort$|Response$|^JSONResponse$/.test(chain) && [...a.positional, ...a.keywords.values()].some(isStatus401)) || (a.keywords.has('status_code') && isStatus401(a.keywords.get('status_code')))) return { kind: 'auth', line, what };
  if (isAuditName(chain)) return { kind: 'audit', line, what };
  if (LOG_CALL.test(chain)) {
    const names = [...a.positional, ...a.keywords.values()].flatMap((x) => namesPy(x));
    return names.some(isIdentityName) && names.some(isPromptName) ? { kind: 'audit', line, what } : null;
  }
  const obj = chain.slice(0, Math.max(0, chain.length - last.length - 1));
  if ((isRateLimitName(obj) && ['hit', 'limit', 'consume', 'check', 'acquire', 'test', 'allow', 'take'].includes(last)) || isRateLimitName(last)) {
    const names = [...a.positional, ...a.keywords.values()].flatMap((x) => namesPy(x));
    for (const nm of [...names]) {
      const init = locals.get(nm) ?? ctx.consts.get(nm);
      if (init) names.push(...namesPy(init));
    }
    return { kind: 'rate', key: classifyKey(names), line, what };
  }
  if (isAuthName(last) || /is_authenticated|verify_jwt_in_request|jwt\.decode/.test(chain)) return { kind: 'auth', line, what };
  return null;
}
