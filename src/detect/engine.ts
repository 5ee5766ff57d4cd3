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
import { extractFeatures, type QueryFeatures } from './features.js';
import { scoreSignature, type SignatureModel } from './model.js';
import { BenignReference, RFF_DIM, fourierFeatures } from './reference.js';
import type { DetectConfig } from './schema.js';
import { combine, computeSignals, fired, type Signal } from './signals.js';
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
  cluster: { id: string; size: number; risk: number } | null;
  updatedAt: string;
}

/** Emitted once when a principal becomes flagged (and again after an operator clears it). */
export interface FlagEvent {
  record: RiskRecord;
  viaCluster: boolean;
}

interface Actor {
  w: ActorWindow;
  tenant: string | null;
  risk: number;
  signals: Signal[];
  peak: number;
  peakFired: string[];
  flagged: boolean;
  flaggedAt: number | null;
  firstFlaggedAt: number | null;
  examples: string[];
  lastSeen: number;
}

const MAX_EXAMPLES = 3;
const REFERENCE_MAX_RISK = 0.3;
/** Own risk from which an account may be linked to others (see ClusterIndex.observe). */
const SUSPECT_RISK = 0.25;

function newActor(tenant: string | null): Actor {
  return { w: new ActorWindow(), tenant, risk: 0, signals: [], peak: 0, peakFired: [], flagged: false, flaggedAt: null, firstFlaggedAt: null, examples: [], lastSeen: 0 };
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
  private readonly clusters = new Map<string, Actor>();
  private readonly tenants = new Map<string, number>();
  readonly allowed: Set<string>;
  readonly idf = new IdfTable();
  readonly reference = new BenignReference();
  readonly index = new ClusterIndex();
  private readonly dirty = new Set<string>();
  private readonly evicted: RiskRecord[] = [];
  private readonly emb = new Int8Array(EMBED_DIM);
  private readonly phi = new Float64Array(RFF_DIM);
  private readonly isSuspect = (p: string) => (this.actors.get(p)?.peak ?? 0) >= SUSPECT_RISK;
  /** Called when a principal becomes flagged. */
  onFlag: ((e: FlagEvent) => void) | null = null;

  constructor(
    readonly config: DetectConfig,
    private readonly model: SignatureModel,
  ) {
    this.allowed = new Set(config.allow);
    // The pooled window of the larger side survives a merge (it holds the most evidence).
    this.index.onMerge = (keep, drop) => {
      const a = this.clusters.get(keep);
      const b = this.clusters.get(drop);
      if (b && (!a || b.w.count > a.w.count)) this.clusters.set(keep, b);
      this.clusters.delete(drop);
    };
  }

  /** Observes one request. Returns the principal's record, or null when it is allow-listed. */
  observe(o: Observation): RiskRecord | null {
    if (this.allowed.has(o.principal)) return null;
    const text = promptText(o.route, o.body);
    const f = extractFeatures(text);
    const params = probeParams(o.route, o.body);
    return this.observeFeatures(o, f, params, null);
  }

  /**
   * Observes a request whose features are already computed; `external` is an embedding from
   * the operator's embedding model, used instead of the lexical one when given.
   */
  observeFeatures(o: Observation, f: QueryFeatures, params: ProbeParams, external: Int8Array | null): RiskRecord {
    let a = this.actors.get(o.principal);
    if (!a) a = newActor(o.tenant ?? null);
    else this.actors.delete(o.principal); // re-insert: the map's order is recency, for eviction
    this.actors.set(o.principal, a);
    a.lastSeen = o.ts;
    if (o.tenant) a.tenant = o.tenant;

    this.idf.add(f.topicTerms);
    const emb = external ?? lexicalEmbedding(f.topicTerms, this.idf, this.emb);
    const phi = fourierFeatures(emb, this.phi);
    const sig = scoreSignature(this.model, f.sigIdx);
    const probe = probeWeight(params);
    const scalars = { ts: o.ts, signature: sig, probe, tokensIn: Math.ceil(f.chars / 4) };
    a.w.add(f, scalars, emb, phi, fourierFeatures);
    if (o.tokensOut) a.w.tokensOut += o.tokensOut;
    if (sig >= 0.5 || probe > 0 || f.unnatural >= 0.5 || a.w.dup[(a.w.count - 1) % a.w.ts.length] || a.w.enumr[(a.w.count - 1) % a.w.ts.length]) {
      a.examples.push(f.excerpt);
      if (a.examples.length > MAX_EXAMPLES) a.examples.shift();
    }

    const tenantHourly = a.tenant ? (this.tenants.get(a.tenant) ?? 0) : 0;
    a.signals = computeSignals(a.w, { tuning: this.config.signals, reference: this.reference, tenantHourly });
    a.risk = combine(a.signals);
    if (a.risk < REFERENCE_MAX_RISK) this.reference.add(phi);
    if (a.tenant && a.w.hoursSeen >= 24) this.tenants.set(a.tenant, tenantHourly + (a.w.baselineHourly - tenantHourly) * 0.02);

    // Cross-account: link, then feed the pooled actor of the principal's cluster.
    this.index.observe(o.principal, f, o.ip, this.isSuspect);
    const root = this.index.root(o.principal);
    let clusterRisk = 0;
    if (root !== o.principal || this.clusters.has(root)) {
      let c = this.clusters.get(root);
      if (!c) {
        c = newActor(a.tenant);
        this.clusters.set(root, c);
      }
      c.w.add(f, scalars, emb, phi, fourierFeatures);
      c.lastSeen = o.ts;
      c.signals = computeSignals(c.w, { tuning: this.config.signals, reference: null, tenantHourly: 0, contentOnly: true });
      c.risk = combine(c.signals);
      clusterRisk = c.risk;
    }

    const effective = Math.max(a.risk, clusterRisk);
    if (effective > a.peak) {
      a.peak = effective;
      a.peakFired = fired(a.signals);
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
    const rec = this.record(o.principal, a);
    if (becameFlagged) this.onFlag?.({ record: rec, viaCluster: clusterRisk > a.risk });
    return rec;
  }

  /** The effective risk of a principal now (0 when unknown or allow-listed). */
  riskOf(principal: string): number {
    if (this.allowed.has(principal)) return 0;
    const a = this.actors.get(principal);
    if (!a) return 0;
    const root = this.index.root(principal);
    const c = root !== principal ? this.clusters.get(root) : undefined;
    return Math.max(a.risk, c?.risk ?? 0);
  }

  private clusterOf(principal: string): RiskRecord['cluster'] {
    const root = this.index.root(principal);
    const c = this.clusters.get(root);
    if (!c) return null;
    const size = this.index.size(root);
    return size > 1 ? { id: root, size, risk: c.risk } : null;
  }

  private record(principal: string, a: Actor): RiskRecord {
    const cluster = this.clusterOf(principal);
    const signals = cluster && cluster.risk > a.risk ? [...a.signals, { name: 'cluster' as const, value: cluster.size, score: cluster.risk, detail: `scored with ${cluster.size - 1} linked accounts as ${cluster.id}` }] : a.signals;
    return {
      principal,
      tenant: a.tenant,
      risk: Math.max(a.risk, cluster?.risk ?? 0),
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
    a.risk = r.risk;
    a.peak = r.peak;
    a.peakFired = r.fired;
    a.flagged = r.flagged;
    a.flaggedAt = r.flaggedAt ? Date.parse(r.flaggedAt) : null;
    a.firstFlaggedAt = r.firstFlaggedAt;
    a.examples = r.examples.slice(-MAX_EXAMPLES);
    a.signals = r.signals.filter((s) => s.name !== 'cluster');
    a.lastSeen = Date.parse(r.updatedAt) || 0;
    this.actors.set(r.principal, a);
  }

  /** Forgets everything about a principal (operator: "reviewed, not a thief"). */
  clear(principal: string): boolean {
    const had = this.actors.delete(principal);
    this.index.detach(principal);
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
      this.clusters.delete(p);
    }
  }
}
