/**
 * `moat watermark embed|detect|probe`: apply the gateway's watermark to standard input, test texts
 * for it (naming the tenant whose key marked them), and probe a suspect model's endpoint.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { ensureDataDir } from '../../config/data-dir.js';
import { attribute, type Attribution } from '../../watermark/attribute.js';
import { ContextRates, observe, prepareStudent, scoreStudent, type Observation } from '../../watermark/detect.js';
import { embedText } from '../../watermark/embed.js';
import { deriveKey, type KeyScope } from '../../watermark/keys.js';
import { defaultLexicon } from '../../watermark/lexicon.js';
import { PROBE_MAX_REQUESTS, PROBE_MAX_RPS, probe } from '../../watermark/probe.js';
import { SECRET_ENV, masterSecret } from '../../watermark/secret.js';
import { bonferroni } from '../../watermark/stats.js';
import { winkTagger } from '../../watermark/tagger.js';
import { namesFromIdentityStore } from '../../watermark/tenants.js';
import { CliError, DEFAULT_DATA_DIR, loadOptionalConfig, parseIntArg, printJson } from '../common.js';

interface StoreOpts {
  dataDir?: string;
  config?: string;
}
interface DetectOpts extends StoreOpts {
  tenant?: string;
  tenants?: string;
  principals?: boolean;
  alpha: number;
  json?: boolean;
  student?: boolean;
  reference?: string;
}

function context(o: StoreOpts, create: boolean, principals = false) {
  const cfg = loadOptionalConfig(o.config);
  const dataDir = o.dataDir ?? cfg?.dataDir ?? DEFAULT_DATA_DIR;
  let master: Buffer | null;
  try {
    master = masterSecret({ configSecret: cfg?.watermark.secret, dataDir: create ? ensureDataDir(dataDir) : dataDir, create });
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  if (!master) throw new CliError(`no watermark secret: set ${SECRET_ENV}, or point --data-dir at the data directory of the gateway that marked the answers`, 2);
  const scope: KeyScope = principals ? 'principal' : (cfg?.watermark.keyBy ?? 'tenant');
  return { dataDir, master, scope };
}

const parseAlpha = (v: string): number => {
  const n = Number(v);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError('--alpha must be a number between 0 and 1, e.g. 1e-3');
  return n;
};

const parseRps = (v: string): number => {
  const n = Number(v);
  if (!(n > 0 && n <= PROBE_MAX_RPS)) throw new InvalidArgumentError(`--rps must be above 0 and at most ${PROBE_MAX_RPS}`);
  return n;
};

/** Reads `{"text": ...}` lines (or `prompt`); with `plain`, a line that is not JSON is taken as text. */
function readTexts(file: string, plain: boolean): string[] {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const out: string[] = [];
  raw.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      if (plain) return void out.push(line);
      throw new CliError(`${file}:${i + 1}: not JSON; expected one {"text": "..."} object per line`);
    }
    const text = typeof v === 'object' && v !== null ? ((v as Record<string, unknown>).text ?? (v as Record<string, unknown>).prompt) : undefined;
    if (typeof text !== 'string') throw new CliError(`${file}:${i + 1}: expected an object with a string "text" field`);
    out.push(text);
  });
  return out;
}

async function names(o: DetectOpts, dataDir: string, scope: KeyScope): Promise<string[]> {
  if (o.tenant) return [o.tenant];
  const listed = (o.tenants ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const all = [...new Set([...listed, ...(await namesFromIdentityStore(dataDir, scope))])];
  if (all.length === 0) throw new CliError(`no ${scope}s to test: pass --tenant NAME or --tenants a,b,c, or --data-dir of a gateway with keys`, 2);
  return all;
}

async function detectTexts(texts: readonly string[], o: DetectOpts): Promise<Attribution & { texts: number }> {
  const { dataDir, master, scope } = context(o, false, o.principals);
  const candidates = await names(o, dataDir, scope);
  const lex = defaultLexicon();
  const tagger = winkTagger();
  const obs: Observation[] = [];
  for (const t of texts) obs.push(...observe(t, lex, tagger));
  if (o.reference && !o.student) throw new CliError('--reference is for --student mode', 2);
  if (!o.student) return { ...attribute(obs, master, scope, candidates, o.alpha), texts: texts.length };
  // Student mode: every occurrence counts, weighted by the clean reference (docs/watermark.md).
  const reference = new ContextRates();
  if (o.reference) for (const t of readTexts(o.reference, false)) reference.add(observe(t, lex, tagger));
  const test = prepareStudent(obs, o.reference ? { reference } : {});
  const results = candidates.map((name) => ({ name, r: scoreStudent(test, deriveKey(master, scope, name)) }));
  results.sort((a, b) => a.r.p_value - b.r.p_value || b.r.z - a.r.z);
  const best = results[0]!;
  const p = bonferroni(best.r.p_value, candidates.length);
  return {
    scored: best.r.scored,
    hits: best.r.hits,
    expected: best.r.expected,
    z: best.r.z,
    p_value: p,
    tenant: p < o.alpha ? best.name : null,
    tenants: results.map(({ name, r }) => ({ tenant: name, p_value: r.p_value })),
    correction: candidates.length > 1 ? 'bonferroni' : 'none',
    alpha: o.alpha,
    texts: texts.length,
  };
}

function report(r: Attribution & { texts: number }, json: boolean | undefined, extra: Record<string, unknown> = {}): void {
  if (json) return printJson({ ...r, ...extra });
  const verdict = r.tenant ? `watermark of '${r.tenant}' detected` : 'no watermark detected';
  process.stdout.write(
    `${verdict}: ${r.hits} of ${r.scored} scored positions hit (${r.expected.toFixed(1)} expected), z = ${r.z.toFixed(2)}, p = ${r.p_value.toExponential(2)}` +
      `${r.correction === 'bonferroni' ? ` (Bonferroni over ${r.tenants.length} keys)` : ''}, in ${r.texts} texts\n`,
  );
}

const withStore = (c: Command) =>
  c.option('--data-dir <dir>', 'data directory of the gateway (its watermark secret and tenants; default: from moat.yaml, else ./.moat)').option('-c, --config <file>', 'configuration file (default ./moat.yaml when present)');

const withKeys = (c: Command) =>
  c
    .option('--tenant <name>', 'test only this tenant\'s key')
    .option('--tenants <a,b,c>', 'tenants to test (added to those of the identity store in the data directory)')
    .option('--principals', 'keys are per principal (watermark.keyBy: principal)')
    .option('--alpha <p>', 'significance level for naming a tenant', parseAlpha, 1e-3)
    .option('--json', 'print {"scored","hits","z","p_value","tenant","tenants"} as JSON')
    .option('--student', 'student mode: the texts come from a model suspected of training on marked answers (every occurrence counts)')
    .option('--reference <file>', 'with --student: clean text ({"text": ...} per line, never marked with these keys) that weights the evidence');

export function registerWatermark(program: Command): void {
  const wm = program.command('watermark').description('watermark text, detect the watermark, and probe a suspect model');

  withStore(
    wm
      .command('embed')
      .description('watermark standard input with a tenant\'s key and write it to standard output (as the gateway does)')
      .option('--tenant <name>', 'the tenant whose key marks the text', 'default')
      .option('--principal <name>', 'use this principal\'s key instead (watermark.keyBy: principal)')
      .option('--stats', 'print the fraction of words changed on standard error'),
  ).action((o: StoreOpts & { tenant: string; principal?: string; stats?: boolean }) => {
    const { master } = context(o, true);
    const key = o.principal ? deriveKey(master, 'principal', o.principal) : deriveKey(master, 'tenant', o.tenant);
    const input = readFileSync(0, 'utf8');
    const r = embedText(input, defaultLexicon(), winkTagger(), key);
    process.stdout.write(r.text);
    if (o.stats) process.stderr.write(`${r.stats.changed} of ${r.stats.words} words changed (${((100 * r.stats.changed) / Math.max(1, r.stats.words)).toFixed(2)}%), ${r.stats.positions} positions\n`);
  });

  withKeys(withStore(wm.command('detect').description('test texts ({"text": ...} per line) for the watermark and attribute them').requiredOption('--input <file>', 'JSON lines with a "text" field'))).action(
    async (o: DetectOpts & { input: string }) => {
      const texts = readTexts(o.input, false);
      if (texts.length === 0) throw new CliError(`${o.input} holds no texts`);
      report(await detectTexts(texts, o), o.json);
    },
  );

  withKeys(
    withStore(
      wm
        .command('probe')
        .description('ask a suspect OpenAI-compatible endpoint to answer prompts (bounded in count and rate) and test its answers')
        .requiredOption('--endpoint <url>', 'base URL of the suspect API, e.g. http://127.0.0.1:8000/v1')
        .requiredOption('--model <name>', 'model name to ask for')
        .option('--api-key <key>', 'API key for the suspect endpoint (or MOAT_PROBE_API_KEY)')
        .requiredOption('--prompts <file>', 'prompts: {"text": ...} per line, or one prompt per line')
        .option('--max <n>', `at most this many requests (<= ${PROBE_MAX_REQUESTS})`, parseIntArg('--max', 1), 50)
        .option('--rps <n>', `at most this many requests per second (<= ${PROBE_MAX_RPS})`, parseRps, 1)
        .option('--max-tokens <n>', 'max_tokens per answer', parseIntArg('--max-tokens', 1), 400)
        .option('--timeout-ms <n>', 'per-request timeout', parseIntArg('--timeout-ms', 1), 60_000),
    ),
  ).action(async (o: DetectOpts & { endpoint: string; model: string; apiKey?: string; prompts: string; max: number; rps: number; maxTokens: number; timeoutMs: number }) => {
    let url: URL;
    try {
      url = new URL(o.endpoint);
    } catch {
      throw new CliError('--endpoint must be an http:// or https:// URL', 2);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError('--endpoint must be an http:// or https:// URL', 2);
    if (o.max > PROBE_MAX_REQUESTS) throw new CliError(`--max is at most ${PROBE_MAX_REQUESTS}`, 2);
    const { dataDir, scope } = context(o, false, o.principals); // fail before sending anything without a secret ...
    await names(o, dataDir, scope); // ... or without keys to try
    const prompts = readTexts(o.prompts, true);
    if (prompts.length === 0) throw new CliError(`${o.prompts} holds no prompts`);
    const res = await probe({ endpoint: o.endpoint, model: o.model, apiKey: o.apiKey ?? process.env.MOAT_PROBE_API_KEY, prompts, maxRequests: o.max, rps: o.rps, maxTokens: o.maxTokens, timeoutMs: o.timeoutMs });
    if (res.answers.length === 0) throw new CliError(`the endpoint answered none of ${res.requests} requests (${JSON.stringify(res.errors)})`);
    report(await detectTexts(res.answers, o), o.json, { requests: res.requests, failures: res.failures, errors: res.errors });
  });
}
