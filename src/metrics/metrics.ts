/**
 * Prometheus metrics. Labels are bounded sets (route, configured model, status, error code):
 * never a principal, a key or anything a client can make up, so cardinality stays fixed and no
 * secret can reach a label.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { elapsedMs, type RequestContext } from '../pipeline/context.js';

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'moat_requests_total',
    help: 'Requests handled, by route, model, status and outcome',
    labelNames: ['route', 'model', 'status', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'moat_request_duration_seconds',
    help: 'Time from request to the end of the response, by route',
    labelNames: ['route', 'stream'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly upstreamErrors = new Counter({
    name: 'moat_upstream_errors_total',
    help: 'Upstream failures and timeouts, by model and error code',
    labelNames: ['model', 'code'] as const,
    registers: [this.registry],
  });
  readonly denials = new Counter({
    name: 'moat_denials_total',
    help: 'Requests refused by Moat, by reason (error code)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaults?: boolean } = {}) {
    if (opts.defaults !== false) collectDefaultMetrics({ register: this.registry, prefix: 'moat_' });
  }

  // prom-client's labels() hashes its arguments on every call; the label sets in use are few
  // and bounded, so each labelled child is looked up once and kept.
  private readonly requestChildren = new Map<string, { inc(): void }>();
  private readonly latencyChildren = new Map<string, { observe(v: number): void }>();

  /** Records one finished request. */
  observe(ctx: RequestContext): void {
    const model = ctx.model?.name ?? 'none';
    const rk = `${ctx.route}\0${model}\0${ctx.status}\0${ctx.outcome}`;
    let req = this.requestChildren.get(rk);
    if (!req) this.requestChildren.set(rk, (req = this.requests.labels(ctx.route, model, String(ctx.status), ctx.outcome)));
    req.inc();
    const lk = ctx.stream ? `${ctx.route}\0true` : ctx.route;
    let lat = this.latencyChildren.get(lk);
    if (!lat) this.latencyChildren.set(lk, (lat = this.latency.labels(ctx.route, ctx.stream ? 'true' : 'false')));
    lat.observe(elapsedMs(ctx) / 1000);
    if (ctx.outcome === 'denied' && ctx.error) this.denials.labels(ctx.error.code).inc();
    if (ctx.outcome === 'upstream_error' && ctx.error) this.upstreamErrors.labels(model, ctx.error.code).inc();
  }
}
