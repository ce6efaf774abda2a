import { describe, expect, it } from 'vitest';
import type { MeasureSpec } from '../../lambdas/core/config.ts';
import { SPARSE_LIMIT } from '../../lambdas/core/measures/distinct.ts';
import { createMeasure } from '../../lambdas/core/measures/index.ts';
import { fold, foldSplit, mulberry32 } from './measures-fixtures.ts';

const DISTINCT: MeasureSpec = { fn: 'distinct', field: 'bidder', name: 'distinct_bidder' };
/** 1.04/√2^14: the standard error the measure promises. */
const STANDARD_ERROR = 1.04 / Math.sqrt(2 ** 14);

/** `events` events over `distinct` distinct bidders, each bidder at least once, in random order. */
function bids(distinct: number, events: number, seed: number): { bidder: string | number }[] {
  const random = mulberry32(seed);
  const out = Array.from({ length: events }, (_, i) => {
    const id = i < distinct ? i : Math.floor(random() * distinct);
    // Half numbers, half strings: the two styles of ids real producers send.
    return { bidder: id % 2 === 0 ? 1_000_000 + id : `bidder-${id}` };
  });
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('distinct', () => {
  it('is 0 for an empty partial', () => {
    expect(createMeasure(DISTINCT).create().result()).toBe(0);
  });

  it('counts a number and its decimal string as one value and ignores missing, null and objects', () => {
    const acc = fold(DISTINCT, [
      { bidder: 5003 },
      { bidder: '5003' },
      { bidder: true },
      {},
      { bidder: null },
      { bidder: { id: 1 } },
      { bidder: [1] },
    ]);
    expect(acc.result()).toBe(2);
  });

  it('encodes integer ids exactly as their decimal strings, whatever their sign and size', () => {
    const random = mulberry32(9);
    const ids = [0, -0, 7, -7, 9, 10, 99, 100, -100, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
    ids.push(Number.MIN_SAFE_INTEGER);
    for (let i = 0; i < 200; i++) ids.push(Math.floor((random() - 0.5) * 2 * Number.MAX_SAFE_INTEGER));
    const asNumbers = fold(
      DISTINCT,
      ids.map((bidder) => ({ bidder })),
    );
    const asStrings = fold(
      DISTINCT,
      ids.map((bidder) => ({ bidder: String(bidder) })),
    );
    expect(asNumbers.encode()).toEqual(asStrings.encode());
  });

  it('is exact for sets up to the sparse limit, in one partial and merged', () => {
    const events = bids(SPARSE_LIMIT, 5 * SPARSE_LIMIT, 1);
    expect(fold(DISTINCT, events).result()).toBe(SPARSE_LIMIT);
    expect(foldSplit(DISTINCT, events, 8, mulberry32(2)).result()).toBe(SPARSE_LIMIT);
  });

  for (const distinct of [5_000, 100_000, 1_000_000]) {
    it(`estimates ${distinct} distinct values within 3 standard errors in one partial`, () => {
      const events = bids(distinct, Math.max(distinct, 200_000), distinct);
      const estimate = fold(DISTINCT, events).result() as number;
      expect(Math.abs(estimate / distinct - 1)).toBeLessThan(3 * STANDARD_ERROR);
    });
  }

  it('estimates 10^5 distinct values within 3 standard errors after merging 16 random partials', () => {
    const events = bids(100_000, 300_000, 7);
    const estimate = foldSplit(DISTINCT, events, 16, mulberry32(8)).result() as number;
    expect(Math.abs(estimate / 100_000 - 1)).toBeLessThan(3 * STANDARD_ERROR);
  });

  it('merged partials estimate exactly what one partial of all the events estimates', () => {
    const events = bids(50_000, 100_000, 11);
    expect(foldSplit(DISTINCT, events, 5, mulberry32(12)).encode()).toEqual(fold(DISTINCT, events).encode());
  });

  it('keeps a small set in a few bytes and a large one under 16 KB', () => {
    const small = JSON.stringify(fold(DISTINCT, bids(100, 1000, 3)).encode());
    const large = JSON.stringify(fold(DISTINCT, bids(200_000, 200_000, 4)).encode());
    expect(small.length).toBeLessThan(600);
    expect(large.length).toBeLessThan(16_000);
  });

  it('decodes what it encodes, sparse and dense', () => {
    const m = createMeasure(DISTINCT);
    for (const n of [10, 50_000]) {
      const acc = fold(DISTINCT, bids(n, n, n));
      const decoded = m.decode(JSON.parse(JSON.stringify(acc.encode())));
      expect(decoded.encode()).toEqual(acc.encode());
      expect(decoded.result()).toBe(acc.result());
    }
  });

  it('rejects a partial of another shape, naming it', () => {
    expect(() => createMeasure(DISTINCT).decode({ p: 12, d: 'AAAA' })).toThrow(
      /cannot decode distinct_bidder partial \{"p":12,"d":"AAAA"\}: expected \{ p: 14/,
    );
  });
});
