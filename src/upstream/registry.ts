/**
 * Public model names and the upstream behind each. Models that share an origin share one
 * connection pool.
 */
import type { Pool } from 'undici';
import type { ModelConfig } from '../config/schema.js';
import { Upstream, createPool } from './client.js';

export interface ModelEntry {
  /** The name clients use. */
  readonly name: string;
  /** The name the upstream knows. */
  readonly upstreamModel: string;
  readonly ownedBy: string;
  readonly upstream: Upstream;
}

export class ModelRegistry {
  private readonly models = new Map<string, ModelEntry>();
  private readonly pools = new Map<string, Pool>();

  constructor(models: Record<string, ModelConfig>) {
    for (const [name, m] of Object.entries(models)) {
      const origin = new URL(m.upstream.baseURL).origin;
      let pool = this.pools.get(origin);
      if (!pool) {
        pool = createPool(origin, m.upstream);
        this.pools.set(origin, pool);
      }
      this.models.set(name, {
        name,
        upstreamModel: m.upstream.model ?? name,
        ownedBy: m.ownedBy,
        upstream: new Upstream(pool, m.upstream),
      });
    }
  }

  get(name: string): ModelEntry | undefined {
    return this.models.get(name);
  }

  list(): ModelEntry[] {
    return [...this.models.values()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
  }
}
