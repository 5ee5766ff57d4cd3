/**
 * Stage 9, audit: one record for every request, allowed or denied, written when the exchange
 * is over (so it carries the outcome, usage and latency).
 */
import type { Stage } from '../pipeline/stage.js';
import { requestRecord, type PromptMode } from './record.js';
import type { AuditSink } from './sink.js';

export function audit(sink: AuditSink, promptMode: PromptMode): Stage {
  return {
    name: 'audit',
    finish(ctx) {
      sink.append(requestRecord(ctx, promptMode));
    },
  };
}
