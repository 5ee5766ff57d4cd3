/**
 * Real text from the shared data folder, split once and for all into a calibration part (used to
 * build the synonym table and the base rates) and a report part (used only to measure). The split
 * is a hash of the instruction (LLM answers) or of the text (human writing), so the same prompt
 * never sits on both sides, whichever model answered it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The shared data folder: MOAT_SHARED_DATA, else ../shared/data beside the checkout. */
export function dataDir() {
  const candidates = [process.env.MOAT_SHARED_DATA, resolve(here, '../../../shared/data'), resolve(here, '../../../../shared/data')];
  for (const c of candidates) if (c && existsSync(join(c, 'outputs'))) return c;
  throw new Error('shared data not found: set MOAT_SHARED_DATA to the folder that holds outputs/ and prompts/');
}

/** 'calib' or 'report', from the first byte of SHA-256 of the key. */
export function part(key) {
  return createHash('sha256').update(key).digest()[0] % 2 === 0 ? 'calib' : 'report';
}

function readJsonl(file) {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** LLM answers: [{ source, instruction, text, part }] from outputs/*.jsonl. */
export function llmAnswers(root = dataDir()) {
  const out = [];
  for (const f of readdirSync(join(root, 'outputs')).filter((n) => n.endsWith('.jsonl')).sort()) {
    for (const r of readJsonl(join(root, 'outputs', f))) {
      if (typeof r.output !== 'string' || !r.output.trim()) continue;
      out.push({ source: f.replace(/\.jsonl$/, ''), instruction: r.instruction, text: r.output, part: part(r.instruction) });
    }
  }
  return out;
}

/** Human writing: news, reviews, encyclopedia passages, user instructions, seed-task answers. */
export function humanTexts(root = dataDir()) {
  const out = [];
  const add = (source, text) => {
    if (typeof text === 'string' && text.trim()) out.push({ source, text, part: part(text) });
  };
  for (const dir of ['templated', 'benign']) {
    for (const f of readdirSync(join(root, 'prompts', dir)).filter((n) => n.endsWith('.jsonl')).sort()) {
      for (const r of readJsonl(join(root, 'prompts', dir, f))) add(`${dir}/${f.replace(/\.jsonl$/, '')}`, r.text);
    }
  }
  for (const r of readJsonl(join(root, 'prompts', 'attack', 'self_instruct_seed_tasks.jsonl'))) {
    add('seed_tasks', [r.instruction, ...(r.instances ?? []).flatMap((i) => [i.input, i.output])].filter(Boolean).join('\n\n'));
  }
  return out;
}

/** Held-out prompts for sampling students: AlpacaEval instructions on the report side. */
export function reportPrompts(root = dataDir()) {
  return readJsonl(join(root, 'prompts', 'benign', 'alpaca_eval.jsonl'))
    .map((r) => r.text)
    .filter((t) => part(t) === 'report');
}
