/**
 * The synonym table the watermark chooses from, derived from WordNet by
 * scripts/watermark/build-synonyms.js and checked in as data/watermark/synonyms.json. Every
 * surface form (lowercase, inflected) belongs to exactly one set and one inflection slot, so a swap
 * inside a set keeps the inflection, and the set of a word can be read back from the watermarked text.
 */
import { readFileSync } from 'node:fs';

export type WordPos = 'n' | 'v' | 'a' | 'r';

/** Universal POS tag (as the tagger writes it) that a set's words must carry to be swapped. */
export const UD_TAG: Record<WordPos, string> = { n: 'NOUN', v: 'VERB', a: 'ADJ', r: 'ADV' };

export interface SynonymSet {
  id: number;
  pos: WordPos;
  synset: string;
  /** Lemmas, most used first. */
  members: string[];
  /** Inflection slot (base, pl, s, ed, ing) -> the form of each member, null where it has none. */
  slots: Record<string, (string | null)[]>;
}

export interface SynonymTable {
  version: number;
  source: string;
  sets: SynonymSet[];
}

/** Where a surface form sits in the table. */
export interface FormEntry {
  set: SynonymSet;
  slot: string;
  member: number;
}

/** Whether a word takes "an" rather than "a" (spelling rule with the usual exceptions). */
export function takesAn(word: string): boolean {
  const w = word.toLowerCase();
  if (/^(hour|honest|honor|honour|heir)/.test(w)) return true;
  if (/^(uni|use|usu|uti|ure|eu|one|once)/.test(w)) return false;
  return /^[aeiou]/.test(w);
}

export class Lexicon {
  private readonly forms = new Map<string, FormEntry>();
  /** Every prefix of every form, so a stream knows whether a partial word may still become one. */
  private readonly prefixes = new Set<string>();
  readonly sets: readonly SynonymSet[];

  constructor(readonly table: SynonymTable) {
    this.sets = table.sets;
    for (const set of table.sets) {
      for (const [slot, forms] of Object.entries(set.slots)) {
        forms.forEach((f, member) => {
          if (!f || this.forms.has(f)) return;
          this.forms.set(f, { set, slot, member });
          for (let i = 1; i <= f.length; i++) this.prefixes.add(f.slice(0, i));
        });
      }
    }
  }

  /** The entry of a lowercase form, if it is in the table. */
  lookup(lower: string): FormEntry | undefined {
    return this.forms.get(lower);
  }

  /** True when `lower` is a form or the beginning of one. */
  mayBecomeForm(lower: string): boolean {
    return this.prefixes.has(lower);
  }

  /** The form of `member` in `slot`, or null. */
  form(set: SynonymSet, slot: string, member: number): string | null {
    return set.slots[slot]?.[member] ?? null;
  }

  /** The first member's form in this slot: what the tagger sees, whichever member was written. */
  canonical(e: FormEntry): string {
    return e.set.slots[e.slot]!.find((f): f is string => !!f)!;
  }

  /**
   * Members that may stand at this position: those with a form in the slot and, after "a" or "an",
   * only those that keep the article right. Always in table order.
   */
  alternatives(e: FormEntry, article: 'a' | 'an' | null): number[] {
    const forms = e.set.slots[e.slot]!;
    const out: number[] = [];
    forms.forEach((f, i) => {
      if (f && (article === null || takesAn(f) === (article === 'an'))) out.push(i);
    });
    return out;
  }

  get formCount(): number {
    return this.forms.size;
  }
}

let shared: Lexicon | null = null;

/** The checked-in table, loaded once per process. */
export function defaultLexicon(): Lexicon {
  if (!shared) {
    const url = new URL('../../data/watermark/synonyms.json', import.meta.url);
    shared = new Lexicon(JSON.parse(readFileSync(url, 'utf8')) as SynonymTable);
  }
  return shared;
}
