/** The pane log's packing: what a batch writes per (view, pane, bucket), and how a final window is chunked. */
import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../lambdas/core/config.ts';
import { ViewMeasures } from '../../lambdas/core/pane.ts';
import {
  bucketOf,
  DELTA_BUCKETS,
  deltaKeys,
  type GroupResult,
  groupHash,
  HASH_END,
  MAX_DELTA_PART_JSON,
  packDeltas,
  packResults,
  unpackDelta,
  unpackResults,
} from '../../lambdas/core/pane-log.ts';

const view = normalizeConfig({
  views: [
    {
      name: 'v',
      groupBy: ['g'],
      window: { type: 'tumbling', size: '10s' },
      measures: [{ fn: 'count' }, { fn: 'sum', field: 'price' }, { fn: 'quantiles', field: 'price', q: [0.5] }],
    },
  ],
}).views[0]!;
const measures = new ViewMeasures(view);
const PANE = 1_795_514_400_000;

function partialOf(prices: number[]) {
  const p = measures.empty();
  prices.forEach((price, i) => {
    p.count++;
    p.minTime = Math.min(p.minTime, PANE + i);
    p.maxTime = Math.max(p.maxTime, PANE + i);
    for (const acc of p.accumulators) acc.add({ price, dateTime: PANE + i });
  });
  return p;
}

describe('packDeltas', () => {
  it('puts every group in its bucket, and reads back the same results', () => {
    const groups = Array.from({ length: 50 }, (_, i) => ({ groupKey: `["g${i}"]`, partial: partialOf([i, i + 1]) }));
    const items = packDeltas(measures, 'v@1', PANE, groups);
    expect(new Set(items.map((i) => i.bucket)).size).toBe(DELTA_BUCKETS);
    for (const item of items) {
      for (const { groupKey, partial } of unpackDelta(measures, PANE, item.data)) {
        expect(bucketOf(groupKey)).toBe(item.bucket);
        const original = groups.find((g) => g.groupKey === groupKey)!.partial;
        expect(measures.results(partial)).toEqual(measures.results(original));
        expect([partial.count, partial.minTime, partial.maxTime]).toEqual([
          original.count,
          original.minTime,
          original.maxTime,
        ]);
      }
    }
    expect(items.flatMap((i) => unpackDelta(measures, PANE, i.data)).length).toBe(50);
  });

  it('reads one group alone when asked', () => {
    const items = packDeltas(measures, 'v@1', PANE, [
      { groupKey: '["a"]', partial: partialOf([1]) },
      { groupKey: '["b"]', partial: partialOf([2]) },
    ]);
    const found = items.flatMap((i) => unpackDelta(measures, PANE, i.data, '["b"]'));
    expect(found.map((g) => g.groupKey)).toEqual(['["b"]']);
  });

  it('cuts a bucket larger than an item may be into parts, and the intent lists them', () => {
    const big = Array.from({ length: 4_000 }, (_, i) => ({
      groupKey: `["${'x'.repeat(200)}${i}"]`,
      partial: partialOf([i]),
    }));
    const items = packDeltas(measures, 'v@1', PANE, big);
    expect(items.some((i) => i.part > 0)).toBe(true);
    for (const k of deltaKeys(items)) {
      expect(items.filter((i) => i.bucket === k.bucket).map((i) => i.part)).toEqual(
        Array.from({ length: k.parts }, (_, p) => p),
      );
    }
    // Far under DynamoDB's 400 KB item limit, even before deflating.
    expect(Math.max(...items.map((i) => i.data.byteLength))).toBeLessThan(MAX_DELTA_PART_JSON);
  });
});

describe('packResults', () => {
  it('cuts chunks where the results alone say, so scored and unscored attempts at a window write the same chunk keys', () => {
    const results = Array.from({ length: 3_000 }, (_, i) => ({
      groupKey: JSON.stringify([`g${i}`]),
      windowStart: 0,
      windowEnd: 10_000,
      count: i,
      measures: { count: i },
    }));
    const scored = results.map((r, i) => ({
      ...r,
      score: { score: i / 7, expected: { low: i / 3, high: i * 3 }, anomaly: i % 2 === 0 },
    }));
    const cuts = (chunks: ReturnType<typeof packResults>) => chunks.map((c) => [c.lo, c.hi, c.results]);
    expect(cuts(packResults(scored))).toEqual(cuts(packResults(results)));
    expect(packResults(results).length).toBeGreaterThan(2);
    expect(
      packResults(scored)
        .flatMap((c) => unpackResults(c.data))
        .find((r) => r.groupKey === '["g4"]')?.score,
    ).toEqual(scored[4]!.score);
  });

  const results: GroupResult[] = Array.from({ length: 3_000 }, (_, i) => ({
    groupKey: `["auction-${i}"]`,
    windowStart: PANE,
    windowEnd: PANE + 10_000,
    count: i,
    measures: { count: i, sum_price: i * 3 },
  }));

  it('covers the whole hash space with chunks in hash order, each holding the groups of its range', () => {
    const chunks = packResults(results);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks[0]!.lo).toBe(0);
    expect(chunks[chunks.length - 1]!.hi).toBe(HASH_END);
    for (const [i, c] of chunks.entries()) {
      if (i > 0) expect(c.lo).toBe(chunks[i - 1]!.hi);
      for (const r of unpackResults(c.data)) {
        expect(groupHash(r.groupKey)).toBeGreaterThanOrEqual(c.lo);
        expect(groupHash(r.groupKey)).toBeLessThan(c.hi);
      }
    }
    expect(chunks.flatMap((c) => unpackResults(c.data)).length).toBe(results.length);
  });

  it('finds a group in the chunk with the greatest lo at or below its hash', () => {
    const chunks = packResults(results);
    for (const r of results.slice(0, 200)) {
      const h = groupHash(r.groupKey);
      const chunk = chunks.filter((c) => c.lo <= h).at(-1)!;
      expect(unpackResults(chunk.data).find((g) => g.groupKey === r.groupKey)).toEqual(r);
    }
  });

  it('packs an empty window as one empty chunk covering everything', () => {
    expect(packResults([]).map((c) => [c.lo, c.hi, c.results])).toEqual([[0, HASH_END, 0]]);
  });
});
