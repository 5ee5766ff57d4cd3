/**
 * Attacks on a watermarked text, for the robustness figures: random word replacement (an
 * uninformed paraphrase) and synonym randomization (an attacker who knows the synonym table and
 * redraws every table word, the informed attack a lexical watermark cannot survive).
 */

const WORD = /[A-Za-z]+(?:['’][A-Za-z]+)*/g;

/** Replaces each word, with probability `rate`, by a word drawn from `vocab`. */
export function replaceWords(text, rate, vocab, rand) {
  return text.replace(WORD, (w) => (rand() < rate ? vocab[Math.floor(rand() * vocab.length)] : w));
}

/** Replaces each table word, with probability `rate`, by a random member of its set (same slot and case). */
export function randomizeSynonyms(text, rate, lex, rand) {
  return text.replace(WORD, (w) => {
    const e = lex.lookup(w.toLowerCase());
    if (!e || rand() >= rate) return w;
    const forms = e.set.slots[e.slot].filter(Boolean);
    const f = forms[Math.floor(rand() * forms.length)];
    return w[0] === w[0].toUpperCase() ? f[0].toUpperCase() + f.slice(1) : f;
  });
}

/** Lowercase words of a corpus, for the replacement attack. */
export function vocabulary(texts) {
  const set = new Set();
  for (const t of texts) for (const w of t.match(WORD) ?? []) set.add(w.toLowerCase());
  return [...set];
}
