/**
 * Stage 7, response policy: removes what leaks the model from every answer, whole or streamed:
 * per-choice `logprobs` (and vLLM's `prompt_logprobs`), wherever the upstream put them.
 */
import type { JsonObject } from '../pipeline/context.js';
import type { Stage } from '../pipeline/stage.js';

const LEAKY_CHOICE_FIELDS = ['logprobs', 'prompt_logprobs'] as const;

/** Deletes leaky fields from each choice and the top level; returns how many were removed. */
export function scrubLogprobs(body: JsonObject): number {
  let removed = 0;
  const choices = body.choices;
  if (Array.isArray(choices)) {
    for (const c of choices) {
      if (!c || typeof c !== 'object') continue;
      for (const f of LEAKY_CHOICE_FIELDS) {
        if (f in c) {
          delete (c as JsonObject)[f];
          removed++;
        }
      }
    }
  }
  if ('prompt_logprobs' in body) {
    delete body.prompt_logprobs;
    removed++;
  }
  return removed;
}

export function responsePolicy(): Stage {
  const note = (rules: string[]) => {
    if (!rules.includes('strip:response_logprobs')) rules.push('strip:response_logprobs');
  };
  return {
    name: 'response-policy',
    response(ctx, body) {
      if (scrubLogprobs(body) > 0) note(ctx.rules);
    },
    event(ctx, ev) {
      if (scrubLogprobs(ev) > 0) note(ctx.rules);
      return ev;
    },
  };
}
