/**
 * A pipeline stage: a small object with one job and up to four hooks. Every hook is optional.
 *
 * @example
 *   const stripFingerprint: Stage = {
 *     name: 'strip-fingerprint',
 *     response: (ctx, body) => { delete body.system_fingerprint; },
 *     event: (ctx, ev) => { delete ev.system_fingerprint; return ev; },
 *   };
 */
import type { JsonObject, RequestContext } from './context.js';

export interface Stage {
  readonly name: string;
  /**
   * Runs in pipeline order before the response is written. Throw a MoatError to refuse the
   * request; stages after the one that threw do not run their `request` hook.
   */
  request?(ctx: RequestContext): void | Promise<void>;
  /** Rewrites a complete JSON response from the upstream, in place. */
  response?(ctx: RequestContext, body: JsonObject): void;
  /**
   * Rewrites one streamed event (the parsed JSON of an SSE `data:` line). Return the event to
   * pass it on (possibly changed) or null to drop it.
   */
  event?(ctx: RequestContext, event: JsonObject): JsonObject | null;
  /** At the end of a stream, before `[DONE]`: events a stage held back (buffered text) to emit now. */
  endOfStream?(ctx: RequestContext): JsonObject[];
  /**
   * Runs exactly once when the exchange is over, whatever happened (answered, refused, failed,
   * client gone). Must not throw; it is where reservations settle and records are written.
   */
  finish?(ctx: RequestContext): void;
}
