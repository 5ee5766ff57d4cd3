/**
 * Per-query features, computed once per request in one pass over the prompt text: word
 * hashes, a MinHash signature, template keys (prefix, suffix, skeleton), character
 * statistics for naturalness, and hashed features for the trained signature model.
 * Pure and allocation-light: this runs on the request path.
 */
import { fnv1a, mix2 } from './hash.js';

/** MinHash signature length. 16 hashes estimate Jaccard similarity to within about ±0.12. */
export const MINHASH_K = 16;
/** Words in a template prefix/suffix key. Short enough for real templates, longer than a habit like "Please rewrite:". */
export const AFFIX_WORDS = 6;
/** Hashed feature space of the signature model. */
export const SIG_DIM = 8192;
/** Bigrams kept per query for the diversity sketch. */
export const MAX_BIGRAMS = 48;
/** Distinct words kept per query for edit-distance comparisons. */
export const BAG_SIZE = 48;

const MAX_WORDS = 768;
const MAX_TERMS = 160;
const NUM = 0x4e554d00; // a number, masked
const QUOTE = 0x51544500; // a quoted span, masked
const LONG_LINE = 0x4c4f4e47; // a long line of variable content, masked
const LONG_LINE_WORDS = 12;

// Common English function words (written for this project): natural text is full of them,
// random token sequences and code are not.
const STOPWORDS = new Set(
  (
    'a an the and or but if then else of to in on at by for with from as is are was were be been being am do does did ' +
    'have has had i you he she it we they me him her us them my your his its our their this that these those what which ' +
    'who whom whose when where why how not no yes so than too very can could will would shall should may might must ' +
    'about into over under after before between through during out up down off again there here all any both each few ' +
    'more most other some such only own same just also now one two get make like give tell write please'
  )
    .split(' ')
    .map((w) => fnv1a(w)),
);

// Per-slot seeds for MinHash: h_i(x) = mix2(x, seed_i).
const MH_SEEDS = Array.from({ length: MINHASH_K }, (_, i) => mix2(0x5eed0000 + i, 0x2545f491));

export interface QueryFeatures {
  /** Words seen (capped). */
  words: number;
  chars: number;
  /** A short excerpt kept as evidence. */
  excerpt: string;
  /** Exact hash of the normalised text, and the same with every number masked (counters). */
  exactKey: number;
  numMaskedKey: number;
  /** Template keys; 0 when the prompt is too short to have one. */
  prefixKey: number;
  suffixKey: number;
  skeletonKey: number;
  minhash: Int32Array;
  /** Sorted distinct word hashes (up to BAG_SIZE), for "small edit" comparisons. */
  bag: Int32Array;
  /** Word-bigram hashes (up to MAX_BIGRAMS), for the diversity sketch. */
  bigrams: Int32Array;
  /** Hashes of the words that are not stop words or numbers, for the lexical embedding. */
  topicTerms: Int32Array;
  /** Indices into the signature model's hashed feature space. */
  sigIdx: Uint16Array;
  stopRatio: number;
  /** 0 (reads like language) .. 1 (looks like random tokens). */
  unnatural: number;
}

const isWordChar = (c: number) => (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 0xc0 && c !== 0xd7 && c !== 0xf7 && c < 0x2000);
const isVowel = (c: number) => c === 97 || c === 101 || c === 105 || c === 111 || c === 117 || c === 121;

// Scratch buffers reused across calls (one request is analysed at a time on the event loop).
const wordBuf = new Int32Array(MAX_WORDS);
const maskedBuf = new Int32Array(MAX_WORDS);
const lineOf = new Uint16Array(MAX_WORDS);
const tplBuf = new Int32Array(MAX_WORDS);
const tplLine = new Uint16Array(MAX_WORDS);

function bucket(x: number): number {
  return x & (SIG_DIM - 1);
}

/** Computes the features of one prompt text. */
export function extractFeatures(text: string): QueryFeatures {
  const s = text.toLowerCase();
  let n = 0;
  let line = 0;
  let letters = 0;
  let digits = 0;
  let spaces = 0;
  let other = 0;
  let stops = 0;
  let vowelless = 0;
  let alphaWords = 0;
  let wordLenSum = 0;
  let numbered = 0;
  let questions = 0;
  let newlines = 0;

  let quoteEnd = -1;
  let h = 0x811c9dc5;
  let len = 0;
  let hasDigit = false;
  let allDigit = true;
  let vowels = 0;
  const L = s.length;
  // One pass; i === L acts as a final separator. Word ends are handled inline (a closure
  // over these counters would force them into a heap context and slow the loop).
  for (let i = 0; i <= L; i++) {
    const c = i < L ? s.charCodeAt(i) : 32;
    if (isWordChar(c)) {
      h = Math.imul(h ^ c, 0x01000193);
      len++;
      if (c >= 48 && c <= 57) {
        hasDigit = true;
        digits++;
      } else {
        allDigit = false;
        letters++;
        if (isVowel(c)) vowels++;
      }
      continue;
    }
    if (c === 39 && len > 0 && i + 1 < L && isWordChar(s.charCodeAt(i + 1))) continue; // don't, it's
    if (c === 46 && len > 0 && allDigit) numbered++; // "1." list markers
    if (len > 0) {
      if (n < MAX_WORDS) {
        const w = h | 0;
        wordBuf[n] = w;
        maskedBuf[n] = i <= quoteEnd ? QUOTE : allDigit || (hasDigit && len <= 4) ? NUM : w;
        lineOf[n] = line;
        n++;
        wordLenSum += len;
        if (STOPWORDS.has(w)) stops++;
        if (!hasDigit) {
          alphaWords++;
          if (len >= 3 && vowels === 0) vowelless++;
        }
      }
      h = 0x811c9dc5;
      len = 0;
      hasDigit = false;
      allDigit = true;
      vowels = 0;
    }
    if (i === L) break;
    if (c === 32 || c === 9) spaces++;
    else if (c === 10) {
      spaces++;
      newlines++;
      line++;
    } else if ((c === 34 || c === 0x201c) && i > quoteEnd) {
      // A quoted span of up to 300 characters is variable content in a template: its words
      // count for similarity but are masked (as one token) in the template keys.
      const close = s.indexOf(c === 34 ? '"' : '\u201d', i + 1);
      if (close > i && close - i <= 300) quoteEnd = close;
      other++;
    } else {
      if (c === 63) questions++;
      other++;
    }
  }

  // Template keys, over the masked words with each quoted span collapsed to one token.
  let m = 0;
  for (let i = 0; i < n; i++) {
    const w = maskedBuf[i]!;
    if (w === QUOTE && m > 0 && tplBuf[m - 1] === QUOTE) continue;
    tplBuf[m] = w;
    tplLine[m] = lineOf[i]!;
    m++;
  }
  let prefixKey = 0;
  let suffixKey = 0;
  if (m >= AFFIX_WORDS * 2) {
    prefixKey = 0x70726566;
    suffixKey = 0x73756666;
    for (let i = 0; i < AFFIX_WORDS; i++) {
      prefixKey = mix2(prefixKey, tplBuf[i]!);
      suffixKey = mix2(suffixKey, tplBuf[m - AFFIX_WORDS + i]!);
    }
  }
  let skeletonKey = 0;
  {
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
    if ((longLines > 0 || m < n) && literal >= 4) skeletonKey = sk;
  }

  // Exact and number-masked keys, MinHash over word 3-shingles (unigrams for short prompts).
  let exactKey = 0x65786163;
  let numMaskedKey = 0x6e756d6b;
  for (let i = 0; i < n; i++) {
    exactKey = mix2(exactKey, wordBuf[i]!);
    numMaskedKey = mix2(numMaskedKey, maskedBuf[i]!);
  }
  const minhash = new Int32Array(MINHASH_K).fill(0x7fffffff);
  const shingle = n >= 3 ? 3 : 1;
  for (let i = 0; i + shingle <= n; i++) {
    const x = shingle === 3 ? mix2(wordBuf[i]! ^ Math.imul(wordBuf[i + 1]!, 0x2c1b3c6d), wordBuf[i + 2]!) : wordBuf[i]!;
    // One multiply-xorshift per slot: cheaper than a full mix, spread enough for MinHash.
    for (let k = 0; k < MINHASH_K; k++) {
      let v = Math.imul(x ^ MH_SEEDS[k]!, 0x9e3779b1);
      v ^= v >>> 15;
      if (v < minhash[k]!) minhash[k] = v;
    }
  }

  // Distinct word bag (sorted), bigrams, topic terms and signature-model features.
  const bagSet = new Set<number>();
  for (let i = 0; i < n && bagSet.size < BAG_SIZE; i++) bagSet.add(wordBuf[i]!);
  const bag = Int32Array.from(bagSet).sort();
  const nb = Math.min(MAX_BIGRAMS, Math.max(0, n - 1));
  const bigrams = new Int32Array(nb);
  for (let i = 0; i < nb; i++) bigrams[i] = mix2(wordBuf[i]!, wordBuf[i + 1]!);
  const terms: number[] = [];
  const sig: number[] = [];
  // The embedding and the model see the first MAX_TERMS words: enough to place a topic.
  const nt = Math.min(n, MAX_TERMS);
  for (let i = 0; i < nt; i++) {
    const w = wordBuf[i]!;
    const stop = STOPWORDS.has(w);
    if (!stop && maskedBuf[i] !== NUM) terms.push(w);
    sig.push(bucket(mix2(w, 1)));
    if (i + 1 < nt) {
      const b = mix2(maskedBuf[i]!, maskedBuf[i + 1]!);
      sig.push(bucket(mix2(b, 2)));
    }
  }
  const shape = (name: number, v: number) => sig.push(bucket(mix2(0x5a4a0000 + name, v)));
  shape(1, Math.min(12, Math.round(Math.log2(1 + n))));
  shape(2, Math.min(8, newlines));
  shape(3, Math.min(8, numbered));
  shape(4, Math.min(4, questions));
  const nonSpace = letters + digits + other;
  const stopRatio = n > 0 ? stops / n : 0;
  const symbolShare = nonSpace > 0 ? other / nonSpace : 0;
  const vowellessShare = alphaWords > 0 ? vowelless / alphaWords : 0;
  const avgLen = n > 0 ? wordLenSum / n : 0;
  shape(5, Math.min(10, Math.round(stopRatio * 10)));

  return {
    words: n,
    chars: text.length,
    excerpt: text.length > 160 ? text.slice(0, 157) + '...' : text,
    exactKey,
    numMaskedKey,
    prefixKey,
    suffixKey,
    skeletonKey,
    minhash,
    bag,
    bigrams,
    topicTerms: Int32Array.from(terms),
    sigIdx: Uint16Array.from(sig),
    stopRatio,
    unnatural: unnaturalness(n, stopRatio, symbolShare, vowellessShare, avgLen, spaces, s.length),
  };
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

/** Estimated Jaccard similarity of two MinHash signatures. */
export function minhashSimilarity(a: Int32Array, b: Int32Array): number {
  let same = 0;
  for (let k = 0; k < MINHASH_K; k++) if (a[k] === b[k]) same++;
  return same / MINHASH_K;
}

/** Jaccard similarity of two sorted word bags. */
export function bagSimilarity(a: Int32Array, b: Int32Array): number {
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      inter++;
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  const union = a.length + b.length - inter;
  return union === 0 ? 1 : inter / union;
}
