import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WatermarkWriter, embedText } from '../../src/watermark/embed.js';
import { dedupe, observe, score } from '../../src/watermark/detect.js';
import { defaultLexicon } from '../../src/watermark/lexicon.js';
import { winkTagger } from '../../src/watermark/tagger.js';
import { MARKDOWN, PROSE, keyOf } from './fixtures.js';

const lex = defaultLexicon();
const tagger = winkTagger();
const acme = keyOf('acme');

const words = (t: string) => t.split(/\s+/);

describe('embedding', () => {
  it('changes only table words, keeps the word count, and marks every position with the key', () => {
    const { text, stats } = embedText(PROSE, lex, tagger, acme);
    expect(stats.positions).toBeGreaterThan(15);
    expect(stats.changed).toBeGreaterThan(0);
    expect(text).not.toBe(PROSE);
    const before = words(PROSE);
    const after = words(text);
    expect(after).toHaveLength(before.length);
    after.forEach((w, i) => {
      if (w !== before[i]) {
        const a = lex.lookup(before[i]!.toLowerCase().replace(/[^a-z]/g, ''));
        const b = lex.lookup(w.toLowerCase().replace(/[^a-z]/g, ''));
        expect(a && b && a.set.id === b.set.id && a.slot === b.slot).toBe(true);
        expect(w[0] === w[0]!.toUpperCase()).toBe(before[i]![0] === before[i]![0]!.toUpperCase());
      }
    });
    // The detector reads back exactly the embedded positions, every one a hit.
    const obs = observe(text, lex, tagger);
    expect(obs).toHaveLength(stats.positions);
    for (const o of obs) expect(o.alts[acme.select(o.context, o.set, o.alts.length)]).toBe(o.member);
  });

  it('is deterministic per key and differs between tenants', () => {
    expect(embedText(PROSE, lex, tagger, acme).text).toBe(embedText(PROSE, lex, tagger, keyOf('acme')).text);
    const others = ['globex', 'initech', 'umbrella', 'hooli'].map((t) => embedText(PROSE, lex, tagger, keyOf(t)).text);
    expect(new Set([embedText(PROSE, lex, tagger, acme).text, ...others]).size).toBeGreaterThan(3);
  });

  it('keeps inflection: past, -ing and plural forms stay in their slot', () => {
    const src = 'They utilized the tools, were utilizing them daily, and bought two films.';
    for (const t of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const out = embedText(src, lex, tagger, keyOf(t)).text;
      expect(out).toMatch(/^They (utilized|used) the tools, were (utilizing|using) them daily, and (bought|purchased) two (films|movies)\.$/);
    }
  });

  it('leaves code, inline code, URLs, quotes, JSON lines and proper nouns alone', () => {
    const outs = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((t) => embedText(MARKDOWN, lex, tagger, keyOf(t)).text);
    for (const out of outs) {
      expect(out).toContain('```python\n# use a large buffer\nbig = use(large)\n```');
      expect(out).toContain('`use(big)`');
      expect(out).toContain('https://example.com/large/use');
      expect(out).toContain('"we use a large house"');
      expect(out).toContain('The Big Apple');
      expect(out).toContain('{"use": "large", "big": true}');
    }
    // ... while the prose around them does change for some key; the first sentence never does.
    for (const out of outs) expect(out.startsWith('Here is a large example.')).toBe(true);
    expect(outs.some((o) => !o.endsWith('- Start with a big step, then use it often.\n'))).toBe(true);
  });

  it('leaves an answer that is JSON untouched', () => {
    const json = '{"answer": "use a large table", "often": true}';
    expect(embedText(json, lex, tagger, acme).text).toBe(json);
    expect(embedText('  [1, "big"]', lex, tagger, acme).text).toBe('  [1, "big"]');
  });

  it('keeps "a"/"an" right', () => {
    for (const t of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']) {
      const out = embedText('She made an error. He made a mistake. It was a huge and a vast effort.', lex, tagger, keyOf(t)).text;
      expect(out).not.toMatch(/\ban (mistake|huge|vast)\b/);
      expect(out).not.toMatch(/\ba (error|immense)\b/);
    }
  });
});

describe('streaming', () => {
  const whole = (text: string) => embedText(text, lex, tagger, acme).text;

  it('any split of the answer gives the same text as the whole answer', () => {
    const texts = [PROSE, MARKDOWN, PROSE.slice(0, 200) + '\n\n' + MARKDOWN];
    const expected = texts.map(whole);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: texts.length - 1 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 200 }), (which, cuts) => {
        const text = texts[which]!;
        const w = new WatermarkWriter(lex, tagger, acme);
        let out = '';
        let at = 0;
        for (let i = 0; at < text.length; i++) {
          const n = cuts[i % cuts.length]!;
          out += w.push(text.slice(at, at + n));
          at += n;
        }
        out += w.end();
        expect(out).toBe(expected[which]);
      }),
      { numRuns: 150 },
    );
  });

  it('holds back only from the first table word of the current sentence', () => {
    const w = new WatermarkWriter(lex, tagger, acme);
    expect(w.push('Hello there, my friend')).toBe('Hello there, my friend');
    expect(w.push('! We')).toBe('! We');
    const held = w.push(' often go');
    expect(held).toBe(' ');
    expect(w.pending).toBe(true);
    const rest = w.push(' home. Then') + w.end();
    expect(held + rest).toMatch(/^ (often|frequently) go home\. Then$/);
  });

  it('streams code blocks without holding them back', () => {
    const w = new WatermarkWriter(lex, tagger, acme);
    w.push('Code:\n```\n');
    expect(w.push('use large big')).toBe('use large big');
  });
});

describe('detection on the embedder output', () => {
  it('a watermarked text is detected with its key and not with another', () => {
    const marked = embedText(PROSE + ' ' + PROSE.replace(/\bWe\b/g, 'They'), lex, tagger, acme).text;
    const obs = dedupe(observe(marked, lex, tagger));
    const own = score(obs, acme);
    const other = score(obs, keyOf('globex'));
    expect(own.hits).toBe(own.scored);
    expect(own.p_value).toBeLessThan(1e-4);
    expect(other.p_value).toBeGreaterThan(1e-3);
  });
});
