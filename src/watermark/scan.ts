/**
 * Finds the places in a text where the watermark may choose a word: a word of the synonym table,
 * in prose (not in fenced or inline code, URLs, e-mail addresses, quoted text, JSON lines), not a
 * proper noun (capitalized in mid-sentence or tagged PROPN), not part of a compound (big-ticket),
 * and tagged by the tagger with the part of speech of its set. The first sentence of an answer is
 * never marked, so that a stream's first words are never held back (time to first token).
 *
 * Text is cut into segments (a sentence, a line, a code line) by `segmentEnd`, a rule that looks at
 * most one character ahead, so a stream cut anywhere yields the same segments as the whole text.
 * The tagger sees each segment with every candidate word replaced by its set's first member: the
 * tags, and so the positions, are the same whichever member the text holds. This is what lets the
 * detector find exactly the positions the embedder used.
 */
import { UD_TAG, type FormEntry, type Lexicon } from './lexicon.js';
import type { Tagger } from './tagger.js';

/** How many preceding words form the context that keys a choice. */
export const CONTEXT_WORDS = 1;
/** A segment never grows past this many characters: long lines without sentences are cut at a space. */
export const MAX_SEGMENT = 1200;

export interface ScanState {
  /** `json`: the answer is JSON and is left alone; `start`: nothing but whitespace seen yet. */
  mode: 'start' | 'text' | 'json';
  inFence: boolean;
  lineStart: boolean;
  /** The current line is JSON or markup ({ [ < at its start). */
  protectLine: boolean;
  inInline: boolean;
  inQuote: boolean;
  /** The last context tokens, oldest first. */
  prev: string[];
  /** Prose segments scanned so far. The first is never marked, so a stream's first words go out at once. */
  prose: number;
}

export function initialState(): ScanState {
  return { mode: 'start', inFence: false, lineStart: true, protectLine: false, inInline: false, inQuote: false, prev: ['^'], prose: 0 };
}

/** A place where the watermark chooses, in segment offsets. */
export interface Position {
  start: number;
  end: number;
  entry: FormEntry;
  /** Members that may stand here (table order); always holds `entry.member`, at least two. */
  alts: number[];
  /** The keyed context: the set and the preceding words, as written with table words replaced by their set. */
  context: string;
}

const FENCE = /^[ \t]{0,3}(```|~~~)/;
const CLOSERS = new Set(['"', "'", '”', '’', ')', ']', '*', '_']);
const BAD_NEIGHBOUR = /[-_/@\\&+=#$%^~`0-9A-Za-z]/;
const URL_AT = /^(?:https?:\/\/|www\.)[^\s<>"'`)\]]+/i;
const WORD_AT = /^[A-Za-z]+(?:['’][A-Za-z]+)*/;
const NUMBER_AT = /^[0-9][0-9.,:]*/;

/**
 * Decides the mode of an answer from its first non-space character: an answer that starts as JSON
 * is left alone whole. Returns the state unchanged while only whitespace has been seen.
 */
export function decideMode(state: ScanState, text: string): void {
  if (state.mode !== 'start') return;
  const m = /\S/.exec(text);
  if (m) state.mode = m[0] === '{' || m[0] === '[' ? 'json' : 'text';
}

/**
 * End (exclusive) of the segment that starts at `from`, or -1 when more text is needed to know.
 * With `final`, the rest of the text is one segment.
 */
export function segmentEnd(buf: string, from: number, state: ScanState, final: boolean): number {
  if (from >= buf.length) return -1;
  const limit = Math.min(buf.length, from + MAX_SEGMENT);
  for (let i = from; i < limit; i++) {
    const c = buf[i];
    if (c === '\n') return i + 1;
    if (state.inFence || (c !== '.' && c !== '!' && c !== '?')) continue;
    let j = i + 1;
    while (j < buf.length && CLOSERS.has(buf[j]!)) j++;
    if (j >= buf.length) return final ? buf.length : -1;
    if (buf[j] === ' ' || buf[j] === '\t') return j + 1;
    i = j - 1;
  }
  if (limit === from + MAX_SEGMENT) {
    const cut = buf.lastIndexOf(' ', limit - 1);
    return cut > from ? cut + 1 : limit;
  }
  return final ? buf.length : -1;
}

interface Word {
  start: number;
  end: number;
  lower: string;
  /** Inside quotes, inline code or a JSON/markup line: read for context, never changed. */
  frozen: boolean;
  /** Index of this word's context token. */
  token: number;
}

/** Context token of a word: table words stand for their set, so a swap never changes a context. */
function contextToken(lex: Lexicon, lower: string): string {
  const e = lex.lookup(lower);
  return e ? `#${e.set.id}` : lower;
}

function caseOk(word: string, first: boolean): boolean {
  if (word === word.toLowerCase()) return true;
  // Capitalized: only as the first word of a sentence; otherwise a name, a title or an acronym.
  return first && word[0] === word[0]!.toUpperCase() && word.slice(1) === word.slice(1).toLowerCase();
}

function matchCase(model: string, form: string): string {
  return model[0] !== model[0]!.toLowerCase() ? form[0]!.toUpperCase() + form.slice(1) : form;
}

/** Applies the state changes of a fence segment or returns false when the segment is prose. */
function fenceSegment(seg: string, state: ScanState): boolean {
  if (state.inFence) {
    if (state.lineStart && FENCE.test(seg)) state.inFence = false;
  } else if (state.lineStart && FENCE.test(seg)) {
    state.inFence = true;
  } else return false;
  state.lineStart = seg.endsWith('\n');
  state.prev = ['<code>'];
  return true;
}

/** Reads the words of a prose segment, updating line, quote and code state as it goes. */
function readWords(seg: string, state: ScanState, lex: Lexicon, tokens: string[]): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i < seg.length) {
    const c = seg[i]!;
    if (c === '\n') {
      state.lineStart = true;
      state.inInline = state.inQuote = state.protectLine = false;
      i++;
      continue;
    }
    if (state.lineStart && c !== ' ' && c !== '\t') {
      state.lineStart = false;
      state.protectLine = '{[<}]'.includes(c);
    }
    if (c === '`') state.inInline = !state.inInline;
    else if (c === '"') state.inQuote = !state.inQuote;
    else if (c === '“') state.inQuote = true;
    else if (c === '”') state.inQuote = false;
    const prevChar = i > 0 ? seg[i - 1]! : ' ';
    const rest = seg.slice(i, i + 300);
    const url = /[A-Za-z0-9]/.test(prevChar) ? null : URL_AT.exec(rest);
    if (url) {
      tokens.push('<url>');
      i += url[0].length;
      continue;
    }
    const word = WORD_AT.exec(rest);
    if (word && !/[A-Za-z0-9]/.test(prevChar)) {
      const end = i + word[0].length;
      if (seg[end] === '@') {
        const span = /^\S+/.exec(seg.slice(i))![0];
        tokens.push('<email>');
        i += span.length;
        continue;
      }
      const lower = word[0].toLowerCase();
      words.push({ start: i, end, lower, frozen: state.inInline || state.inQuote || state.protectLine, token: tokens.length });
      tokens.push(state.inInline ? '<code>' : contextToken(lex, lower));
      i = end;
      continue;
    }
    const num = /[A-Za-z]/.test(prevChar) ? null : NUMBER_AT.exec(rest);
    if (num) {
      tokens.push('<num>');
      i += num[0].length;
      continue;
    }
    i++;
  }
  return words;
}

/**
 * Scans one complete segment: returns its watermark positions and advances `state` past it.
 * Segments must be fed in order, each cut by `segmentEnd`.
 */
export function scanSegment(seg: string, state: ScanState, lex: Lexicon, tagger: Tagger, contextWords = CONTEXT_WORDS): Position[] {
  decideMode(state, seg);
  if (state.mode !== 'text') return [];
  if (fenceSegment(seg, state)) return [];

  const tokens: string[] = [...state.prev];
  const words = readWords(seg, state, lex, tokens);
  state.prev = tokens.slice(-contextWords);
  if (words.length > 0 && state.prose++ === 0) return [];

  const candidates: { w: Word; entry: FormEntry; idx: number }[] = [];
  words.forEach((w, idx) => {
    if (w.frozen) return;
    const entry = lex.lookup(w.lower);
    if (!entry) return;
    const text = seg.slice(w.start, w.end);
    if (!caseOk(text, idx === 0)) return;
    const before = w.start > 0 ? seg[w.start - 1]! : ' ';
    const after = seg[w.end] ?? ' ';
    if (BAD_NEIGHBOUR.test(before) || BAD_NEIGHBOUR.test(after)) return;
    if (after === '.' && /[A-Za-z0-9]/.test(seg[w.end + 1] ?? '')) return;
    candidates.push({ w, entry, idx });
  });
  if (candidates.length === 0) return [];

  // Tag the segment with every candidate written as its set's first member.
  let norm = '';
  let at = 0;
  const normStart: number[] = [];
  for (const c of candidates) {
    norm += seg.slice(at, c.w.start);
    normStart.push(norm.length);
    norm += matchCase(seg.slice(c.w.start, c.w.end), lex.canonical(c.entry));
    at = c.w.end;
  }
  norm += seg.slice(at);
  const tags = new Map<number, string>();
  for (const t of tagger.tag(norm)) tags.set(t.start, t.pos);

  const out: Position[] = [];
  candidates.forEach((c, k) => {
    if (tags.get(normStart[k]!) !== UD_TAG[c.entry.set.pos]) return;
    const prevWord = c.idx > 0 ? words[c.idx - 1]! : null;
    const gap = prevWord ? seg.slice(prevWord.end, c.w.start) : '';
    const article = prevWord && /^[\s*_]+$/.test(gap) && (prevWord.lower === 'a' || prevWord.lower === 'an') ? (prevWord.lower as 'a' | 'an') : null;
    const alts = lex.alternatives(c.entry, article);
    if (alts.length < 2 || !alts.includes(c.entry.member)) return;
    const context = tokens.slice(Math.max(0, c.w.token - contextWords), c.w.token).join(' ');
    out.push({ start: c.w.start, end: c.w.end, entry: c.entry, alts, context });
  });
  return out;
}

/** Rewrites a segment: position p takes member `choose(p)` of its set, in the original's case. */
export function rewrite(seg: string, positions: readonly Position[], lex: Lexicon, choose: (p: Position) => number): { text: string; changed: number } {
  let out = '';
  let at = 0;
  let changed = 0;
  for (const p of positions) {
    const m = choose(p);
    out += seg.slice(at, p.start);
    if (m === p.entry.member) out += seg.slice(p.start, p.end);
    else {
      out += matchCase(seg.slice(p.start, p.end), lex.form(p.entry.set, p.entry.slot, m)!);
      changed++;
    }
    at = p.end;
  }
  return { text: out + seg.slice(at), changed };
}

/** Counts words the way the change fraction is reported: runs of letters. */
export function countWords(text: string): number {
  return text.match(/[A-Za-z]+(?:['’][A-Za-z]+)*/g)?.length ?? 0;
}
