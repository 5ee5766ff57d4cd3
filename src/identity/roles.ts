/**
 * The effective role table: built-in roles, overridden by roles from moat.yaml, plus roles stored
 * through the admin API or the CLI. Stored roles are re-read on a timer (never per request), so
 * a role changed on one replica reaches the others within the refresh period.
 */
import { BUILTIN_ROLES, type RoleGrant, type RoleTable } from './access.js';
import type { IdentityStore } from './store.js';

export type RoleSource = 'builtin' | 'config' | 'stored';

export interface RoleView {
  name: string;
  source: RoleSource;
  grants: readonly RoleGrant[];
}

export class RoleRegistry implements RoleTable {
  private fixed = new Map<string, RoleView>();
  private table = new Map<string, readonly RoleGrant[]>();
  private stored: RoleView[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    configured: Readonly<Record<string, readonly RoleGrant[]>> = {},
    private readonly store: Pick<IdentityStore, 'listRoles'> | null = null,
  ) {
    for (const [name, grants] of BUILTIN_ROLES) this.fixed.set(name, { name, source: 'builtin', grants });
    for (const [name, grants] of Object.entries(configured)) this.fixed.set(name, { name, source: 'config', grants });
    this.rebuild();
  }

  get(name: string): readonly RoleGrant[] | undefined {
    return this.table.get(name);
  }

  has(name: string): boolean {
    return this.table.has(name);
  }

  /** Where a role comes from, or undefined when no such role exists. */
  sourceOf(name: string): RoleSource | undefined {
    return this.fixed.get(name)?.source ?? (this.table.has(name) ? 'stored' : undefined);
  }

  list(): RoleView[] {
    const out = [...this.fixed.values(), ...this.stored.filter((r) => !this.fixed.has(r.name))];
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Re-reads stored roles; a role of the same name in moat.yaml or built in always wins. */
  async refresh(): Promise<void> {
    if (!this.store) return;
    this.stored = (await this.store.listRoles()).map((r) => ({ name: r.name, source: 'stored' as const, grants: r.grants }));
    this.rebuild();
  }

  private rebuild(): void {
    const next = new Map<string, readonly RoleGrant[]>();
    for (const r of this.stored) next.set(r.name, r.grants);
    for (const r of this.fixed.values()) next.set(r.name, r.grants);
    this.table = next;
  }

  /** Refreshes every `ms` until stopped; failures are reported and the last table stays. */
  start(ms: number, onError: (err: unknown) => void): void {
    if (this.timer || !this.store || ms <= 0) return;
    this.timer = setInterval(() => this.refresh().catch(onError), ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
