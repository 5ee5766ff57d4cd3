/**
 * Part-of-speech tagging for the watermark: the contract the pure logic needs, and its adapter on
 * wink-nlp's English model (a maintained averaged-perceptron tagger that runs in-process, about
 * 100k tokens/s on one core here). The model loads once per process (about 0.7 s).
 */
import winkNLP from 'wink-nlp';
import model from 'wink-eng-lite-web-model';

/** One tagged token: where it starts in the text and its universal POS tag (NOUN, VERB, ADJ, ADV ...). */
export interface TaggedToken {
  start: number;
  text: string;
  pos: string;
}

export interface Tagger {
  /** Tags one sentence. Tokens come in order; `start` is the offset of the token in `text`. */
  tag(text: string): TaggedToken[];
}

let nlp: ReturnType<typeof winkNLP> | null = null;

/** Loads the model now rather than on the first sentence (the gateway does this at start when the watermark may be on). */
export function loadWink(): void {
  nlp ??= winkNLP(model, ['pos']);
}

/** The wink-nlp tagger; the model loads on first use. */
export function winkTagger(): Tagger {
  return {
    tag(text) {
      loadWink();
      const w = nlp!;
      const toks = w.readDoc(text).tokens();
      const values = toks.out(w.its.value) as string[];
      const tags = toks.out(w.its.pos) as string[];
      const out: TaggedToken[] = [];
      let at = 0;
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        const start = text.indexOf(v, at);
        if (start < 0) continue; // the tokenizer normalized this token; it is never a word we swap
        out.push({ start, text: v, pos: tags[i]! });
        at = start + v.length;
      }
      return out;
    },
  };
}
