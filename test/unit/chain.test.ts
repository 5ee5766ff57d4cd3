import { describe, expect, it } from 'vitest';
import { GENESIS, chainHash, verifyChain, type ChainRow } from '../../src/audit/chain.js';

function build(n: number): ChainRow[] {
  const rows: ChainRow[] = [];
  let prev = GENESIS;
  for (let i = 1; i <= n; i++) {
    const data = JSON.stringify({ i });
    const hash = chainHash(prev, data);
    rows.push({ seq: i, data, prevHash: prev, hash });
    prev = hash;
  }
  return rows;
}

describe('hash chain', () => {
  it('verifies an intact chain', () => {
    expect(verifyChain(build(5))).toMatchObject({ ok: true, records: 5, lastSeq: 5 });
  });
  it('names a changed record', () => {
    const rows = build(5);
    rows[2] = { ...rows[2]!, data: '{"i":99}' };
    expect(verifyChain(rows)).toMatchObject({ ok: false, firstBadSeq: 3 });
  });
  it('names a removed record', () => {
    const rows = build(5);
    rows.splice(1, 1);
    expect(verifyChain(rows)).toMatchObject({ ok: false, firstBadSeq: 2 });
  });
  it('names reordered records', () => {
    const rows = build(5);
    const a = rows[1]!;
    const b = rows[2]!;
    rows[1] = { ...b, seq: 2 };
    rows[2] = { ...a, seq: 3 };
    expect(verifyChain(rows)).toMatchObject({ ok: false, firstBadSeq: 2 });
  });
  it('a record rewritten with a recomputed hash still breaks the link to the next one', () => {
    const rows = build(4);
    const data = '{"i":"forged"}';
    rows[1] = { ...rows[1]!, data, hash: chainHash(rows[1]!.prevHash, data) };
    expect(verifyChain(rows)).toMatchObject({ ok: false, firstBadSeq: 3 });
  });
});
