import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeConfig, type ViewSpec } from '../../lambdas/core/config.ts';
import {
  defaultOrderBy,
  orderableResults,
  orderValue,
  type RankPosition,
  rankGroups,
} from '../../lambdas/core/group-ranking.ts';

const viewOf = (measures: unknown[]): ViewSpec =>
  normalizeConfig({
    views: [{ name: 'v', groupBy: ['k'], window: { type: 'tumbling', size: '10s' }, measures }],
  }).views[0]!;

const group = (key: string, measures: Record<string, unknown>) => ({ groupKey: JSON.stringify([key]), measures });
const keys = (groups: ReadonlyArray<{ groupKey: string }>) => groups.map((g) => JSON.parse(g.groupKey)[0]);

describe('orderableResults', () => {
  it('names scalar measures, each quantile and the extreme value of maxBy, and leaves topk out', () => {
    const view = viewOf([
      { fn: 'count' },
      { fn: 'sum', field: 'price' },
      { fn: 'distinct', field: 'bidder' },
      { fn: 'quantiles', field: 'price', q: [0.5, 0.99] },
      { fn: 'topk', field: 'auction', k: 3 },
      { fn: 'maxBy', field: 'price', keep: ['auction'] },
    ]);

    expect(orderableResults(view)).toEqual([
      'count',
      'sum_price',
      'distinct_bidder',
      'quantiles_price.0.5',
      'quantiles_price.0.99',
      'maxBy_price.price',
    ]);
  });

  it('defaults to count when the view has it, else to its first numeric result, else to none', () => {
    expect(defaultOrderBy(viewOf([{ fn: 'sum', field: 'price' }, { fn: 'count' }]))).toBe('count');
    expect(defaultOrderBy(viewOf([{ fn: 'max', field: 'price' }]))).toBe('max_price');
    expect(defaultOrderBy(viewOf([{ fn: 'topk', field: 'auction', k: 3 }]))).toBeNull();
  });
});

describe('orderValue', () => {
  it('reads a dotted path at its first dot, so a quantile key keeps its own dot', () => {
    expect(orderValue({ quantiles_price: { '0.99': 120 } }, 'quantiles_price.0.99')).toBe(120);
  });

  it('is null for anything that is not a finite number', () => {
    expect(orderValue({ min_price: null }, 'min_price')).toBeNull();
    expect(orderValue({ maxBy_price: null }, 'maxBy_price.price')).toBeNull();
    expect(orderValue({}, 'count')).toBeNull();
  });
});

describe('rankGroups', () => {
  const groups = [group('a', { sum: 5 }), group('b', { sum: null }), group('c', { sum: 9 }), group('d', { sum: 5 })];

  it('ranks by the value, largest first, ties by group key, nulls last', () => {
    expect(keys(rankGroups(groups, 'sum', 'desc', 10, null).groups)).toEqual(['c', 'a', 'd', 'b']);
  });

  it('ranks ascending with nulls still last', () => {
    expect(keys(rankGroups(groups, 'sum', 'asc', 10, null).groups)).toEqual(['a', 'd', 'c', 'b']);
  });

  it('cuts at limit and says where the next page starts', () => {
    const page = rankGroups(groups, 'sum', 'desc', 2, null);

    expect(keys(page.groups)).toEqual(['c', 'a']);
    expect(page.next).toEqual({ value: 5, groupKey: '["a"]' });
    expect(keys(rankGroups(groups, 'sum', 'desc', 2, page.next).groups)).toEqual(['d', 'b']);
  });

  it('has no next page when the last group is on this one', () => {
    expect(rankGroups(groups, 'sum', 'desc', 4, null).next).toBeNull();
  });

  it('pages through every group exactly once, in the order of one page as large as all of them', () => {
    const values = fc.oneof(fc.constant(null), fc.integer({ min: -3, max: 3 }), fc.double({ noNaN: true }));
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.string({ maxLength: 3 }), values), { selector: ([k]) => k, maxLength: 40 }),
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom('asc' as const, 'desc' as const),
        (entries, limit, order) => {
          const all = entries.map(([k, v]) => group(k, { x: v }));
          const whole = rankGroups(all, 'x', order, all.length + 1, null).groups;
          const paged: typeof all = [];
          let after: RankPosition | null = null;
          do {
            const page: ReturnType<typeof rankGroups<(typeof all)[number]>> = rankGroups(all, 'x', order, limit, after);
            paged.push(...page.groups);
            after = page.next;
          } while (after !== null);
          expect(paged).toEqual(whole);
        },
      ),
    );
  });
});
