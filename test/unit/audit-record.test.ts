import { describe, expect, it } from 'vitest';
import { MAX_PARAMS, boundedParams } from '../../src/audit/record.js';

describe('audit record parameters', () => {
  it('keep ordinary parameters as sent, without the prompt', () => {
    expect(boundedParams({ model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 5, stop: ['\n'] }, 'messages')).toEqual({ model: 'm', max_tokens: 5, stop: ['\n'] });
  });

  it('summarize a value too large to keep, by length and hash', () => {
    const huge = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [String(i), -100]));
    const p = boundedParams({ model: 'm', logit_bias: huge, suffix: 'y'.repeat(20_000) }, 'prompt');
    expect(p.model).toBe('m');
    expect(p.logit_bias).toEqual({ truncated: true, chars: JSON.stringify(huge).length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(p.suffix).toMatchObject({ truncated: true, chars: 20_000 });
  });

  it('keep at most a bounded number of fields, counting the rest', () => {
    const body = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`f${i}`, i]));
    const p = boundedParams(body, 'messages');
    expect(Object.keys(p)).toHaveLength(MAX_PARAMS + 1);
    expect(p['(more fields)']).toBe(1000 - MAX_PARAMS);
  });
});
