/**
 * A thin layer over oxc-parser's ESTree output: parsing, a generic walk, dotted names of calls,
 * and line numbers. The rest of the JavaScript front-end sees only these helpers.
 */
import { parseSync } from 'oxc-parser';

/** An ESTree node as oxc-parser returns it; fields are read through the helpers below. */
export interface Node {
  type: string;
  start: number;
  end: number;
  [field: string]: unknown;
}

export interface ParsedJs {
  program: Node;
  lineOf(offset: number): number;
  errors: string[];
}

export function isNode(v: unknown): v is Node {
  return !!v && typeof v === 'object' && typeof (v as Node).type === 'string';
}

/** The child node (or null) in a field. */
export function child(n: Node, field: string): Node | null {
  const v = n[field];
  return isNode(v) ? v : null;
}

/** The child nodes in an array field (holes and non-nodes skipped). */
export function children(n: Node, field: string): Node[] {
  const v = n[field];
  return Array.isArray(v) ? v.filter(isNode) : [];
}

export function parseJs(file: string, text: string): ParsedJs {
  const lang = /\.tsx$/.test(file) ? 'tsx' : /\.(ts|mts|cts)$/.test(file) ? 'ts' : 'jsx';
  const r = parseSync(file, text, { lang, sourceType: 'unambiguous' });
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  const lineOf = (offset: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  return { program: r.program as unknown as Node, lineOf, errors: r.errors.map((e) => e.message) };
}

/**
 * Visits every node under `root` depth-first. Return false from `visit` to skip a node's
 * children; `parents` holds the ancestors, nearest last.
 */
export function walk(root: Node, visit: (n: Node, parents: readonly Node[]) => boolean | void): void {
  const parents: Node[] = [];
  const go = (n: Node) => {
    if (visit(n, parents) === false) return;
    parents.push(n);
    for (const k of Object.keys(n)) {
      if (k === 'type' || k === 'start' || k === 'end') continue;
      const v = n[k];
      if (Array.isArray(v)) {
        for (const x of v) if (isNode(x)) go(x);
      } else if (isNode(v)) go(v);
    }
    parents.pop();
  };
  go(root);
}

const WRAPPERS = new Set(['AwaitExpression', 'ParenthesizedExpression', 'TSAsExpression', 'TSSatisfiesExpression', 'TSNonNullExpression', 'ChainExpression', 'TSTypeAssertion']);

/** Strips `await`, parentheses, `as T`, `!` and optional chaining around an expression. */
export function unwrap(n: Node | null): Node | null {
  while (n && WRAPPERS.has(n.type)) n = child(n, 'expression') ?? child(n, 'argument');
  return n;
}

/** `a.b.c` for member chains, `a.b` for `a.b()`, `new X` -> `X`; '?' stands for a part that is not a name. */
export function chainOf(n: Node | null): string {
  n = unwrap(n);
  if (!n) return '?';
  switch (n.type) {
    case 'Identifier':
      return n.name as string;
    case 'ThisExpression':
      return 'this';
    case 'MemberExpression': {
      const prop = child(n, 'property')!;
      const name = n.computed ? (prop.type === 'Literal' ? String(prop.value) : '?') : (prop.name as string);
      return `${chainOf(child(n, 'object'))}.${name}`;
    }
    case 'CallExpression':
      return chainOf(child(n, 'callee'));
    case 'NewExpression':
      return chainOf(child(n, 'callee'));
    default:
      return '?';
  }
}

/** The string value of a literal or a template without expressions, else null. */
export function stringOf(n: Node | null): string | null {
  n = unwrap(n);
  if (!n) return null;
  if (n.type === 'Literal' && typeof n.value === 'string') return n.value;
  if (n.type === 'TemplateLiteral' && children(n, 'expressions').length === 0) {
    return children(n, 'quasis').map((q) => (q.value as { cooked: string }).cooked).join('');
  }
  return null;
}

/** Every identifier name, property name and string piece inside an expression (for name heuristics). */
export function namesIn(n: Node | null): string[] {
  const out: string[] = [];
  if (!n) return out;
  walk(n, (x) => {
    if (x.type === 'Identifier') out.push(x.name as string);
    else if (x.type === 'Literal' && typeof x.value === 'string') out.push(x.value);
    else if (x.type === 'TemplateElement') out.push((x.value as { cooked: string }).cooked);
  });
  return out;
}

export const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

export function isFunction(n: Node | null): boolean {
  return !!n && FUNCTION_TYPES.has(n.type);
}

/** The name of a property key (identifier or string literal). */
export function keyName(prop: Node): string | null {
  const k = child(prop, 'key');
  if (!k) return null;
  if (k.type === 'Identifier') return k.name as string;
  return stringOf(k);
}

/** The value of property `name` in an object expression, else null. */
export function propOf(obj: Node | null, name: string): Node | null {
  obj = unwrap(obj);
  if (!obj || obj.type !== 'ObjectExpression') return null;
  for (const p of children(obj, 'properties')) if (p.type === 'Property' && keyName(p) === name) return child(p, 'value');
  return null;
}

/** A short, one-line rendering of a node's source, for finding messages. */
export function snippet(text: string, n: Node, max = 60): string {
  const s = text.slice(n.start, n.end).replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
