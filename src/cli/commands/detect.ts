/**
 * `moat detect status|clear|allow|replay|train`: extraction detection from the command line.
 * status/clear/allow work on `<dataDir>/detect.db`, which a running gateway reads and writes;
 * replay runs the live engine, with its default thresholds, over recorded traffic.
 */
import { createReadStream, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ensureDataDir } from '../../config/data-dir.js';
import { DetectEngine, type RiskRecord } from '../../detect/engine.js';
import { signatureIndices } from '../../detect/features.js';
import { loadSignatureModel } from '../../detect/model-file.js';
import { modelToJson, trainSignature } from '../../detect/model.js';
import { defaultDetectConfig } from '../../detect/schema.js';
import { DetectStore } from '../../detect/sqlite-store.js';
import { promptText } from '../../detect/text.js';
import { CliError, DEFAULT_DATA_DIR, loadOptionalConfig, printJson } from '../common.js';

interface StoreOpts {
  dataDir?: string;
  config?: string;
  json?: boolean;
}

function openStore(o: StoreOpts): DetectStore {
  const cfg = loadOptionalConfig(o.config);
  return new DetectStore(ensureDataDir(o.dataDir ?? cfg?.dataDir ?? DEFAULT_DATA_DIR));
}

function describe(r: RiskRecord): string {
  const lines = [
    `${r.principal}  risk ${r.risk.toFixed(2)} (peak ${r.peak.toFixed(2)})  ${r.flagged ? `FLAGGED at request ${r.firstFlaggedAt} (${r.flaggedAt})` : 'not flagged'}  ${r.queries} requests observed  tenant ${r.tenant ?? '-'}`,
  ];
  if (r.cluster) lines.push(`  cluster ${r.cluster.id}: ${r.cluster.size} linked accounts, pooled risk ${r.cluster.risk.toFixed(2)}`);
  for (const s of [...r.signals].sort((a, b) => b.score - a.score)) if (s.score > 0) lines.push(`  ${s.name.padEnd(15)} value ${String(s.value).padEnd(8)} score ${s.score.toFixed(2)}${s.detail ? `  (${s.detail})` : ''}`);
  for (const e of r.examples) lines.push(`  example: ${JSON.stringify(e)}`);
  return lines.join('\n');
}

async function* jsonLines(file: string): AsyncGenerator<{ line: number; value: Record<string, unknown> }> {
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const raw of rl) {
    n++;
    if (!raw.trim()) continue;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      throw new CliError(`${file}:${n}: not a JSON line`);
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new CliError(`${file}:${n}: expected a JSON object`);
    yield { line: n, value: v as Record<string, unknown> };
  }
}

/** Runs the live engine over `{"ts","principal","tenant"?,"ip"?,"route","body"}` lines. */
export async function replay(file: string, modelFile?: string): Promise<Map<string, RiskRecord>> {
  const engine = new DetectEngine(defaultDetectConfig(), loadSignatureModel(modelFile));
  const seen = new Set<string>();
  const peak = new Map<string, RiskRecord>();
  for await (const { line, value: v } of jsonLines(file)) {
    const ts = typeof v.ts === 'number' ? v.ts : Date.parse(String(v.ts));
    if (!Number.isFinite(ts) || typeof v.principal !== 'string' || !v.body || typeof v.body !== 'object') {
      throw new CliError(`${file}:${line}: expected {"ts","principal","route","body"} (ts as ISO time or epoch ms)`);
    }
    const route = v.route === 'completions' || v.route === 'embeddings' ? v.route : 'chat';
    const risk = engine.observe({ ts, principal: v.principal, tenant: typeof v.tenant === 'string' ? v.tenant : null, ip: typeof v.ip === 'string' ? v.ip : null, route, body: v.body as Record<string, unknown> });
    if (risk === null) continue;
    seen.add(v.principal);
    // A snapshot of the record only when its risk reaches a new high (building one is not free).
    if (risk > (peak.get(v.principal)?.risk ?? -1)) peak.set(v.principal, engine.status(v.principal)!);
  }
  // Report each principal at its riskiest moment, with its final flag state.
  for (const p of seen) {
    const r = engine.status(p);
    if (r) peak.set(p, { ...peak.get(p)!, flagged: r.flagged, firstFlaggedAt: r.firstFlaggedAt, queries: r.queries, peak: r.peak, fired: r.fired });
  }
  return peak;
}

export function registerDetect(program: Command): void {
  const d = program.command('detect').description('extraction detection: who is flagged and why, replay, training');
  const withStore = (c: Command) =>
    c
      .option('--data-dir <dir>', 'data directory shared with `moat serve` (default: from moat.yaml, else ./.moat)')
      .option('-c, --config <file>', 'configuration file (default ./moat.yaml when present)')
      .option('--json', 'print JSON');

  withStore(d.command('status [principal]').description('flagged principals (riskiest first), or one principal with its signals and example queries').option('--all', 'list every principal, not only flagged ones')).action(
    (principal: string | undefined, o: StoreOpts & { all?: boolean }) => {
      const store = openStore(o);
      try {
        if (principal) {
          const r = store.get(principal);
          const allowed = store.allowed().some((a) => a.principal === principal);
          if (!r) {
            if (o.json) printJson({ principal, record: null, allowed });
            else process.stdout.write(`${principal}: no detection record${allowed ? ' (allow-listed)' : ''}\n`);
            return;
          }
          if (o.json) printJson({ ...r, allowed });
          else process.stdout.write(describe(r) + (allowed ? '\n  (allow-listed)' : '') + '\n');
          return;
        }
        const list = store.list({ flaggedOnly: !o.all, limit: 1000 });
        if (o.json) printJson({ principals: list });
        else if (list.length === 0) process.stdout.write(o.all ? 'no principals observed yet\n' : 'no principal is flagged\n');
        else for (const r of list) process.stdout.write(describe(r) + '\n');
      } finally {
        store.close();
      }
    },
  );

  withStore(d.command('clear <principal>').description('forget a principal\'s risk (reviewed, not a thief); a running gateway applies it within seconds')).action((principal: string, o: StoreOpts) => {
    const store = openStore(o);
    try {
      const had = store.clear(principal);
      if (o.json) printJson({ principal, cleared: had });
      else process.stdout.write(had ? `cleared ${principal}\n` : `${principal} had no record; any running gateway will still forget it\n`);
    } finally {
      store.close();
    }
  });

  withStore(d.command('allow <principal>').description('never score or act on a principal (a known batch integration)').option('--remove', 'take it off the allow-list').option('--note <text>', 'why it is allowed')).action(
    (principal: string, o: StoreOpts & { remove?: boolean; note?: string }) => {
      const store = openStore(o);
      try {
        if (o.remove) {
          const removed = store.disallow(principal);
          if (o.json) printJson({ principal, allowed: false, removed });
          else process.stdout.write(removed ? `${principal} is no longer allow-listed\n` : `${principal} was not allow-listed\n`);
        } else {
          store.allow(principal, o.note ?? null);
          if (o.json) printJson({ principal, allowed: true });
          else process.stdout.write(`${principal} is allow-listed\n`);
        }
      } finally {
        store.close();
      }
    },
  );

  d.command('replay')
    .description('run the live detection engine (default thresholds) over recorded traffic; one line per principal')
    .requiredOption('--input <file>', 'JSON lines {"ts","principal","tenant"?,"ip"?,"route","body"} (as `moat audit export` writes)')
    .option('--model <file>', 'signature model file (default: the shipped one)')
    .option('--json', 'print one JSON object per principal and line')
    .action(async (o: { input: string; model?: string; json?: boolean }) => {
      const res = await replay(o.input, o.model);
      for (const [p, r] of res) {
        const signals = [...new Set([...r.fired, ...(r.cluster && r.cluster.risk >= defaultDetectConfig().thresholds.flag ? [`cluster:${r.cluster.id}`] : [])])];
        const out = { principal: p, queries: r.queries, flagged: r.flagged, first_flagged_at: r.firstFlaggedAt, max_score: r.peak, signals };
        if (o.json) printJson(out);
        else process.stdout.write(`${p}  ${r.queries} requests  ${r.flagged ? `flagged at ${r.firstFlaggedAt}` : 'not flagged'}  max ${r.peak.toFixed(2)}  ${signals.join(', ')}\n`);
      }
    });

  d.command('train')
    .description('train the distillation-signature model on labelled traffic')
    .requiredOption('--input <file>', 'JSON lines with "label" (1 = distillation, 0 = ordinary) and "text", or "route" and "body"')
    .requiredOption('--out <file>', 'where to write the model (JSON); point detect.modelFile at it')
    .option('--epochs <n>', 'passes over the data', (v) => Number(v), 12)
    .option('--json', 'print a JSON summary')
    .action(async (o: { input: string; out: string; epochs: number; json?: boolean }) => {
      const examples: { idx: Uint16Array; label: 0 | 1 }[] = [];
      for await (const { line, value: v } of jsonLines(o.input)) {
        if (v.label !== 0 && v.label !== 1) throw new CliError(`${o.input}:${line}: "label" must be 0 or 1`);
        const text = typeof v.text === 'string' ? v.text : v.body && typeof v.body === 'object' ? promptText(String(v.route ?? 'chat'), v.body as Record<string, unknown>) : null;
        if (text === null) throw new CliError(`${o.input}:${line}: expected "text", or "route" and "body"`);
        examples.push({ idx: signatureIndices(text), label: v.label });
      }
      let model;
      try {
        model = trainSignature(examples, { epochs: o.epochs, trainedOn: `moat detect train on ${examples.length} examples` });
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      writeFileSync(o.out, JSON.stringify(modelToJson(model)) + '\n');
      const pos = examples.filter((e) => e.label === 1).length;
      if (o.json) printJson({ out: o.out, examples: examples.length, positive: pos });
      else process.stdout.write(`trained on ${examples.length} examples (${pos} positive); wrote ${o.out}\n`);
    });
}
