/**
 * Embedding: at each position the scanner finds, write the member of the synonym set that the
 * key picks for the context. `WatermarkWriter` does it incrementally for a stream: it holds back
 * only the part of the current sentence that starts at the first word that is (or may still become)
 * a table word, and releases everything else at once. Whole answers go through the same writer,
 * so a stream cut anywhere gives the same text as the whole answer.
 *
 * @example
 *   const w = new WatermarkWriter(defaultLexicon(), winkTagger(), key);
 *   const out = w.push('It is a big') + w.push(' house. ') + w.end();
 */
import type { WatermarkKey } from './keys.js';
import type { Lexicon } from './lexicon.js';
import { countWords, decideMode, initialState, rewrite, scanSegment, segmentEnd, type Position, type ScanState } from './scan.js';
import type { Tagger } from './tagger.js';

export interface EmbedStats {
  /** Words seen (runs of letters), positions where the key chose, and words actually changed. */
  words: number;
  positions: number;
  changed: number;
}

const WORD_G = /[A-Za-z]+(?:['’][A-Za-z]+)*/g;

export class WatermarkWriter {
  private buf = '';
  /** Characters at the start of `buf` already released (all before the first word held back). */
  private released = 0;
  private readonly state: ScanState = initialState();
  readonly stats: EmbedStats = { words: 0, positions: 0, changed: 0 };

  constructor(
    private readonly lex: Lexicon,
    private readonly tagger: Tagger,
    private readonly key: WatermarkKey,
  ) {}

  /** Adds streamed text; returns what may be sent now (possibly ''). */
  push(delta: string): string {
    if (!delta) return '';
    this.buf += delta;
    return this.drain(false);
  }

  /** Ends the answer; returns everything still held back. */
  end(): string {
    return this.drain(true);
  }

  /** True while text is held back. */
  get pending(): boolean {
    return this.buf.length > this.released;
  }

  private choose = (p: Position): number => p.alts[this.key.select(p.context, p.entry.set.id, p.alts.length)]!;

  private drain(final: boolean): string {
    decideMode(this.state, this.buf);
    if (this.state.mode === 'json') {
      const out = this.buf.slice(this.released);
      this.buf = '';
      this.released = 0;
      return out;
    }
    let out = '';
    for (;;) {
      const end = segmentEnd(this.buf, 0, this.state, final);
      if (end <= 0) break;
      const seg = this.buf.slice(0, end);
      const positions = scanSegment(seg, this.state, this.lex, this.tagger);
      const { text, changed } = rewrite(seg, positions, this.lex, this.choose);
      this.stats.words += countWords(seg);
      this.stats.positions += positions.length;
      this.stats.changed += changed;
      out += text.slice(this.released);
      this.buf = this.buf.slice(end);
      this.released = 0;
    }
    if (!final) {
      const safe = this.safePrefix();
      if (safe > this.released) {
        out += this.buf.slice(this.released, safe);
        this.released = safe;
      }
    }
    return out;
  }

  /** How much of the pending segment is final: up to the first word that is or may become a table word. */
  private safePrefix(): number {
    // Whitespace before the first word, the first sentence, JSON answers and code lines are never changed.
    if (this.state.mode !== 'text' || this.state.inFence || this.state.prose === 0) return this.buf.length;
    WORD_G.lastIndex = this.released;
    for (let m = WORD_G.exec(this.buf); m; m = WORD_G.exec(this.buf)) {
      const lower = m[0].toLowerCase();
      const atEnd = m.index + m[0].length === this.buf.length;
      if (this.lex.lookup(lower) || (atEnd && this.lex.mayBecomeForm(lower))) return m.index;
    }
    return this.buf.length;
  }
}

/** Watermarks a whole text. */
export function embedText(text: string, lex: Lexicon, tagger: Tagger, key: WatermarkKey): { text: string; stats: EmbedStats } {
  const w = new WatermarkWriter(lex, tagger, key);
  const out = w.push(text) + w.end();
  return { text: out, stats: w.stats };
}
