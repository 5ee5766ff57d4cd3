/**
 * Per-query features, computed once per request in one pass over the prompt text: word
 * hashes, a MinHash signature, template keys (prefix, suffix, skeleton), character
 * statistics for naturalness, and hashed features for the trained signature model.
 * Pure. This runs on the request path, so it writes into a reusable {@link QueryFeatures}
 * of fixed-size typed arrays instead of allocating per request.
 */
import { fnv1a, mix2 } from './hash.js';

/** MinHash signature length (one-permutation hashing: one hash per shingle, K bins). */
export const MINHASH_K = 16;
/** Words in a template prefix/suffix key. Short enough for real templates, longer than a habit like "Please rewrite:". */
export const AFFIX_WORDS = 6;
/** Hashed feature space of the signature model. */
export const SIG_DIM = 8192;
const SIG_BITS = 13;
/** Bigrams kept per query for the diversity sketch. */
export const MAX_BIGRAMS = 48;
/** Distinct words kept per query for edit-distance comparisons. */
export const BAG_SIZE = 48;
/** Words that feed the signature model. */
export const MAX_SIG_WORDS = 160;
/** Content words (from the first MAX_TERMS words) that place a query's topic: enough for a topic, cheap to embed. */
export const MAX_TERMS = 96;

const MAX_WORDS = 768;
const MAX_SIG = MAX_SIG_WORDS * 2 + 8;
const NUM = 0x4e554d00; // a number, masked
const QUOTE = 0x51544500; // a quoted span, masked
const LONG_LINE = 0x4c4f4e47; // a long line of variable content, masked
const LONG_LINE_WORDS = 12;
const QUOTE_SPAN = 300;
const EMPTY_BIN = 0x7fffffff;
const FNV_BASIS = 0x811c9dc5 | 0;

// Common English function words (written for this project): natural text is full of them,
// random token sequences and code are not. Kept in an open-addressing table of their hashes.
const STOP_WORDS =
  'a an the and or but if then else of to in on at by for with from as is are was were be been being am do does did ' +
  'have has had i you he she it we they me him her us them my your his its our their this that these those what which ' +
  'who whom whose when where why how not no yes so than too very can could will would shall should may might must ' +
  'about into over under after before between through during out up down off again there here all any both each few ' +
  'more most other some such only own same just also now one two get make like give tell write please';
const STOP_BITS = 9;
const STOP_TABLE = new Int32Array(1 << STOP_BITS);
for (const w of STOP_WORDS.split(' ')) {
  let i = Math.imul(fnv1a(w), 0x9e3779b1) >>> (32 - STOP_BITS);
  while (STOP_TABLE[i] !== 0) i = (i + 1) & ((1 << STOP_BITS) - 1);
  STOP_TABLE[i] = fnv1a(w);
}

function isStop(w: number): boolean {
  let i = Math.imul(w, 0x9e3779b1) >>> (32 - STOP_BITS);
  for (;;) {
    const v = STOP_TABLE[i]!;
    if (v === w) return w !== 0;
    if (v === 0) return false;
    i = (i + 1) & ((1 << STOP_BITS) - 1);
  }
}

// Character classes for every UTF-16 code unit, and the offset that folds upper case to lower
// case (ASCII, Latin-1, Greek, Cyrillic): one table lookup per character in the hot loop.
const WORD = 1;
const DIGIT = 2;
const VOWEL = 4;
const LETTER = 8;
const SPACE = 16;
const NEWLINE = 32;
const SPECIAL = 64; // ' . " “ ?: handled one by one
const CLASS = new Uint8Array(65536);
const FOLD = new Uint8Array(65536);
{
  for (let c = 0xc0; c < 0x2000; c++) if (c !== 0xd7 && c !== 0xf7) CLASS[c] = WORD | LETTER;
  for (let c = 48; c <= 57; c++) CLASS[c] = WORD | DIGIT;
  for (let c = 97; c <= 122; c++) CLASS[c] = WORD | LETTER;
  for (let c = 65; c <= 90; c++) {
    CLASS[c] = WORD | LETTER;
    FOLD[c] = 32;
  }
  for (const v of 'aeiouyAEIOUY') CLASS[v.charCodeAt(0)]! |= VOWEL;
  for (let c = 0xc0; c <= 0xde; c++) if (c !== 0xd7) FOLD[c] = 32;
  for (let c = 0x391; c <= 0x3a9; c++) FOLD[c] = 32;
  for (let c = 0x410; c <= 0x42f; c++) FOLD[c] = 32;
  for (let c = 0x400; c <= 0x40f; c++) FOLD[c] = 80;
  CLASS[32] = CLASS[9] = CLASS[13] = SPACE;
  CLASS[10] = NEWLINE;
  for (const c of [39, 46, 34, 0x201c, 63]) CLASS[c] = SPECIAL;
}

/** The features of one query. Reused across requests: consumers copy what they keep. */
export class QueryFeatures {
  /** Words seen (capped). */
  words = 0;
  chars = 0;
  /** Exact hash of the normalised text, and the same with every number masked (counters). */
  exactKey = 0;
  numMaskedKey = 0;
  /** Template keys; 0 when the prompt is too short to have one. */
  prefixKey = 0;
  suffixKey = 0;
  skeletonKey = 0;
  readonly minhash = new Int32Array(MINHASH_K);
  /** Sorted distinct word hashes (the first BAG_SIZE), for "small edit" comparisons. */
  readonly bag = new Int32Array(BAG_SIZE);
  bagLen = 0;
  /** Word-bigram hashes, for the diversity sketch. */
  readonly bigrams = new Int32Array(MAX_BIGRAMS);
  bigramLen = 0;
  /** Hashes of the words that are not stop words or numbers, for the lexical embedding. */
  readonly terms = new Int32Array(MAX_TERMS);
  termLen = 0;
  /** Indices into the signature model's hashed feature space. */
  readonly sigIdx = new Uint16Array(MAX_SIG);
  sigLen = 0;
  stopRatio = 0;
  /** 0 (reads like language) .. 1 (looks like random tokens). */
  unnatural = 0;
}

// Scratch buffers reused across calls (one request is analysed at a time on the event loop).
// The text is copied into UTF-16 code units in one native call: reading a typed array in the
// loop is several times cheaper than String.prototype.charCodeAt.
/** Characters analysed per prompt (promptText already clips to about 4 KB). */
export const MAX_CHARS = 16_384;
const textBytes = Buffer.alloc(MAX_CHARS * 2);
const units = new Uint16Array(textBytes.buffer, textBytes.byteOffset, MAX_CHARS);
const wordBuf = new Int32Array(MAX_WORDS);
const maskedBuf = new Int32Array(MAX_WORDS);
const stopBuf = new Uint8Array(MAX_WORDS);
const lineOf = new Uint16Array(MAX_WORDS);
const tplBuf = new Int32Array(MAX_WORDS);
// Per-text counters filled by tokenize(): words, stop words, vowel-less words, alphabetic words,
// characters in words, spaces, other characters, newlines, "1." markers, question marks.
const N = 0;
const STOPS = 1;
const VOWELLESS = 2;
const ALPHA = 3;
const WORD_CHARS = 4;
const SPACES = 5;
const OTHER = 6;
const NEWLINES = 7;
const NUMBERED = 8;
const QUESTIONS = 9;
const st = new Int32Array(10);
const tplLine = new Uint16Array(MAX_WORDS);


/** A short excerpt of a prompt, kept as evidence. */
export function excerpt(text: string): string {
  return text.length > 160 ? text.slice(0, 157) + '...' : text;
}

/** Computes the features of one prompt text into `out` (a fresh object when omitted). */
export function extractFeatures(text: string, out: QueryFeatures = new QueryFeatures()): QueryFeatures {
  const n = tokenize(text);
  out.words = n;
  out.chars = text.length;
  // Identity keys of the whole text: a multiplicative chain is enough (no need to spread bits).
  let exactKey = 0x65786163;
  let numMaskedKey = 0x6e756d6b;
  for (let i = 0; i < n; i++) {
    exactKey = Math.imul(exactKey ^ wordBuf[i]!, 0x01000193);
    numMaskedKey = Math.imul(numMaskedKey ^ maskedBuf[i]!, 0x01000193);
  }
  out.exactKey = mix2(exactKey, n);
  out.numMaskedKey = mix2(numMaskedKey, n);
  templateKeys(out, n);
  minhash(out.minhash, n);

  // Distinct word bag (sorted insertion; the first BAG_SIZE distinct words), bigrams.
  const bag = out.bag;
  let nb = 0;
  for (let i = 0; i < n && nb < BAG_SIZE; i++) {
    const w = wordBuf[i]!;
    let lo = 0;
    let hi = nb;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bag[mid]! < w) lo = mid + 1;
      else hi = mid;
    }
    if (lo < nb && bag[lo] === w) continue;
    for (let j = nb; j > lo; j--) bag[j] = bag[j - 1]!;
    bag[lo] = w;
    nb++;
  }
  out.bagLen = nb;
  const ng = Math.min(MAX_BIGRAMS, Math.max(0, n - 1));
  for (let i = 0; i < ng; i++) out.bigrams[i] = mix2(wordBuf[i]!, wordBuf[i + 1]!);
  out.bigramLen = ng;

  // Topic terms and signature-model features from the first words.
  const sig = out.sigIdx;
  let ns = 0;
  let nt = 0;
  const nw = Math.min(n, MAX_SIG_WORDS);
  for (let i = 0; i < nw; i++) {
    const w = wordBuf[i]!;
    if (i < MAX_TERMS && stopBuf[i] === 0 && maskedBuf[i] !== NUM) out.terms[nt++] = w;
    // Multiplicative hashing: the top bits of the product are well mixed.
    sig[ns++] = Math.imul(w ^ 0x2f1a5e37, 0x9e3779b1) >>> (32 - SIG_BITS);
    if (i + 1 < nw) sig[ns++] = Math.imul(maskedBuf[i]! ^ Math.imul(maskedBuf[i + 1]!, 0x85ebca6b), 0x9e3779b1) >>> (32 - SIG_BITS);
  }
  out.termLen = nt;
  const stopRatio = n > 0 ? st[STOPS]! / n : 0;
  sig[ns++] = shape(1, Math.min(12, Math.round(Math.log2(1 + n))));
  sig[ns++] = shape(2, Math.min(8, st[NEWLINES]!));
  sig[ns++] = shape(3, Math.min(8, st[NUMBERED]!));
  sig[ns++] = shape(4, Math.min(4, st[QUESTIONS]!));
  sig[ns++] = shape(5, Math.min(10, Math.round(stopRatio * 10)));
  out.sigLen = ns;

  const nonSpace = st[WORD_CHARS]! + st[OTHER]!;
  const alpha = st[ALPHA]!;
  out.stopRatio = stopRatio;
  out.unnatural = unnaturalness(n, stopRatio, nonSpace > 0 ? st[OTHER]! / nonSpace : 0, alpha > 0 ? st[VOWELLESS]! / alpha : 0, n > 0 ? st[WORD_CHARS]! / n : 0, st[SPACES]! + st[NEWLINES]!, Math.min(text.length, MAX_CHARS));
  return out;
}

/**
 * Splits the text into words (hashed with FNV-1a over folded code units) in one pass, filling
 * wordBuf, maskedBuf (numbers and quoted spans masked), stopBuf, lineOf and the counters in
 * `st`. Returns the number of words kept.
 */
function tokenize(text: string): number {
  st.fill(0);
  const L = textBytes.write(text.length > MAX_CHARS ? text.slice(0, MAX_CHARS) : text, 0, 'utf16le') >>> 1;
  let line = 0;
  let quoteEnd = -1;
  // Where the next closing quote is, for straight and curly quotes: each cursor only moves
  // forward, so finding quoted spans stays linear whatever the text.
  let nextStraight = -1;
  let nextCurly = -1;
  let h = FNV_BASIS;
  let len = 0;
  let flags = 0;
  for (let i = 0; i < L; i++) {
    const c = units[i]!;
    const k = CLASS[c]!;
    if (k & WORD) {
      h = Math.imul(h ^ (c + FOLD[c]!), 0x01000193);
      len++;
      flags |= k;
      continue;
    }
    if (len > 0) {
      if (c === 39 && i + 1 < L && CLASS[units[i + 1]!]! & WORD) continue; // don't, it's
      if (c === 46 && !(flags & LETTER)) st[NUMBERED]!++; // "1." list markers
      endWord(h | 0, len, flags, i <= quoteEnd, line);
      h = FNV_BASIS;
      len = 0;
      flags = 0;
    }
    if (k & SPACE) st[SPACES]!++;
    else if (k & NEWLINE) {
      st[NEWLINES]!++;
      line++;
    } else {
      st[OTHER]!++;
      if (c === 63) st[QUESTIONS]!++;
      else if (c === 34 && i > quoteEnd) {
        // A quoted span of up to 300 characters is variable content in a template: its words
        // count for similarity but are masked (as one token) in the template keys.
        if (nextStraight <= i) {
          nextStraight = i + 1;
          while (nextStraight < L && units[nextStraight] !== 34) nextStraight++;
        }
        if (nextStraight < L && nextStraight - i <= QUOTE_SPAN) quoteEnd = nextStraight;
      } else if (c === 0x201c && i > quoteEnd) {
        if (nextCurly <= i) {
          nextCurly = i + 1;
          while (nextCurly < L && units[nextCurly] !== 0x201d) nextCurly++;
        }
        if (nextCurly < L && nextCurly - i <= QUOTE_SPAN) quoteEnd = nextCurly;
      }
    }
  }
  if (len > 0) endWord(h | 0, len, flags, L - 1 <= quoteEnd, line);
  return st[N]!;
}

function endWord(w: number, len: number, flags: number, quoted: boolean, line: number): void {
  const n = st[N]!;
  if (n >= MAX_WORDS) return;
  const stop = isStop(w);
  const hasDigit = (flags & DIGIT) !== 0;
  wordBuf[n] = w;
  maskedBuf[n] = quoted ? QUOTE : !(flags & LETTER) || (hasDigit && len <= 4) ? NUM : w;
  stopBuf[n] = stop ? 1 : 0;
  lineOf[n] = line;
  st[N] = n + 1;
  st[WORD_CHARS]! += len;
  if (stop) st[STOPS]!++;
  if (!hasDigit) {
    st[ALPHA]!++;
    if (len >= 3 && !(flags & VOWEL)) st[VOWELLESS]!++;
  }
}

const shape = (name: number, v: number) => mix2(0x5a4a0000 + name, v) & (SIG_DIM - 1);

/** Prefix, suffix and skeleton keys, over the masked words with each quoted span collapsed to one token. */
function templateKeys(out: QueryFeatures, n: number): void {
  let m = 0;
  for (let i = 0; i < n; i++) {
    const w = maskedBuf[i]!;
    if (w === QUOTE && m > 0 && tplBuf[m - 1] === QUOTE) continue;
    tplBuf[m] = w;
    tplLine[m] = lineOf[i]!;
    m++;
  }
  out.prefixKey = 0;
  out.suffixKey = 0;
  if (m >= AFFIX_WORDS * 2) {
    let p = 0x70726566;
    let s = 0x73756666;
    for (let i = 0; i < AFFIX_WORDS; i++) {
      p = mix2(p, tplBuf[i]!);
      s = mix2(s, tplBuf[m - AFFIX_WORDS + i]!);
    }
    out.prefixKey = p;
    out.suffixKey = s;
  }
  let sk = 0x736b656c;
  let literal = 0;
  let longLines = 0;
  let start = 0;
  while (start < m) {
    let end = start;
    while (end < m && tplLine[end] === tplLine[start]) end++;
    if (end - start > LONG_LINE_WORDS) {
      sk = mix2(sk, LONG_LINE);
      longLines++;
    } else {
      for (let i = start; i < end; i++) {
        sk = mix2(sk, tplBuf[i]!);
        if (tplBuf[i] !== NUM && tplBuf[i] !== QUOTE) literal++;
      }
    }
    start = end;
  }
  out.skeletonKey = (longLines > 0 || m < n) && literal >= 4 ? sk : 0;
}

/**
 * A MinHash signature over word 3-shingles (unigrams for short prompts) by one-permutation
 * hashing: each shingle is hashed once, its top bits pick a bin and the rest compete for that
 * bin's minimum. Empty bins borrow from the next filled bin (densification), so short
 * prompts still get comparable signatures.
 */
function minhash(mh: Int32Array, n: number): void {
  mh.fill(EMPTY_BIN);
  let filled = 0;
  const shingle = n >= 3 ? 3 : 1;
  for (let i = 0; i + shingle <= n; i++) {
    const x = shingle === 3 ? mix2(wordBuf[i]! ^ Math.imul(wordBuf[i + 1]!, 0x2c1b3c6d), wordBuf[i + 2]!) : mix2(wordBuf[i]!, 0x0b1);
    const bin = x >>> 28;
    const v = x & 0x0fffffff;
    if (v < mh[bin]!) mh[bin] = v;
    filled |= 1 << bin;
  }
  if (filled === 0) return;
  for (let b = 0; b < MINHASH_K; b++) {
    if (filled & (1 << b)) continue;
    let d = 1;
    while (!(filled & (1 << ((b + d) % MINHASH_K)))) d++;
    // Borrowed values carry the distance in their top bits, so they never equal an original.
    mh[b] = mh[(b + d) % MINHASH_K]! + d * 0x10000000;
  }
}

/**
 * How far a prompt's statistics are from natural language, in [0, 1]. Natural prose has a
 * third or more stop words, few symbols and few vowel-less words; random token strings have
 * almost no stop words, many symbols and fragments like "xq" or "ptr".
 */
export function unnaturalness(words: number, stopRatio: number, symbolShare: number, vowellessShare: number, avgLen: number, spaces: number, chars: number): number {
  if (words < 6) return 0;
  const clamp = (x: number) => Math.max(0, Math.min(1, x));
  const lowStops = clamp((0.18 - stopRatio) / 0.15);
  const symbols = clamp((symbolShare - 0.12) / 0.25);
  const vowelless = clamp((vowellessShare - 0.08) / 0.25);
  const oddLength = clamp((avgLen - 9) / 6) + clamp((2.2 - avgLen) / 1.5);
  const noSpaces = chars > 40 ? clamp((0.08 - spaces / chars) / 0.08) : 0;
  return clamp(0.45 * lowStops + 0.25 * symbols + 0.25 * vowelless + 0.15 * oddLength + 0.3 * noSpaces);
}

/** Estimated Jaccard similarity of two MinHash signatures (at offsets into their arrays). */
export function minhashSimilarity(a: Int32Array, b: Int32Array, aOff = 0, bOff = 0): number {
  let same = 0;
  for (let k = 0; k < MINHASH_K; k++) if (a[aOff + k] === b[bOff + k]) same++;
  return same / MINHASH_K;
}

/** Jaccard similarity of two sorted word bags (the first `aLen`/`bLen` entries from the offsets). */
export function bagSimilarity(a: Int32Array, b: Int32Array, aLen = a.length, bLen = b.length, aOff = 0, bOff = 0): number {
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < aLen && j < bLen) {
    const x = a[aOff + i]!;
    const y = b[bOff + j]!;
    if (x === y) {
      inter++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  const union = aLen + bLen - inter;
  return union === 0 ? 1 : inter / union;
}

/** The signature-model feature indices of a text, as a fresh array (training). */
export function signatureIndices(text: string): Uint16Array {
  const f = extractFeatures(text);
  return f.sigIdx.slice(0, f.sigLen);
}
