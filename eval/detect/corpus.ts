/**
 * The shared data, read and split for the detection evaluation. Whole sources and whole files
 * go to one part: calibration (thresholds, the signature model's training) or report.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export type Part = 'calibration' | 'report';

export interface Corpus {
  /** Benign prompts written by people (whole sources per part). */
  prompts: string[];
  /** Paragraphs of real LLM answers to this part's prompts (from this part's models): varied content. */
  paragraphs: string[];
  /** Answers grouped by instruction, for topic-focused attacks. */
  answers: Map<string, string[]>;
  /** Templated prompt files: one template over a corpus each. */
  templated: { name: string; rows: string[] }[];
  /** Self-Instruct seed tasks for this part. */
  seeds: { instruction: string; input: string; output: string }[];
  alpacaPrompt: string;
}

const readJsonl = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);

const CALIBRATION_SOURCES = new Set(['alpaca_eval/helpful_base', 'alpaca_eval/selfinstruct', 'alpaca_eval/vicuna']);
const CALIBRATION_MODELS = new Set(['claude-2.1', 'Meta-Llama-3-8B-Instruct', 'FuseChat-Qwen-2.5-7B-Instruct']);

/** The shared data beside the checkout (`../shared/data`), or where MOAT_SHARED_DATA points. */
export function dataDir(): string {
  if (process.env.MOAT_SHARED_DATA) return process.env.MOAT_SHARED_DATA;
  const candidates = [join(process.cwd(), '..', 'shared', 'data'), join(process.cwd(), '..', '..', 'shared', 'data')];
  return candidates.find((d) => existsSync(join(d, 'prompts'))) ?? candidates[0]!;
}

export function loadCorpus(part: Part, dir = dataDir()): Corpus {
  const cal = part === 'calibration';
  const alpaca = readJsonl<{ text: string; source: string }>(join(dir, 'prompts/benign/alpaca_eval.jsonl'));
  const user = readJsonl<{ text: string; source: string }>(join(dir, 'prompts/benign/user_oriented.jsonl'));
  const inPart = (src: string) => CALIBRATION_SOURCES.has(src) === cal;
  const prompts = [...alpaca.filter((r) => inPart(r.source)), ...(cal ? [] : user)].map((r) => r.text);
  const promptSet = new Set(alpaca.filter((r) => inPart(r.source)).map((r) => r.text));

  const paragraphs: string[] = [];
  const answers = new Map<string, string[]>();
  for (const f of readdirSync(join(dir, 'outputs')).sort()) {
    const model = f.replace(/\.jsonl$/, '');
    if (CALIBRATION_MODELS.has(model) !== cal) continue;
    for (const r of readJsonl<{ instruction: string; output: string }>(join(dir, 'outputs', f))) {
      if (!promptSet.has(r.instruction)) continue;
      const list = answers.get(r.instruction) ?? [];
      list.push(r.output);
      answers.set(r.instruction, list);
      for (const p of r.output.split(/\n\s*\n/)) {
        const t = p.trim();
        if (t.split(/\s+/).length >= 25 && t.length <= 1500) paragraphs.push(t);
      }
    }
  }

  const files = readdirSync(join(dir, 'prompts/templated')).sort();
  const half = Math.ceil(files.length / 2);
  const templated = (cal ? files.slice(0, half) : files.slice(half)).map((f) => ({
    name: f.replace(/\.jsonl$/, ''),
    rows: readJsonl<{ text: string }>(join(dir, 'prompts/templated', f)).map((r) => r.text),
  }));

  const seeds = readJsonl<{ id: string; instruction: string; instances: { input: string; output: string }[] }>(join(dir, 'prompts/attack/self_instruct_seed_tasks.jsonl'))
    .filter((s) => (Number(s.id.replace(/\D/g, '')) % 2 === 0) === cal)
    .map((s) => ({ instruction: s.instruction, input: s.instances[0]?.input ?? '', output: s.instances[0]?.output ?? '' }));

  return { prompts, paragraphs, answers, templated, seeds, alpacaPrompt: readFileSync(join(dir, 'prompts/attack/alpaca_generation_prompt.txt'), 'utf8') };
}
