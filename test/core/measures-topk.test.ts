import { describe, expect, it } from 'vitest';
import type { MeasureSpec } from '../../lambdas/core/config.ts';
import { createMeasure } from '../../lambdas/core/measures/index.ts';
import { TopK, topkCapacity } from '../../lambdas/core/measures/topk.ts';
import { fold, foldSplit, mulberry32, zipf } from './measures-fixtures.ts';

const K = 10;
const TOPK: MeasureSpec = { fn: 'topk', field: 'auction', k: K, name: 'topk_auction' };
const CAPACITY = topkCapacity(K);

function exactCounts(events: readonly { auction: number }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(String(e.auction), (counts.get(String(e.auction)) ?? 0) + 1);
  return counts;
}

/** Checks the stated guarantee of a summary of `events` against the exact counts. */
function expectWithinBound(acc: TopK, events: readonly { auction: number }[]): void {
  const exact = exactCounts(events);
  const n = events.length;
  const bound = acc.errorBound();
  expect(bound).toBeLessThanOrEqual(n / (CAPACITY + 1));
  const reported = acc.result();
  expect(reported).toHaveLength(K);
  // Every reported count is a lower bound short by at most the bound.
  for (const { value, count } of reported) {
    const f = exact.get(value)!;
    expect(count).toBeLessThanOrEqual(f);
    expect(count).toBeGreaterThanOrEqual(f - bound);
  }
  // Every value above the bound holds a counter.
  for (const [value, f] of exact) if (f > bound) expect(acc.counters.has(value), `value ${value}`).toBe(true);
  // Every value above N/k + bound is reported; and the guarantee is not vacuous for this data.
  const values = new Set(reported.map((r) => r.value));
  const heavy = [...exact].filter(([, f]) => f > n / K + bound);
  expect(heavy.length).toBeGreaterThan(0);
  for (const [value] of heavy) expect(values, `value ${value}`).toContain(value);
}

describe('topk', () => {
  it('is [] for an empty partial', () => {
    expect(createMeasure(TOPK).create().result()).toEqual([]);
  });

  it('lists values as strings, most frequent first, ties by value, at most k', () => {
    const events = [3, 1, 2, 2, 1, 7, 7, 7, 5, 4, 6, 8, 9, 10, 11, 12].map((auction) => ({ auction }));
    expect(fold(TOPK, events).result()).toEqual([
      { value: '7', count: 3 },
      { value: '1', count: 2 },
      { value: '2', count: 2 },
      { value: '10', count: 1 },
      { value: '11', count: 1 },
      { value: '12', count: 1 },
      { value: '3', count: 1 },
      { value: '4', count: 1 },
      { value: '5', count: 1 },
      { value: '6', count: 1 },
    ]);
  });

  it('decrements every counter when a new value finds them full (Misra–Gries)', () => {
    const acc = new TopK('auction', 2, 2);
    for (const v of ['a', 'a', 'b', 'c']) acc.addValue(v);
    expect(acc.result()).toEqual([{ value: 'a', count: 1 }]);
    expect(acc.errorBound()).toBe((4 - 1) / 3);
  });

  it('merges by adding counters and subtracting the (m+1)-th largest (Agarwal et al.)', () => {
    const a = new TopK('auction', 3, 3);
    for (const v of 'aaaaabbbbccc') a.addValue(v);
    const b = new TopK('auction', 3, 3);
    for (const v of 'dde' + 'a') b.addValue(v);
    a.merge(b);
    // a 6, b 4, c 3, d 2, e 1: the 4th largest, 2, comes off every counter.
    expect(a.result()).toEqual([
      { value: 'a', count: 4 },
      { value: 'b', count: 2 },
      { value: 'c', count: 1 },
    ]);
    expect(a.errorBound()).toBe((16 - 7) / 4);
  });

  it(`is exact while at most ${CAPACITY} distinct values are seen, in one partial and merged`, () => {
    const random = mulberry32(1);
    const draw = zipf(random, CAPACITY, 1);
    const events = Array.from({ length: 100_000 }, () => ({ auction: draw() }));
    const exact = [...exactCounts(events)]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, K)
      .map(([value, count]) => ({ value, count }));
    expect(fold(TOPK, events).result()).toEqual(exact);
    expect(foldSplit(TOPK, events, 16, mulberry32(2)).result()).toEqual(exact);
  });

  // 10^5 values over 10^5 possible, Zipf 1.2: a long tail that keeps every counter busy.
  const random = mulberry32(3);
  const draw = zipf(random, 100_000, 1.2);
  const events = Array.from({ length: 100_000 }, () => ({ auction: draw() }));

  it('keeps every value above N/k + bound, counts within the bound, over 10^5 values in one partial', () => {
    expectWithinBound(fold(TOPK, events) as TopK, events);
  });

  it('keeps every value above N/k + bound, counts within the bound, after merging 16 random partials', () => {
    expectWithinBound(foldSplit(TOPK, events, 16, mulberry32(4)) as TopK, events);
  });

  it(`stores at most ${CAPACITY} counters`, () => {
    const encoded = fold(TOPK, events).encode() as unknown[];
    expect((encoded.length - 1) / 2).toBeLessThanOrEqual(CAPACITY);
  });

  it('decodes what it encodes', () => {
    const acc = fold(TOPK, events);
    const decoded = createMeasure(TOPK).decode(JSON.parse(JSON.stringify(acc.encode())));
    expect(decoded.encode()).toEqual(acc.encode());
  });

  it('rejects a partial of another shape, naming it', () => {
    expect(() => createMeasure(TOPK).decode([3, 'a', -1])).toThrow(
      /cannot decode topk_auction partial: entry \["a",-1\] at 1/,
    );
  });
});
