/**
 * The detection engine: observes every request of every principal, keeps bounded state per
 * principal and per cluster of linked accounts, and maintains a risk in [0, 1] with its
 * explanation. The gateway stage and `moat detect replay` drive this same class.
 * Pure logic: no I/O (persistence and alerting are adapters that read its records).
 *
 * @example
 *   const engine = new DetectEngine(defaultDetectConfig(), loadSignatureModel());
 *   engine.observe({ ts: Date.now(), principal: 'alice', route: 'chat', body });
 *   engine.riskOf('alice'); // 0.02
 */
import type { JsonObject } from '../pipeline/context.js';
import { ClusterIndex } from './cluster.js';
import { EMBED_DIM, IdfTable, lexicalEmbedding } from './embedding.js';
import { QueryFeatures, excerpt, extractFeatures } from './features.js';
import { scoreSignature, type SignatureModel } from './model.js';
import { Pace } from './pace.js';
import { scoreCluster } from './pooled.js';
import { BenignReference, RFF_DIM, fourierFeatures } from './reference.js';
import type { DetectConfig } from './schema.js';
import { Scores, computeScores, explain, firedNames, type Signal, type SignalContext } from './signals.js';
import { probeParams, promptText, type ProbeParams } from './text.js';
import { ActorWindow } from './window.js';

export interface Observation {
  /** Milliseconds since the epoch. */
  ts: number;
  principal: string;
  tenant?: string | null;
  ip?: string | null;
  route: string;
  /** The request JSON as the client sent it. */
  body: JsonObject;
  /** Completion tokens, when known. */
  tokensOut?: number;
}

/** A principal's (or cluster's) risk and why, as persisted and shown to operators. */
export interface RiskRecord {
  principal: string;
  tenant: string | null;
  /** Current effective risk: the larger of the principal's own and its cluster's. */
  risk: number;
  /** The principal's own risk, from its own traffic only (absent in records of older versions). */
  own?: number;
  /** Highest risk ever reached since the last clear. */
  peak: number;
  flagged: boolean;
  /** When it was first flagged (ISO time), and at which of its queries (1-based). */
  flaggedAt: string | null;
  firstFlaggedAt: number | null;
  queries: number;
  signals: Signal[];
  /** Names of the signals that fired at the peak. */
  fired: string[];
  /** Excerpts of queries that looked suspicious, newest last. */
  examples: string[];
  cluster: { id: string; size: number; risk: number; members: string[]; fired: string[] } | null;
  updatedAt: string;
}

/** Emitted once when a principal becomes flagged (and again after an operator clears it). */
export interface FlagEvent {
  record: RiskRecord;
  viaCluster: boolean;
}

interface Actor {
  w: ActorWindow;
  pace: Pace;
  scores: Scores;
  tenant: string | null;
  risk: number;
  peak: number;
  peakFired: string[];
  flagged: boolean;
  flaggedAt: number | null;
  firstFlaggedAt: number | null;
  examples: string[];
  lastSeen: number;
  /** Signals from a persisted record, shown until new traffic refills the window. */
  restored: Signal[] | null;
}

interface Cluster {
  pace: Pace;
  scores: Scores;
  risk: number;
  /** Member requests since the cluster was last scored. */
  since: number;
}

const MAX_EXAMPLES = 3;
const REFERENCE_MAX_RISK = 0.3;
/** Own risk from which an account may be linked to others (see ClusterIndex.observe). */
const SUSPECT_RISK = 0.25;
/** A cluster is re-scored from its members' windows every this many member requests (and on every merge). */
const CLUSTER_RESCORE = 8;

function newActor(tenant: string | null): Actor {
  return { w: new ActorWindow(), pace: new Pace(), scores: new Scores(), tenant, risk: 0, peak: 0, peakFired: [], flagged: false, flaggedAt: null, firstFlaggedAt: null, examples: [], lastSeen: 0, restored: null };
}

/** How much a request looks like logit probing, in [0, 1]. */
export function probeWeight(p: ProbeParams): number {
  const lowMax = p.maxTokens !== null && p.maxTokens <= 2;
  let w = 0;
  if (p.logitBias || p.echo) w = 1;
  if (p.logprobs) w = Math.max(w, 0.5);
  if (lowMax) w = Math.max(w, p.temperature === 0 ? 0.75 : 0.5);
  if (p.tokenPrompt) w = Math.max(w, 0.5);
  if (p.logprobs && lowMax) w = Math.min(1, w + 0.25);
  return w;
}

export class DetectEngine {
  private readonly actors = new Map<string, Actor>();
  private readonly clusters = new Map<string, Cluster>();
  private readonly tenants = new Map<string, number>();
  readonly allowed: Set<string>;
  readonly idf = new IdfTable();
  readonly reference = new BenignReference();
  readonly index = new ClusterIndex();
  private readonly dirty = new Set<string>();
  private readonly evicted: RiskRecord[] = [];
  // Reused on every request: the engine analyses one request at a time.
  private readonly f = new QueryFeatures();
  private readonly emb = new Int8Array(EMBED_DIM);
  private readonly phi = new Float64Array(RFF_DIM);
  private readonly ctx: SignalContext;
  private readonly isSuspect = (p: string) => (this.actors.get(p)?.peak ?? 0) >= SUSPECT_RISK;
  /** Called when a principal becomes flagged. */
  onFlag: ((e: FlagEvent) => void) | null = null;

  constructor(
    readonly config: DetectConfig,
    private readonly model: SignatureModel,
  ) {
    this.allowed = new Set(config.allow);
    this.ctx = { tuning: config.signals, reference: this.reference, tenantHourly: 0 };
    this.index.onMerge = (keep, drop, keepMembers, dropMembers) => {
      // The merged cluster's pace starts from both sides' excess (a side without cluster
      // state is its members' own); it is scored on its next member request.
      const c: Cluster = { pace: new Pace(), scores: new Scores(), risk: 0, since: CLUSTER_RESCORE };
      for (const [root, members] of [[keep, keepMembers], [drop, dropMembers]] as const) {
        const side = this.clusters.get(root);
        if (side) c.pace.absorb(side.pace);
        else for (const m of members) c.pace.absorb(this.actors.get(m)?.pace);
      }
      this.clusters.set(keep, c);
      this.clusters.delete(drop);
    };
  }

  /**
   * Observes one request and returns the principal's effective risk, or null when it is
   * allow-listed. `external` is the query's embedding from the operator's embedding model
   * (any dimension is projected), used instead of the built-in lexical one when given.
   */
  observe(o: Observation, external: Int8Array | null = null): number | null {
    if (this.allowed.has(o.principal)) return null;
    const text = promptText(o.route, o.body);
    const f = extractFeatures(text, this.f);
    const params = probeParams(o.route, o.body);
    let a = this.actors.get(o.principal);
    if (!a) a = newActor(o.tenant ?? null);
    else this.actors.delete(o.principal); // re-insert: the map's order is recency, for eviction
    this.actors.set(o.principal, a);
    a.lastSeen = o.ts;
    if (o.tenant) a.tenant = o.tenant;

    this.idf.add(f.terms, f.termLen);
    const emb = external ?? lexicalEmbedding(f.terms, this.idf, this.emb, f.termLen);
    const phi = fourierFeatures(emb, this.phi);
    const sig = scoreSignature(this.model, f.sigIdx, f.sigLen);
    const probe = probeWeight(params);
    const single = params.priorTurns === 0;
    a.w.add(f, { ts: o.ts, signature: sig, probe, tokensIn: Math.ceil(f.chars / 4) }, emb, phi);
    a.pace.add(o.ts, single, this.config.signals.harvest);
    if (o.tokensOut) a.w.tokensOut += o.tokensOut;
    const last = (a.w.count - 1) % a.w.ts.length;
    if (sig >= 0.5 || probe > 0 || f.unnatural >= 0.5 || a.w.dup[last] || a.w.enumr[last]) {
      a.examples.push(excerpt(text));
      if (a.examples.length > MAX_EXAMPLES) a.examples.shift();
    }

    const tenantHourly = a.tenant ? (this.tenants.get(a.tenant) ?? 0) : 0;
    this.ctx.tenantHourly = tenantHourly;
    computeScores(a.w, a.pace, this.ctx, a.scores);
    a.risk = a.scores.risk();
    if (a.risk < REFERENCE_MAX_RISK) this.reference.add(phi);
    if (a.tenant && a.w.hoursSeen >= 24) this.tenants.set(a.tenant, tenantHourly + (a.w.baselineHourly - tenantHourly) * 0.02);

    // Cross-account: only accounts that already look somewhat like extraction can be linked,
    // so only theirs are indexed (most requests skip this), then the cluster is scored as one actor.
    if (a.peak >= SUSPECT_RISK || a.risk >= SUSPECT_RISK) this.index.observe(o.principal, f, o.ip, this.isSuspect);
    const root = this.index.root(o.principal);
    const c = this.index.size(root) > 1 ? this.clusterState(root) : null;
    if (c) {
      c.pace.add(o.ts, single, this.config.signals.harvest, this.index.size(root));
      if (++c.since >= CLUSTER_RESCORE) this.scoreCluster(root, c);
    }
    const clusterRisk = c?.risk ?? 0;

    const effective = Math.max(a.risk, clusterRisk);
    if (effective > a.peak) {
      a.peak = effective;
      a.peakFired = firedNames(a.scores);
      if (clusterRisk > a.risk) a.peakFired.push(`cluster:${root}`);
    }
    this.dirty.add(o.principal);
    const becameFlagged = !a.flagged && effective >= this.config.thresholds.flag;
    if (becameFlagged) {
      a.flagged = true;
      a.flaggedAt = o.ts;
      a.firstFlaggedAt = a.w.count;
    }
    this.evict();
    if (becameFlagged) this.onFlag?.({ record: this.record(o.principal, a), viaCluster: clusterRisk > a.risk });
    return effective;
  }

  private clusterState(root: string): Cluster {
    let c = this.clusters.get(root);
    if (!c) {
      c = { pace: new Pace(), scores: new Scores(), risk: 0, since: CLUSTER_RESCORE };
      for (const m of this.index.members(root)) c.pace.absorb(this.actors.get(m)?.pace);
      this.clusters.set(root, c);
    }
    return c;
  }

  private scoreCluster(root: string, c: Cluster): void {
    const windows = [];
    for (const m of this.index.members(root)) {
      const a = this.actors.get(m);
      if (a) windows.push(a.w);
    }
    c.risk = scoreCluster(windows, c.pace, this.config.signals, c.scores);
    c.since = 0;
  }

  /** The effective risk of a principal now (0 when unknown or allow-listed). */
  riskOf(principal: string): number {
    if (this.allowed.has(principal)) return 0;
    const a = this.actors.get(principal);
    if (!a) return 0;
    const root = this.index.root(principal);
    const c = this.index.size(root) > 1 ? this.clusters.get(root) : undefined;
    return Math.max(a.risk, c?.risk ?? 0);
  }

  /** A principal's own risk, from its own traffic only (0 when unknown). */
  ownRisk(principal: string): number {
    return this.actors.get(principal)?.risk ?? 0;
  }

  private clusterOf(principal: string): RiskRecord['cluster'] {
    const root = this.index.root(principal);
    const c = this.clusters.get(root);
    const size = this.index.size(root);
    if (!c || size < 2) return null;
    return { id: root, size, risk: c.risk, members: [...this.index.members(root)].slice(0, 64), fired: firedNames(c.scores) };
  }

  private record(principal: string, a: Actor): RiskRecord {
    const cluster = this.clusterOf(principal);
    this.ctx.tenantHourly = a.tenant ? (this.tenants.get(a.tenant) ?? 0) : 0;
    const own = a.w.count === 0 && a.restored ? a.restored : explain(a.scores, a.w, a.pace, this.ctx);
    const signals = cluster && cluster.risk > a.risk ? [...own, { name: 'cluster' as const, value: cluster.size, score: cluster.risk, detail: `scored with ${cluster.size - 1} linked accounts as ${cluster.id}: ${cluster.fired.join(', ') || 'no single signal'}` }] : own;
    return {
      principal,
      tenant: a.tenant,
      risk: Math.max(a.risk, cluster?.risk ?? 0),
      own: a.risk,
      peak: a.peak,
      flagged: a.flagged,
      flaggedAt: a.flaggedAt !== null ? new Date(a.flaggedAt).toISOString() : null,
      firstFlaggedAt: a.firstFlaggedAt,
      queries: a.w.count,
      signals,
      fired: a.peakFired,
      examples: [...a.examples],
      cluster,
      updatedAt: new Date(a.lastSeen).toISOString(),
    };
  }

  /** The record of one principal held in memory, or null. */
  status(principal: string): RiskRecord | null {
    const a = this.actors.get(principal);
    return a ? this.record(principal, a) : null;
  }

  /** Every principal held in memory, riskiest first. */
  all(): RiskRecord[] {
    return [...this.actors.entries()].map(([p, a]) => this.record(p, a)).sort((x, y) => y.risk - x.risk);
  }

  /** Records changed since the last call (for the persistence adapter). */
  drainDirty(): RiskRecord[] {
    const out: RiskRecord[] = this.evicted.splice(0);
    for (const p of this.dirty) {
      const a = this.actors.get(p);
      if (a) out.push(this.record(p, a));
    }
    this.dirty.clear();
    return out;
  }

  /** Restores flags and risk from a persisted record (windows start empty after a restart). */
  restore(r: RiskRecord): void {
    const a = newActor(r.tenant);
    a.risk = r.own ?? r.risk;
    a.peak = r.peak;
    a.peakFired = r.fired;
    a.flagged = r.flagged;
    a.flaggedAt = r.flaggedAt ? Date.parse(r.flaggedAt) : null;
    a.firstFlaggedAt = r.firstFlaggedAt;
    a.examples = r.examples.slice(-MAX_EXAMPLES);
    a.restored = r.signals.filter((x) => x.name !== 'cluster');
    a.lastSeen = Date.parse(r.updatedAt) || 0;
    this.actors.set(r.principal, a);
  }

  /** Forgets everything about a principal (operator: "reviewed, not a thief"). */
  clear(principal: string): boolean {
    const had = this.actors.delete(principal);
    const root = this.index.root(principal);
    this.index.detach(principal);
    this.clusters.delete(root);
    this.dirty.delete(principal);
    return had;
  }

  allow(principal: string): void {
    this.allowed.add(principal);
    this.clear(principal);
  }

  disallow(principal: string): void {
    this.allowed.delete(principal);
  }

  private evict(): void {
    const max = this.config.maxPrincipals;
    if (this.actors.size <= max) return;
    for (const p of this.actors.keys()) {
      if (this.actors.size <= max) break;
      if (this.dirty.delete(p)) this.evicted.push(this.record(p, this.actors.get(p)!));
      this.actors.delete(p);
    }
  }
}
