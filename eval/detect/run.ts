/**
 * `npm run eval:detect`: trains the signature model on the calibration part, calibrates the
 * flag threshold on calibration traffic (benign accounts flagged <= 1%), then reports on the
 * held-out part with the shipped defaults. Writes bench/results/detect.json and the table in
 * docs/detection.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { DetectEngine } from '../../src/detect/engine.js';
import { modelToJson, type SignatureModel } from '../../src/detect/model.js';
import { SHIPPED_MODEL } from '../../src/detect/model-file.js';
import { defaultDetectConfig } from '../../src/detect/schema.js';
import { loadCorpus, type Part } from './corpus.js';
import { attackAccounts, benignAccounts, integrationAccounts, type Account, type Kind } from './streams.js';
import { trainShippedModel } from './train.js';

interface Trace {
  account: Account;
  /** Effective risk (own or cluster) and own risk after each of the account's queries. */
  risks: Float32Array;
  own: Float32Array;
  fired: string[];
}

interface SplitWatch {
  /** Queries of the split group seen when its largest cluster's risk first reached the threshold (null: never). */
  clusterFlaggedAt: number | null;
  maxClusterRisk: number;
  seen: number;
}

/** Attacks split over several accounts, whose clusters are watched. */
const SPLIT_KINDS = ['attack:split', 'attack:split-small'] as const;

function simulate(accounts: Account[], model: SignatureModel, threshold: number): { traces: Trace[]; engine: DetectEngine; usPerQuery: number; split: Map<string, SplitWatch> } {
  const engine = new DetectEngine(defaultDetectConfig(), model);
  const all = accounts.flatMap((a) => a.events.map((e) => ({ e, a })));
  all.sort((x, y) => x.e.ts - y.e.ts);
  const traces = new Map<string, Trace>(accounts.map((a) => [a.principal, { account: a, risks: new Float32Array(a.events.length), own: new Float32Array(a.events.length), fired: [] }]));
  const idx = new Map<string, number>();
  const split = new Map<string, SplitWatch>(SPLIT_KINDS.map((k) => [k, { clusterFlaggedAt: null, maxClusterRisk: 0, seen: 0 }]));
  let t0 = process.hrtime.bigint();
  let spent = 0n;
  for (const { e, a } of all) {
    const risk = engine.observe(e)!;
    spent += process.hrtime.bigint() - t0;
    const i = idx.get(e.principal) ?? 0;
    idx.set(e.principal, i + 1);
    const t = traces.get(e.principal)!;
    t.risks[i] = risk;
    t.own[i] = engine.ownRisk(e.principal);
    const w = split.get(a.kind);
    if (w) {
      w.seen++;
      const c = engine.status(e.principal)?.cluster;
      if (c) {
        w.maxClusterRisk = Math.max(w.maxClusterRisk, c.risk);
        if (w.clusterFlaggedAt === null && c.risk >= threshold) w.clusterFlaggedAt = w.seen;
      }
    }
    t0 = process.hrtime.bigint();
  }
  const usPerQuery = Number(spent) / 1000 / all.length;
  for (const t of traces.values()) t.fired = engine.status(t.account.principal)?.fired ?? [];
  return { traces: [...traces.values()], engine, usPerQuery, split };
}

const maxOf = (a: Float32Array) => a.reduce((m, x) => Math.max(m, x), 0);
const firstAt = (a: Float32Array, t: number) => {
  const i = a.findIndex((x) => x >= t);
  return i < 0 ? null : i + 1;
};

function auroc(neg: number[], pos: number[]): number {
  if (!neg.length || !pos.length) return NaN;
  let s = 0;
  for (const p of pos) for (const n of neg) s += p > n ? 1 : p === n ? 0.5 : 0;
  return s / (neg.length * pos.length);
}

const median = (xs: number[]) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};

const BUDGET: Partial<Record<Kind, number>> = {
  'attack:signature': 200,
  'attack:template': 200,
  'attack:probe': 200,
  'attack:random': 200,
  'attack:topic': 1500,
  'attack:topic-paced': 1500,
  'attack:mixed': 1500,
  'attack:split': 200,
  'attack:split-small': 10,
};
const TARGET: Partial<Record<Kind, number>> = { 'attack:signature': 0.95, 'attack:template': 0.95, 'attack:probe': 0.95, 'attack:random': 0.95, 'attack:topic': 0.8, 'attack:mixed': 0.8 };
const share = (xs: unknown[], n: number) => (n ? xs.length / n : 0);

function report(sim: ReturnType<typeof simulate>, t: number) {
  const { traces, engine } = sim;
  const benign = traces.filter((x) => x.account.kind.startsWith('benign'));
  const benignMax = benign.map((x) => maxOf(x.risks));
  const rows: Record<string, unknown>[] = [];
  const byKind = new Map<string, Trace[]>();
  for (const x of traces) byKind.set(x.account.kind, [...(byKind.get(x.account.kind) ?? []), x]);
  for (const [kind, list] of [...byKind].sort()) {
    const firsts = list.map((x) => firstAt(x.risks, t));
    const ownFirsts = list.map((x) => firstAt(x.own, t));
    const budget = BUDGET[kind as Kind];
    const within = (fs: (number | null)[]) => fs.filter((f) => f !== null && (!budget || f <= budget));
    const fired = new Map<string, number>();
    for (const x of list) if (firstAt(x.risks, t) !== null) for (const s of x.fired) fired.set(s.replace(/:.*/, ''), (fired.get(s.replace(/:.*/, '')) ?? 0) + 1);
    rows.push({
      kind,
      accounts: list.length,
      queries: list.reduce((s, x) => s + x.risks.length, 0),
      flagged_rate: share(firsts.filter((f) => f !== null), list.length),
      own_flagged_rate: share(ownFirsts.filter((f) => f !== null), list.length),
      ...(budget ? { budget, within_budget_rate: share(within(firsts), list.length), own_within_budget_rate: share(within(ownFirsts), list.length), target: TARGET[kind as Kind] ?? null } : {}),
      median_queries_to_detection: median(firsts.filter((f): f is number => f !== null)),
      own_median_queries_to_detection: median(ownFirsts.filter((f): f is number => f !== null)),
      auroc_vs_benign: kind.startsWith('attack') ? auroc(benignMax, list.map((x) => maxOf(x.risks))) : null,
      highest_risk: Math.max(...list.map((x) => maxOf(x.risks))),
      top_signals: [...fired].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k} (${v})`),
    });
  }
  const attacks = traces.filter((x) => x.account.kind.startsWith('attack') && x.account.kind !== 'attack:topic-paced');
  const kindOf = new Map(traces.map((x) => [x.account.principal, x.account.kind]));
  const splitClusters = SPLIT_KINDS.map((kind) => {
    const split = traces.filter((x) => x.account.kind === kind);
    const roots = new Map<string, number>();
    for (const x of split) {
      const r = engine.index.root(x.account.principal);
      roots.set(r, (roots.get(r) ?? 0) + 1);
    }
    const [bigRoot, bigSize] = [...roots].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
    const cluster = engine.status(split.find((x) => engine.index.root(x.account.principal) === bigRoot)?.account.principal ?? '')?.cluster ?? null;
    const members = new Map<string, number>();
    for (const m of engine.index.members(bigRoot)) members.set(kindOf.get(m) ?? '?', (members.get(kindOf.get(m) ?? '?') ?? 0) + 1);
    const w = sim.split.get(kind)!;
    return {
      kind,
      accounts: split.length,
      queries_per_account: split[0]?.risks.length ?? 0,
      largest_cluster_split_members: bigSize > 1 ? bigSize : 0,
      cluster_members_by_kind: Object.fromEntries(members),
      cluster_risk_final: cluster?.risk ?? null,
      cluster_risk_max: w.maxClusterRisk,
      cluster_signals: cluster?.fired ?? [],
      cluster_flagged: w.clusterFlaggedAt !== null,
      cluster_flagged_after_group_queries: w.clusterFlaggedAt,
    };
  });
  const heavy = benign.filter((x) => x.risks.length >= 300);
  const flaggedBenign = benign.filter((x) => firstAt(x.risks, t) !== null);
  return {
    threshold: t,
    benign_accounts: benign.length,
    benign_fpr: share(flaggedBenign, benign.length),
    benign_heavy_accounts: heavy.length,
    benign_heavy_fpr: share(heavy.filter((x) => firstAt(x.risks, t) !== null), heavy.length),
    benign_fp_accounts: flaggedBenign.map((x) => ({ principal: x.account.principal, kind: x.account.kind, queries: x.risks.length, max: maxOf(x.risks), fired: x.fired })),
    auroc_all: auroc(benignMax, attacks.map((x) => maxOf(x.risks))),
    kinds: rows,
    split_clusters: splitClusters,
  };
}

/** Smallest threshold (on a 0.01 grid) at which at most 1% of calibration benign accounts are flagged. */
function calibrate(traces: Trace[]): number {
  const benignMax = traces.filter((x) => x.account.kind.startsWith('benign')).map((x) => maxOf(x.risks));
  for (let t = 0.05; t <= 1; t += 0.01) {
    if (benignMax.filter((m) => m >= t).length / benignMax.length <= 0.01) return Math.round(t * 100) / 100;
  }
  return 1;
}

function fmt(x: unknown): string {
  if (typeof x === 'number') return Number.isInteger(x) ? String(x) : x.toFixed(3);
  if (x === null || x === undefined) return '–';
  return Array.isArray(x) ? x.join(', ') : String(x);
}

const pct = (x: unknown) => `${((x as number) * 100).toFixed(1)}%`;

function markdown(rep: ReturnType<typeof report>, cal: ReturnType<typeof report>): string {
  const lines = [
    `Report part (held out), threshold ${rep.threshold}: benign accounts flagged ${pct(rep.benign_fpr)} of ${rep.benign_accounts} (heavy users, 300+ requests: ${pct(rep.benign_heavy_fpr)} of ${rep.benign_heavy_accounts}; calibration part: ${pct(cal.benign_fpr)} of ${cal.benign_accounts}); AUROC benign vs attacks ${fmt(rep.auroc_all)}.`,
    '',
    '| accounts | n | flagged: own evidence / with cluster | within budget, own evidence (target) | median queries to detection (own) | AUROC vs benign (attacks); highest risk (others) | signals that fired most |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rep.kinds) {
    const wb = r.budget ? `${pct(r.own_within_budget_rate)} in ${fmt(r.budget)}${r.target ? ` (≥ ${(r.target as number) * 100}%)` : ''}` : '–';
    lines.push(`| ${fmt(r.kind)} | ${fmt(r.accounts)} | ${pct(r.own_flagged_rate)} / ${pct(r.flagged_rate)} | ${wb} | ${fmt(r.own_median_queries_to_detection)} | ${r.auroc_vs_benign !== null ? fmt(r.auroc_vs_benign) : `max ${fmt(r.highest_risk)}`} | ${fmt(r.top_signals)} |`);
  }
  for (const s of rep.split_clusters) {
    const members = Object.entries(s.cluster_members_by_kind)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
    lines.push(
      '',
      `${s.kind} (${s.accounts} accounts × ${s.queries_per_account} requests): ${s.largest_cluster_split_members} of them in one cluster (members: ${members || 'none'}); cluster risk ${fmt(s.cluster_risk_final)} at the end (max ${fmt(s.cluster_risk_max)}; ${fmt(s.cluster_signals)}); ` +
        `flagged as a cluster: ${s.cluster_flagged ? `yes, after ${s.cluster_flagged_after_group_queries} of the group's requests` : 'no'}.`,
    );
  }
  return lines.join('\n');
}

function run(): void {
  const corpora = { calibration: loadCorpus('calibration'), report: loadCorpus('report') };
  const model = trainShippedModel(corpora.calibration);
  writeFileSync(SHIPPED_MODEL, JSON.stringify(modelToJson(model)) + '\n');
  const parts = {} as Record<Part, ReturnType<typeof simulate>>;
  for (const part of ['calibration', 'report'] as const) {
    const c = corpora[part];
    const seed = part === 'calibration' ? 11 : 22;
    const accounts = [...benignAccounts(part, c, Number(process.env.BENIGN ?? 300), seed), ...integrationAccounts(part, c, 6, seed + 2), ...attackAccounts(part, c, Number(process.env.ATTACKS ?? 12), seed + 1)];
    parts[part] = simulate(accounts, model, defaultDetectConfig().thresholds.flag);
    console.error(`${part}: ${accounts.length} accounts, ${parts[part].usPerQuery.toFixed(1)} µs per query`);
  }
  const tCal = calibrate(parts.calibration.traces);
  const tDefault = defaultDetectConfig().thresholds.flag;
  const cal = report(parts.calibration, tDefault);
  const rep = report(parts.report, tDefault);
  const result = {
    generated: new Date().toISOString(),
    note: 'Report part = sources, files, models and wordings never used for training or calibration. Threshold = the shipped default. own_* figures count only the account\'s own evidence (not links to other accounts); info:integration accounts (single-turn automated apps, expected to be allow-listed) are not benign accounts.',
    calibrated_threshold: tCal,
    default_threshold: tDefault,
    us_per_query: { calibration: parts.calibration.usPerQuery, report: parts.report.usPerQuery },
    calibration: cal,
    report: rep,
    report_at_calibrated_threshold: tCal !== tDefault ? report(parts.report, tCal) : null,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/detect.json', JSON.stringify(result, null, 2) + '\n');
  const md = markdown(rep, cal);
  try {
    const doc = readFileSync('docs/detection.md', 'utf8');
    const re = /(<!-- eval:detect:begin -->)[\s\S]*(<!-- eval:detect:end -->)/;
    if (re.test(doc)) writeFileSync('docs/detection.md', doc.replace(re, `$1\n${md}\n$2`));
  } catch {
    // docs/detection.md absent: the table is printed below anyway.
  }
  console.log(md);
  if (tCal !== tDefault) console.log(`\nnote: calibration suggests a flag threshold of ${tCal}; the shipped default is ${tDefault}.`);
}

run();
