/**
 * Detection as the gateway runs it: the engine, its store in the data directory (restored at
 * start, saved every `persistMs`), the alerter, and the operator commands from the CLI.
 */
import type { Logger } from 'pino';
import { Alerter } from './alert.js';
import { DetectEngine, type RiskRecord } from './engine.js';
import { loadSignatureModel } from './model-file.js';
import type { DetectConfig } from './schema.js';
import { DetectStore } from './sqlite-store.js';

export class DetectService {
  readonly engine: DetectEngine;
  readonly store: DetectStore;
  readonly alerter: Alerter;
  private readonly timer: NodeJS.Timeout;

  constructor(
    cfg: DetectConfig,
    dataDir: string,
    private readonly log: Logger,
  ) {
    this.engine = new DetectEngine(cfg, loadSignatureModel(cfg.modelFile));
    this.store = new DetectStore(dataDir);
    this.alerter = new Alerter(cfg.alert, log);
    this.engine.onFlag = (e) => this.alerter.notify(e);
    for (const a of this.store.allowed()) this.engine.allowed.add(a.principal);
    this.store.takeClears();
    // Flags survive a restart, so enforcement does too; windows refill from new traffic.
    for (const r of this.store.list({ limit: cfg.maxPrincipals })) if (!this.engine.allowed.has(r.principal)) this.engine.restore(r);
    this.timer = setInterval(() => this.sync(), cfg.persistMs);
    this.timer.unref();
  }

  /** Saves changed records and applies the allow-list and clears made by the CLI. */
  sync(): void {
    try {
      this.store.save(this.engine.drainDirty());
      for (const p of this.store.takeClears()) this.engine.clear(p);
      const allowed = new Set(this.engine.config.allow);
      for (const a of this.store.allowed()) allowed.add(a.principal);
      for (const p of allowed) if (!this.engine.allowed.has(p)) this.engine.allow(p);
      for (const p of [...this.engine.allowed]) if (!allowed.has(p)) this.engine.disallow(p);
    } catch (err) {
      this.log.error({ err }, 'could not persist detection state');
    }
  }

  /** The freshest record: in memory when the principal is active, else from the store. */
  status(principal: string): RiskRecord | null {
    return this.engine.status(principal) ?? this.store.get(principal);
  }

  list(flaggedOnly: boolean, limit: number): RiskRecord[] {
    this.sync();
    return this.store.list({ flaggedOnly, limit });
  }

  clear(principal: string): boolean {
    const inMemory = this.engine.clear(principal);
    const stored = this.store.clear(principal);
    this.store.takeClears();
    return inMemory || stored;
  }

  allow(principal: string, note: string | null): void {
    this.store.allow(principal, note);
    this.engine.allow(principal);
    this.store.takeClears();
  }

  disallow(principal: string): boolean {
    this.engine.disallow(principal);
    return this.store.disallow(principal);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.sync();
    await this.alerter.drain();
    this.store.close();
  }
}
