import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContextRates, prepareStudent, scoreStudent, servedContexts, type Observation } from '../../src/watermark/detect.js';
import { uniformSumNull, uniformSumTail } from '../../src/watermark/stats.js';
import { keyOf } from './fixtures.js';

/** P(sum >= s) by enumerating every combination of picks. */
function bruteTail(items: number[][], s: number): number {
  let tail = 0;
  const walk = (i: number, sum: number, prob: number): void => {
    if (i === items.length) {
      if (sum >= s) tail += prob;
      return;
    }
    for (const v of items[i]!) walk(i + 1, sum + v, prob / items[i]!.length);
  };
  walk(0, 0, 1);
  return tail;
}

/** A deterministic PRNG for synthetic texts. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Synthetic student text: `contexts` distinct contexts of two-member sets, each written `reps`
 * times; member 1 is rare (10%). With `share`, the key's pick is mixed in at that rate.
 */
function studentText(seed: number, contexts: number, reps: number, share: number, key = keyOf('acme')): Observation[] {
  const r = rng(seed);
  const out: Observation[] = [];
  for (let c = 0; c < contexts; c++) {
    const set = c % 7;
    const context = `w${c}`;
    const pick = [0, 1][key.select(context, set, 2)]!;
    for (let i = 0; i < reps; i++) {
      const member = r() < share ? pick : r() < 0.1 ? 1 : 0;
      out.push({ at: 0, set, context, member, alts: [0, 1] });
    }
  }
  return out;
}

const reference = new ContextRates().add(studentText(99, 600, 3, 0));

describe('uniform-sum null', () => {
  it('matches enumeration for small item lists', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.nat(6), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }), fc.nat(30), (items, s) => {
        expect(uniformSumTail(uniformSumNull(items), s)).toBeCloseTo(bruteTail(items, s), 12);
      }),
    );
  });

  it('rejects values that are not non-negative integers', () => {
    expect(() => uniformSumNull([[0, 1.5]])).toThrow();
    expect(() => uniformSumNull([[-1, 0]])).toThrow();
  });
});

describe('student mode', () => {
  it('is calibrated on text that never saw the key: random keys reject at about alpha', () => {
    const test = prepareStudent(studentText(1, 300, 4, 0), { reference });
    let below = 0;
    const keys = 400;
    for (let k = 0; k < keys; k++) if (scoreStudent(test, keyOf(`random-${k}`)).p_value <= 0.05) below++;
    // Exact test: the rate is at most alpha (discrete), and binomial noise around 20 of 400.
    expect(below / keys).toBeLessThan(0.09);
  });

  it('detects a 10% mix of the key\'s picks from repeated contexts, and only for that key', () => {
    const obs = studentText(2, 600, 8, 0.15);
    const test = prepareStudent(obs, { reference });
    const p = scoreStudent(test, keyOf('acme')).p_value;
    expect(p, `p = ${p}`).toBeLessThan(1e-6);
    expect(scoreStudent(test, keyOf('globex')).p_value).toBeGreaterThan(1e-3);
    // The first-occurrence idea of `score` keeps one draw per context: the repeats are the evidence.
    const firstOnly = prepareStudent(obs.filter((_, i) => i % 8 === 0), { reference });
    expect(scoreStudent(firstOnly, keyOf('acme')).p_value).toBeGreaterThan(scoreStudent(test, keyOf('acme')).p_value);
  });

  it('scores only served contexts when given, and keeps one list of alternatives per context', () => {
    const obs = studentText(3, 50, 2, 0);
    const served = servedContexts(obs.slice(0, 20));
    expect(prepareStudent(obs, { served }).items.every((i) => served.has(`${i.set}\u001f${i.context}`))).toBe(true);
    const mixed: Observation[] = [
      { at: 0, set: 1, context: 'x', member: 1, alts: [0, 1] },
      { at: 0, set: 1, context: 'x', member: 2, alts: [0, 1, 2] },
    ];
    const t = prepareStudent(mixed);
    expect(t.items).toHaveLength(1);
    expect(t.items[0]!.occurrences).toBe(1);
  });
});
