/**
 * Python parsing with tree-sitter (web-tree-sitter and the tree-sitter-python WASM grammar, both
 * from npm). The syntax tree is copied into plain objects and the WASM tree freed at once, so
 * the analysis holds no native memory and reads a small, stable node shape.
 */
import { createRequire } from 'node:module';
import { Language, Parser, type Node as TsNode } from 'web-tree-sitter';

/** A named node of the Python syntax tree. */
export interface PyNode {
  type: string;
  text: string;
  line: number;
  start: number;
  /** Children by field name (`function`, `arguments`, `name`, `body` ...). */
  fields: Record<string, PyNode>;
  /** Named children in order. */
  children: PyNode[];
}

let parser: Promise<Parser> | null = null;

async function makeParser(): Promise<Parser> {
  await Parser.init();
  const wasm = createRequire(import.meta.url).resolve('tree-sitter-python/tree-sitter-python.wasm');
  const p = new Parser();
  p.setLanguage(await Language.load(wasm));
  return p;
}

function copy(n: TsNode): PyNode {
  const out: PyNode = { type: n.type, text: n.text, line: n.startPosition.row + 1, start: n.startIndex, fields: {}, children: [] };
  const cursor = n.walk();
  if (cursor.gotoFirstChild()) {
    do {
      const c = cursor.currentNode;
      if (!c.isNamed) continue;
      const copied = copy(c);
      out.children.push(copied);
      const f = cursor.currentFieldName;
      if (f && !(f in out.fields)) out.fields[f] = copied;
    } while (cursor.gotoNextSibling());
  }
  cursor.delete();
  return out;
}

/** Parses Python source; syntax errors leave ERROR nodes in place, as tree-sitter does. */
export async function parsePython(text: string): Promise<PyNode> {
  parser ??= makeParser();
  const p = await parser;
  const tree = p.parse(text);
  if (!tree) throw new Error('tree-sitter returned no tree');
  try {
    return copy(tree.rootNode);
  } finally {
    tree.delete();
  }
}

/** Visits nodes depth-first; return false to skip a node's children. */
export function walkPy(n: PyNode, visit: (n: PyNode, parents: readonly PyNode[]) => boolean | void, parents: PyNode[] = []): void {
  if (visit(n, parents) === false) return;
  parents.push(n);
  for (const c of n.children) walkPy(c, visit, parents);
  parents.pop();
}

/** Strips `await`, parentheses. */
export function unwrapPy(n: PyNode | null | undefined): PyNode | null {
  while (n && (n.type === 'await' || n.type === 'parenthesized_expression')) n = n.children[0];
  return n ?? null;
}

/** `a.b.c` for attribute chains and calls on them; '?' for parts that are not names. */
export function dotted(n: PyNode | null | undefined): string {
  n = unwrapPy(n);
  if (!n) return '?';
  if (n.type === 'identifier') return n.text;
  if (n.type === 'attribute') return `${dotted(n.fields.object)}.${n.fields.attribute?.text ?? '?'}`;
  if (n.type === 'call') return dotted(n.fields.function);
  return '?';
}

/** The value of a plain string literal (f-strings: the literal parts joined), else null. */
export function stringPy(n: PyNode | null | undefined): string | null {
  n = unwrapPy(n);
  if (!n) return null;
  if (n.type === 'concatenated_string') return n.children.map(stringPy).join('');
  if (n.type !== 'string') return null;
  return n.children.filter((c) => c.type === 'string_content').map((c) => c.text).join('');
}

/** Identifiers, attribute names, string contents and dict keys inside a node. */
export function namesPy(n: PyNode | null | undefined): string[] {
  const out: string[] = [];
  if (!n) return out;
  walkPy(n, (x) => {
    if (x.type === 'identifier' || x.type === 'string_content') out.push(x.text);
  });
  return out;
}

/** Positional arguments and keyword arguments of a call. */
export function argsOf(call: PyNode): { positional: PyNode[]; keywords: Map<string, PyNode>; splats: PyNode[] } {
  const positional: PyNode[] = [];
  const keywords = new Map<string, PyNode>();
  const splats: PyNode[] = [];
  for (const a of call.fields.arguments?.children ?? []) {
    if (a.type === 'keyword_argument') keywords.set(a.fields.name?.text ?? '', a.fields.value!);
    else if (a.type === 'dictionary_splat' || a.type === 'list_splat') splats.push(a.children[0]!);
    else if (a.type !== 'comment') positional.push(a);
  }
  return { positional, keywords, splats };
}

export const snip = (n: PyNode, max = 60): string => {
  const s = n.text.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
};

/** The function definition inside a (possibly decorated) definition. */
export function defOf(n: PyNode): PyNode | null {
  if (n.type === 'function_definition') return n;
  if (n.type === 'decorated_definition') return n.fields.definition?.type === 'function_definition' ? n.fields.definition : null;
  return null;
}
