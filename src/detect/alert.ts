/**
 * Alerts for newly flagged principals: one structured log line always, and a POST of a
 * Slack-compatible JSON body (`text` plus `blocks`) to the configured webhook. Alert bodies
 * name signals and values but never quote prompts: the evidence stays in `moat detect status`.
 */
import type { Logger } from 'pino';
import { request } from 'undici';
import type { FlagEvent } from './engine.js';
import type { DetectConfig } from './schema.js';

/** The webhook body for a flag event (Slack incoming-webhook compatible). */
export function alertBody(e: FlagEvent): { text: string; blocks: unknown[] } {
  const r = e.record;
  const fired = r.signals
    .filter((s) => s.score >= 0.25)
    .sort((a, b) => b.score - a.score)
    .map((s) => `${s.name} = ${s.value} (score ${s.score.toFixed(2)})`);
  const who = r.cluster ? `${r.principal} (cluster ${r.cluster.id}, ${r.cluster.size} accounts)` : r.principal;
  const text = `Moat: possible model extraction by ${who}: risk ${r.risk.toFixed(2)} after ${r.queries} requests${e.viaCluster ? ', scored with its linked accounts' : ''}.`;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${text}*` } },
      { type: 'section', text: { type: 'mrkdwn', text: fired.length ? fired.map((f) => `• ${f}`).join('\n') : 'no single signal dominates' } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `tenant ${r.tenant ?? '-'} · see \`moat detect status ${r.principal}\`` }] },
    ],
  };
}

export class Alerter {
  private readonly last = new Map<string, number>();
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly cfg: DetectConfig['alert'],
    private readonly log: Logger,
  ) {}

  /** Logs and (at most once per cooldown per principal) posts the alert; never throws. */
  notify(e: FlagEvent): void {
    const r = e.record;
    this.log.warn({ detect: { principal: r.principal, tenant: r.tenant, risk: r.risk, cluster: r.cluster?.id ?? null, fired: r.fired } }, 'possible model extraction: principal flagged');
    const url = this.cfg.webhookURL;
    if (!url) return;
    const now = Date.now();
    const prev = this.last.get(r.principal);
    if (prev !== undefined && now - prev < this.cfg.cooldownMs) return;
    this.last.set(r.principal, now);
    if (this.last.size > 10_000) this.last.delete(this.last.keys().next().value!);
    const p = this.post(url, alertBody(e)).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private async post(url: string, body: unknown): Promise<void> {
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        headersTimeout: this.cfg.timeoutMs,
        bodyTimeout: this.cfg.timeoutMs,
      });
      await res.body.dump();
      if (res.statusCode >= 300) this.log.warn({ status: res.statusCode }, 'detection alert webhook refused the alert');
    } catch (err) {
      // The webhook address may carry a token: log the failure kind only.
      this.log.warn({ code: (err as { code?: string }).code ?? 'unknown' }, 'detection alert webhook could not be reached');
    }
  }

  /** Waits for alerts being sent (shutdown, tests). */
  async drain(): Promise<void> {
    await Promise.all([...this.inflight]);
  }
}
