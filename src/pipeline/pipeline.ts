/**
 * Runs an ordered list of stages over a request context. The order is decided in
 * `assemble.ts`, the one place where the whole request path can be read.
 */
import type { Logger } from 'pino';
import type { JsonObject, RequestContext } from './context.js';
import type { Stage } from './stage.js';

type Hook<K extends keyof Stage> = Stage & Required<Pick<Stage, K>>;

export class Pipeline {
  // Hooks are resolved once, so the hot path iterates only over stages that have them.
  private readonly requestHooks: Hook<'request'>[];
  private readonly responseHooks: Hook<'response'>[];
  private readonly eventHooks: Hook<'event'>[];
  private readonly endHooks: Hook<'endOfStream'>[];
  private readonly finishHooks: Hook<'finish'>[];

  constructor(
    readonly stages: readonly Stage[],
    private readonly log: Logger,
  ) {
    this.requestHooks = stages.filter((s): s is Hook<'request'> => !!s.request);
    this.responseHooks = stages.filter((s): s is Hook<'response'> => !!s.response);
    this.eventHooks = stages.filter((s): s is Hook<'event'> => !!s.event);
    this.endHooks = stages.filter((s): s is Hook<'endOfStream'> => !!s.endOfStream);
    this.finishHooks = stages.filter((s): s is Hook<'finish'> => !!s.finish);
  }

  /** Runs every `request` hook in order; the forward stage among them calls the upstream. */
  async request(ctx: RequestContext): Promise<void> {
    for (const s of this.requestHooks) {
      const r = s.request(ctx);
      if (r) await r;
    }
  }

  response(ctx: RequestContext, body: JsonObject): void {
    for (const s of this.responseHooks) s.response(ctx, body);
  }

  /** Passes one streamed event through every `event` hook; null means it was dropped. */
  event(ctx: RequestContext, ev: JsonObject): JsonObject | null {
    let cur: JsonObject | null = ev;
    for (const s of this.eventHooks) {
      cur = s.event(ctx, cur);
      if (cur === null) return null;
    }
    return cur;
  }

  /** Collects held-back events at the end of a stream; each still passes the later stages' event hooks. */
  endOfStream(ctx: RequestContext): JsonObject[] {
    const out: JsonObject[] = [];
    for (const s of this.endHooks) {
      const pos = this.stages.indexOf(s);
      for (const ev of s.endOfStream(ctx)) {
        let cur: JsonObject | null = ev;
        for (const later of this.eventHooks) {
          if (this.stages.indexOf(later) <= pos) continue;
          cur = later.event(ctx, cur);
          if (cur === null) break;
        }
        if (cur) out.push(cur);
      }
    }
    return out;
  }

  /** Runs every `finish` hook once; a failing hook is logged and never stops the others. */
  finish(ctx: RequestContext): void {
    for (const s of this.finishHooks) {
      try {
        s.finish(ctx);
      } catch (err) {
        this.log.error({ err, stage: s.name, requestId: ctx.id }, 'pipeline stage failed in finish');
      }
    }
  }
}
