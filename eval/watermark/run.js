#!/usr/bin/env node
/**
 * `npm run eval:watermark`: the watermark's figures on real text (the report half of the shared
 * data; the calibration half built the synonym table and base rates). Writes
 * bench/results/watermark.json and the table in docs/watermark.md (between its eval markers).
 * About 5-10 minutes on two busy cores. MOAT_EVAL_QUICK=1 runs a smaller version (for a smoke check).
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attribute } from '../../dist/watermark/attribute.js';
import { ContextRates, dedupe, defaultNullModel, observe, prepareStudent, score, scoreStudent, servedContexts } from '../../dist/watermark/detect.js';
import { bonferroni, uniformSumTail } from '../../dist/watermark/stats.js';
import { embedText } from '../../dist/watermark/embed.js';
import { deriveKey } from '../../dist/watermark/keys.js';
import { defaultLexicon } from '../../dist/watermark/lexicon.js';
import { countWords } from '../../dist/watermark/scan.js';
import { winkTagger } from '../../dist/watermark/tagger.js';
import { randomizeSynonyms, replaceWords, vocabulary } from './attacks.js';
import { documents, falsePositiveRates } from './calibration.js';
import { humanTexts, llmAnswers, reportPrompts } from './data.js';
import { TrigramModel, prng } from './student.js';

const QUICK = process.env.MOAT_EVAL_QUICK === '1';
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const lex = defaultLexicon();
const tagger = winkTagger();
const nul = defaultNullModel();
const MASTER = createHash('sha256').update('moat-eval-master').digest();
const tenantKey = (i) => deriveKey(MASTER, 'tenant', `tenant-${i}`);
const TENANTS = Array.from({ length: 100 }, (_, i) => `tenant-${i}`);
const TARGET = 1e-6;
const log = (...a) => process.stderr.write(a.join(' ') + '\n');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : null;
};
const shuffle = (xs, rand) => {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
};

const t0 = Date.now();
const llmAll = llmAnswers();
const llmReport = llmAll.filter((a) => a.part === 'report');
const llmCalib = llmAll.filter((a) => a.part === 'calib');
const humanReport = humanTexts().filter((a) => a.part === 'report');

/** 1. How much the text changes, and how fast the embedder is. */
function changes() {
  const out = {};
  for (const [name, texts] of [['llm', llmReport], ['human', humanReport]]) {
    let words = 0, changed = 0, positions = 0;
    const start = performance.now();
    for (const t of texts) {
      const r = embedText(t.text, lex, tagger, tenantKey(0));
      words += r.stats.words;
      changed += r.stats.changed;
      positions += r.stats.positions;
    }
    const ms = performance.now() - start;
    out[name] = { texts: texts.length, words, positionsPer100Words: (100 * positions) / words, changedFraction: changed / words, wordsPerSecond: Math.round((1000 * words) / ms) };
  }
  return out;
}

/** Report answers marked with tenant-0's key, by model. */
function markReport() {
  const bySource = new Map();
  for (const a of llmReport) {
    if (!bySource.has(a.source)) bySource.set(a.source, []);
    bySource.get(a.source).push(embedText(a.text, lex, tagger, tenantKey(0)).text);
  }
  return bySource;
}

/** 2. Words of watermarked answers needed for p < 1e-6 (answers of one model, in random order). */
function wordsNeeded(marked) {
  const needed = [];
  const rand = prng(11);
  const trials = QUICK ? 3 : 20;
  for (const texts of marked.values()) {
    for (let trial = 0; trial < trials; trial++) {
      let words = 0;
      const seen = [];
      let found = null;
      for (const text of shuffle(texts, rand)) {
        for (const o of observe(text, lex, tagger)) {
          seen.push(o);
          if (score(dedupe(seen), tenantKey(0)).p_value < TARGET) {
            found = words + countWords(text.slice(0, o.at + 1));
            break;
          }
        }
        if (found !== null) break;
        words += countWords(text);
      }
      if (found !== null) needed.push(found);
    }
  }
  return { trials: needed.length, median: median(needed), p10: quantile(needed, 0.1), p90: quantile(needed, 0.9) };
}

/**
 * 3. False positives: random keys on clean real text (documents of 1, 10 and 50 answers), on text
 * marked with another tenant's key, and the naive base-rate null for comparison.
 */
function calibration(observed, markedObserved) {
  const keys = QUICK ? 50 : 1000;
  const naiveKeys = QUICK ? 20 : 200;
  const g = [];
  for (const [name, texts] of Object.entries(observed)) {
    for (const size of name === 'llm' ? [1, 10, 50] : [1, 10]) g.push({ name: `clean ${name}, docs of ${size}`, docs: documents(texts, size), keys });
  }
  const markedDocs = documents(markedObserved, 10);
  g.push({ name: 'marked for another tenant, docs of 10', docs: markedDocs, keys });
  g.push({ name: 'naive base-rate null: clean llm, docs of 10', docs: documents(observed.llm, 10), keys: naiveKeys, nul });
  g.push({ name: 'naive base-rate null: marked for another tenant, docs of 10', docs: markedDocs, keys: naiveKeys, nul });
  return falsePositiveRates(g, 'v1');
}

/** Trains a student on instruction/answer pairs; `marks[i]` says whether answer i is the marked one. */
function trainStudent(marks, marked) {
  const m = new TrigramModel();
  llmCalib.forEach((a, i) => m.add(a.instruction, marks[i] ? marked[i] : a.text));
  return m;
}

/** Which training answers are marked: each with probability `fraction` (seeded). */
function markPlan(fraction, seed) {
  const rand = prng(seed);
  return llmCalib.map(() => rand() < fraction);
}

/** Student mode against every tenant's key (the null is computed once per text), Bonferroni over them. */
function traceStudent(test, secret) {
  const ranked = TENANTS.map((t, i) => ({ t, r: scoreStudent(test, tenantKey(i)) })).sort((a, b) => a.r.p_value - b.r.p_value || b.r.z - a.r.z);
  const p = bonferroni(ranked[0].r.p_value, TENANTS.length);
  return { attributed: p < 1e-3 ? ranked[0].t : null, rankOfTrue: ranked.findIndex((x) => x.t === `tenant-${secret}`) + 1, p_value_bonferroni: p };
}

/**
 * 4 and 5. Radioactivity and tracing: students trained on watermarked answers, sampled on held-out
 * prompts. Scored with the first-occurrence test (`score`, what a copied text is tested with) and
 * with student mode (`prepareStudent`): every occurrence counts, weighted by a clean reference, the
 * report-half answers to prompts that are not used for sampling (key-independent and disjoint from
 * the students' training data); optionally only at the contexts of the answers served to the tenant.
 */
function radioactivity() {
  const prompts = reportPrompts();
  const generations = QUICK ? 50 : 200;
  const sampled = prompts.slice(0, 200);
  const sampledSet = new Set(sampled);
  const referenceAnswers = llmReport.filter((a) => !sampledSet.has(a.instruction));
  const reference = new ContextRates();
  for (const a of referenceAnswers) reference.add(observe(a.text, lex, tagger));
  const tokens = 600;
  const out = { generations, tokensPerGeneration: tokens, trainingAnswers: llmCalib.length, heldOutPrompts: sampled.length, referenceAnswers: referenceAnswers.length, students: {}, heldOutSeeds: [] };
  const informative = { nul, maxRate: 0.5 };
  const sample = (student, seed, n) => {
    const rand = prng(seed);
    const obs = [];
    let words = 0;
    for (let i = 0; i < n; i++) {
      const text = student.generate(sampled[i % sampled.length], rand, tokens);
      words += countWords(text);
      // One generation's observations, in order (for the FPR check's documents).
      obs.push(...observe(text, lex, tagger).map((o) => ({ ...o, generation: i })));
    }
    return { obs, words };
  };
  // The setting first reported (tenant-17, split seed 42, sampling seed 7), then seeds not looked at while designing.
  const settings = [{ secret: 17, split: 42, sampling: 7, main: true }, ...(QUICK ? [] : [{ secret: 31, split: 101, sampling: 201 }, { secret: 47, split: 102, sampling: 202 }, { secret: 59, split: 103, sampling: 203 }])];
  let controlObs = null;
  for (const st of settings) {
    const key = tenantKey(st.secret);
    const plan10 = markPlan(0.1, st.split);
    // The main setting also trains a fully marked student; held-out settings need only the 10% marked.
    const marked = llmCalib.map((a, i) => (st.main || plan10[i] ? embedText(a.text, lex, tagger, key).text : a.text));
    const served = servedContexts(llmCalib.flatMap((a, i) => (plan10[i] ? observe(marked[i], lex, tagger) : [])));
    const row = { secret: st.secret, split: st.split, sampling: st.sampling };
    for (const [name, fraction] of st.main ? [['watermarked_100pct', 1], ['watermarked_10pct', 0.1], ['control_clean', 0]] : [['watermarked_10pct', 0.1], ['control_clean', 0]]) {
      log(`  student ${name} (tenant-${st.secret})`);
      const plan = fraction === 1 ? llmCalib.map(() => true) : fraction === 0 ? llmCalib.map(() => false) : plan10;
      const student = trainStudent(plan, marked);
      const { obs, words } = sample(student, st.sampling, generations);
      const test = prepareStudent(obs, { reference });
      const sm = scoreStudent(test, key);
      const smServed = scoreStudent(prepareStudent(obs, { reference, served }), key);
      if (!st.main) {
        row[name] = { p_value: sm.p_value, z: sm.z, servedContexts_p_value: smServed.p_value, firstOccurrence_p_value: score(dedupe(obs), key).p_value };
        continue;
      }
      if (fraction === 0) controlObs = obs;
      const own = score(dedupe(obs), key);
      const traced = attribute(obs, MASTER, 'tenant', TENANTS, 1e-3);
      const inf = score(dedupe(obs), key, informative);
      out.students[name] = {
        words,
        scored: own.scored,
        hits: own.hits,
        z: own.z,
        p_value: own.p_value,
        informativeOnly: { scored: inf.scored, hits: inf.hits, z: inf.z, p_value: inf.p_value },
        tracing100: { attributed: traced.tenant, correct: traced.tenant === `tenant-${st.secret}`, rankOfTrue: traced.tenants.findIndex((t) => t.tenant === `tenant-${st.secret}`) + 1, p_value_bonferroni: traced.p_value },
        studentMode: { items: sm.scored, occurrences: sm.occurrences, z: sm.z, p_value: sm.p_value, tracing100: traceStudent(test, st.secret) },
        studentModeServed: { items: smServed.scored, z: smServed.z, p_value: smServed.p_value },
      };
      if (fraction === 0.1) {
        out.students[name].generationsForP1e6 = generationsNeeded(student, obs, generations, sampled, tokens, (o) => score(dedupe(o), key));
        out.students[name].studentModeGenerationsForP1e6 = generationsNeeded(student, obs, generations, sampled, tokens, (o) => scoreStudent(prepareStudent(o, { reference }), key));
      }
    }
    if (!st.main) out.heldOutSeeds.push(row);
  }
  out.studentModeFpr = studentModeFpr(controlObs, reference);
  return out;
}

/**
 * Student mode's false-positive rate: random keys against text that never saw them (the control
 * student's generations in documents of 20, and clean report answers in documents of 10), with the
 * same reference. Exact p, and randomized p (uniform under a correct null).
 */
function studentModeFpr(controlObs, reference) {
  const keys = QUICK ? 50 : 1000;
  const master = createHash('sha256').update('moat-eval-calibration-student').digest();
  const rand = prng(77);
  const byGeneration = [];
  for (const o of controlObs) (byGeneration[o.generation] ??= []).push(o);
  const gens = byGeneration.filter(Boolean);
  const groups = {
    'control student, docs of 20 generations': Array.from({ length: Math.floor(gens.length / 20) }, (_, d) => gens.slice(20 * d, 20 * d + 20).flat()),
    'clean llm, docs of 10': documentsOf(llmReport, 10),
  };
  const out = {};
  for (const [name, docs] of Object.entries(groups)) {
    const tests = docs.map((d) => prepareStudent(d, { reference })).filter((t) => t.items.length > 0);
    const exact = { 0.01: 0, 0.001: 0 };
    const randomized = { 0.01: 0, 0.001: 0 };
    let n = 0;
    for (let k = 0; k < keys; k++) {
      const key = deriveKey(master, 'tenant', `random-${k}`);
      for (const t of tests) {
        const r = scoreStudent(t, key);
        const above = uniformSumTail(t.nul, r.statistic + 1);
        const pr = above + rand() * (r.p_value - above);
        n++;
        for (const a of [0.01, 0.001]) {
          if (r.p_value <= a) exact[a]++;
          if (pr <= a) randomized[a]++;
        }
      }
    }
    out[name] = { keys, documents: tests.length, tests: n, fpr: { '0.01': exact[0.01] / n, '0.001': exact[0.001] / n }, fprRandomized: { '0.01': randomized[0.01] / n, '0.001': randomized[0.001] / n } };
  }
  return out;
}

/** Observations of report answers grouped in documents of `size` answers of one model. */
function documentsOf(answers, size) {
  const bySource = new Map();
  for (const a of answers) {
    if (!bySource.has(a.source)) bySource.set(a.source, []);
    bySource.get(a.source).push(a);
  }
  const docs = [];
  for (const list of bySource.values()) for (let i = 0; i + size <= list.length; i += size) docs.push(list.slice(i, i + size).flatMap((a) => observe(a.text, lex, tagger)));
  return docs;
}

/** Keeps sampling the 10% student (same held-out prompts) in batches until p < 1e-6 or a cap. */
function generationsNeeded(student, obs, done, prompts, tokens, test) {
  const cap = QUICK ? 400 : 3000;
  const rand = prng(1234);
  const all = [...obs];
  const trace = [];
  for (let n = done; n < cap; ) {
    for (let i = 0; i < 200; i++, n++) all.push(...observe(student.generate(prompts[n % prompts.length], rand, tokens), lex, tagger));
    const r = test(all);
    trace.push({ generations: n, scored: r.scored, z: r.z, p_value: r.p_value });
    if (r.p_value < TARGET) return { reached: n, trace };
  }
  return { reached: null, cap, trace };
}

/** 5b. Tracing answers directly: k marked answers of one tenant, attributed among 100 tenants. */
function tracingAnswers() {
  const out = [];
  for (const k of [3, 10]) {
    const rand = prng(5 + k);
    let correct = 0, wrong = 0, none = 0;
    const n = QUICK ? 20 : 100;
    for (let t = 0; t < n; t++) {
      const picks = shuffle(llmReport, rand).slice(0, k);
      const obs = picks.flatMap((a) => observe(embedText(a.text, lex, tagger, tenantKey(t)).text, lex, tagger));
      const r = attribute(obs, MASTER, 'tenant', TENANTS, 1e-3);
      if (r.tenant === `tenant-${t}`) correct++;
      else if (r.tenant) wrong++;
      else none++;
    }
    out.push({ tenants: 100, cases: n, answersPerCase: k, correct, wrong, unattributed: none });
  }
  return out;
}

/** 6. Robustness: documents of marked answers under attack; detection rate at p < 1e-6 by length. */
function robustness(bySource) {
  const vocab = vocabulary(llmCalib.map((a) => a.text));
  const attacks = {
    none: (t) => t,
    random_replace_20pct: (t, r) => replaceWords(t, 0.2, vocab, r),
    synonym_randomize_25pct: (t, r) => randomizeSynonyms(t, 0.25, lex, r),
    synonym_randomize_50pct: (t, r) => randomizeSynonyms(t, 0.5, lex, r),
    synonym_randomize_100pct: (t, r) => randomizeSynonyms(t, 1, lex, r),
  };
  const lengths = [500, 1000, 2000, 4000];
  const perLength = QUICK ? 6 : 24;
  const out = {};
  for (const [name, attack] of Object.entries(attacks)) {
    out[name] = {};
    for (const len of lengths) {
      const rand = prng(len);
      const ps = [];
      for (let d = 0; d < perLength; d++) {
        const texts = shuffle([...bySource.values()][d % bySource.size], rand);
        const parts = [];
        let words = 0;
        for (const t of texts) {
          if (words >= len) break;
          parts.push(t);
          words += countWords(t);
        }
        const obs = parts.flatMap((t) => observe(attack(t, rand), lex, tagger));
        ps.push(score(dedupe(obs), tenantKey(0)).p_value);
      }
      out[name][len] = { documents: ps.length, detected1e6: ps.filter((p) => p < TARGET).length / ps.length, detected1e3: ps.filter((p) => p < 1e-3).length / ps.length, medianP: median(ps) };
    }
  }
  return out;
}

log('changes'); const changed = changes();
log('marking report answers'); const marked = markReport();
log('words needed'); const needed = wordsNeeded(marked);
log('observing report text');
const observed = {
  llm: llmReport.map((a) => ({ source: a.source, obs: observe(a.text, lex, tagger) })),
  human: humanReport.map((a) => ({ source: a.source, obs: observe(a.text, lex, tagger) })),
};
const markedObserved = [...marked.entries()].flatMap(([source, texts]) => texts.map((t) => ({ source, obs: observe(t, lex, tagger) })));
log('calibration'); const calib = calibration(observed, markedObserved);
log('radioactivity'); const radio = radioactivity();
log('tracing answers'); const traceAnswers = tracingAnswers();
log('robustness'); const robust = robustness(marked);

const results = {
  generatedAt: new Date().toISOString(),
  quick: QUICK,
  seconds: Math.round((Date.now() - t0) / 1000),
  data: { llmReportAnswers: llmReport.length, humanReportTexts: humanReport.length, calibrationAnswers: llmCalib.length },
  table: { sets: lex.sets.length, forms: lex.formCount },
  changes: changed,
  wordsForP1e6: needed,
  calibration: calib,
  radioactivity: radio,
  tracingAnswers: traceAnswers,
  robustness: robust,
};
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/watermark.json'), JSON.stringify(results, null, 2) + '\n');

const f = (x, d = 2) => (x === null || x === undefined ? 'n/a' : typeof x === 'number' && Math.abs(x) < 1e-2 && x !== 0 ? x.toExponential(1) : Number(x).toFixed(d));
const rows = [
  ['Words changed (LLM answers / human text)', `${f(100 * changed.llm.changedFraction)}% / ${f(100 * changed.human.changedFraction)}%`],
  ['Scored-candidate positions per 100 words (LLM)', f(changed.llm.positionsPer100Words)],
  ['Words of marked answers for p < 1e-6 (median, p10-p90)', `${needed.median} (${needed.p10}-${needed.p90})`],
  ...Object.entries(calib).map(([k, v]) => [
    `FPR with ${v.keys} random keys: ${k} (alpha 1e-3 / 1e-2)`,
    `exact p: ${f(v.fpr['0.001'], 5)} / ${f(v.fpr['0.01'], 4)}; randomized p: ${f(v.fprRandomized['0.001'], 5)} / ${f(v.fprRandomized['0.01'], 4)} (${v.tests} tests, ${v.meanScored} scored per doc)`,
  ]),
  ...Object.entries(radio.students).map(([k, v]) => [
    `Student ${k.replace(/_/g, ' ')}: p over ${radio.generations} generations, first-occurrence test`,
    `${f(v.p_value)} (z ${f(v.z)}, ${v.hits}/${v.scored}; informative positions only: ${f(v.informativeOnly.p_value)}); 100 tenants: ${v.tracing100.attributed ?? 'none'} (true key rank ${v.tracing100.rankOfTrue})`,
  ]),
  ...Object.entries(radio.students).map(([k, v]) => [
    `Student ${k.replace(/_/g, ' ')}: p over ${radio.generations} generations, student mode (reference; + served contexts)`,
    `${f(v.studentMode.p_value)} (z ${f(v.studentMode.z)}, ${v.studentMode.items} contexts, ${v.studentMode.occurrences} occurrences); ${f(v.studentModeServed.p_value)}; 100 tenants: ${v.studentMode.tracing100.attributed ?? 'none'} (true key rank ${v.studentMode.tracing100.rankOfTrue})`,
  ]),
  ...radio.heldOutSeeds.map((r) => [
    `Held-out seeds (tenant-${r.secret}, split ${r.split}): 10% student / control, ${radio.generations} generations (first-occurrence; student mode; + served)`,
    `${f(r.watermarked_10pct.firstOccurrence_p_value)}; ${f(r.watermarked_10pct.p_value)}; ${f(r.watermarked_10pct.servedContexts_p_value)} / ${f(r.control_clean.firstOccurrence_p_value)}; ${f(r.control_clean.p_value)}; ${f(r.control_clean.servedContexts_p_value)}`,
  ]),
  ...Object.entries(radio.studentModeFpr).map(([k, v]) => [
    `Student mode FPR with ${v.keys} random keys: ${k} (alpha 1e-3 / 1e-2)`,
    `exact p: ${f(v.fpr['0.001'], 5)} / ${f(v.fpr['0.01'], 4)}; randomized p: ${f(v.fprRandomized['0.001'], 5)} / ${f(v.fprRandomized['0.01'], 4)} (${v.tests} tests)`,
  ]),
  ...[['first-occurrence test', radio.students.watermarked_10pct.generationsForP1e6], ['student mode', radio.students.watermarked_10pct.studentModeGenerationsForP1e6]].map(([k, g]) => [
    `10% student: generations (600 tokens) needed for p < 1e-6, ${k}`,
    g.reached ?? `not reached by ${g.cap} (p ${f(g.trace.at(-1)?.p_value)})`,
  ]),
  ...traceAnswers.map((t) => [`Tracing ${t.answersPerCase} marked answers among 100 tenants (corrected p < 1e-3)`, `${t.correct}/${t.cases} right, ${t.wrong} wrong, ${t.unattributed} unattributed`]),
  ...Object.entries(robust).map(([k, v]) => [`Detected at p < 1e-6 after ${k.replace(/_/g, ' ')} (500 / 1000 / 2000 / 4000 words)`, Object.values(v).map((x) => `${Math.round(100 * x.detected1e6)}%`).join(' / ')]),
];
const table = ['| Measure | Result |', '|---|---|', ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join('\n');
const docPath = join(root, 'docs/watermark.md');
try {
  const doc = readFileSync(docPath, 'utf8');
  const start = '<!-- eval:watermark:start -->';
  const end = '<!-- eval:watermark:end -->';
  if (doc.includes(start) && doc.includes(end) && !QUICK) {
    writeFileSync(docPath, doc.slice(0, doc.indexOf(start) + start.length) + `\n_Generated by \`npm run eval:watermark\` on ${results.generatedAt.slice(0, 10)} in ${results.seconds} s._\n\n${table}\n` + doc.slice(doc.indexOf(end)));
  }
} catch (e) {
  if (e.code !== 'ENOENT') throw e;
}
process.stdout.write(table + '\n');
