#!/usr/bin/env node
/**
 * Measures how often real writers use each member of each synonym set, on the calibration half of
 * the shared text (LLM answers and human writing), with the same scanner the detector uses, and
 * writes data/watermark/base-rates.json: the detector's null model. Run `npm run build` first
 * (it reads dist/). Run: `npm run build:synonyms` (table, then these rates).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultLexicon } from '../../dist/watermark/lexicon.js';
import { winkTagger } from '../../dist/watermark/tagger.js';
import { observe } from '../../dist/watermark/detect.js';
import { humanTexts, llmAnswers } from '../../eval/watermark/data.js';

/** Pseudo-count per member: keeps a rate away from 0 and 1 where a set is seldom seen. */
const PRIOR = 2;

const here = dirname(fileURLToPath(import.meta.url));
const lex = defaultLexicon();
const tagger = winkTagger();
const texts = [...llmAnswers(), ...humanTexts()].filter((t) => t.part === 'calib');
const counts = {};
for (const s of lex.sets) counts[s.id] = s.members.map(() => 0);
let n = 0;
for (const t of texts) {
  for (const o of observe(t.text, lex, tagger)) {
    counts[o.set][o.member]++;
    n++;
  }
}
const out = { version: 1, source: `${texts.length} calibration texts (LLM answers and human writing), ${n} positions`, prior: PRIOR, counts };
writeFileSync(join(here, '../../data/watermark/base-rates.json'), JSON.stringify(out) + '\n');
process.stdout.write(`wrote base rates from ${n} positions in ${texts.length} texts\n`);
