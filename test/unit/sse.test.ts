import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseDecoder, encodeSse, type SseEvent } from '../../src/upstream/sse.js';

function decodeAll(chunks: Uint8Array[]): SseEvent[] {
  const out: SseEvent[] = [];
  const d = new SseDecoder((e) => out.push(e));
  for (const c of chunks) d.feed(c);
  d.end();
  return out;
}

/** Splits bytes at the given cut points (sorted, deduplicated). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

const eventArb = fc.record({
  // JSON payloads with multi-byte characters, as an upstream sends them.
  data: fc.json({ maxDepth: 2 }).map((j) => JSON.stringify(JSON.parse(j))),
  event: fc.option(fc.constantFrom('message', 'delta'), { nil: undefined }),
});

describe('SSE re-chunking', () => {
  it('any split of the upstream byte stream gives the same events', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), fc.constantFrom('\n', '\r\n'), (events, cuts, eol) => {
        const text = events.map((e) => encodeSse(e).replace(/\n/g, eol)).join('') + `data: [DONE]${eol}${eol}`;
        const bytes = new TextEncoder().encode(text);
        const whole = decodeAll([bytes]);
        const pieces = decodeAll(split(bytes, cuts));
        expect(pieces).toEqual(whole);
        expect(whole.map((e) => e.data)).toEqual([...events.map((e) => e.data), '[DONE]']);
      }),
      { numRuns: 300 },
    );
  });

  it('splits inside a multi-byte UTF-8 character are reassembled', () => {
    const bytes = new TextEncoder().encode('data: {"t":"château 🏰"}\n\n');
    const oneByOne = Array.from(bytes, (b) => Uint8Array.of(b));
    expect(decodeAll(oneByOne)).toEqual([{ data: '{"t":"château 🏰"}', event: undefined, id: undefined }]);
  });

  it('multi-line data is re-encoded as several data lines', () => {
    expect(encodeSse({ data: 'a\nb' })).toBe('data: a\ndata: b\n\n');
    expect(decodeAll([new TextEncoder().encode(encodeSse({ data: 'a\nb' }))])[0]!.data).toBe('a\nb');
  });

  it('a last event without its blank line is still delivered at the end', () => {
    expect(decodeAll([new TextEncoder().encode('data: {"x":1}\n')]).map((e) => e.data)).toEqual(['{"x":1}']);
  });
});
