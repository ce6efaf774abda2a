/**
 * Ranking the groups of one window by a scalar measure result, for GET /views/{view}/groups ("the top
 * auctions of the last 10 seconds"). Pure: the caller reads the window's groups, this orders and pages them.
 */
import type { ViewSpec } from './config.ts';

export type SortOrder = 'asc' | 'desc';

/**
 * The results a view's groups can be ordered by: each scalar measure by its name (`count`, `sum_price`,
 * `distinct_bidder`), each quantile as `<name>.<q>` (`quantiles_price.0.99`), and the extreme value of
 * `maxBy`/`minBy` as `<name>.<field>` (`maxBy_price.price`). `topk` lists are not a number to order by.
 */
export function orderableResults(view: ViewSpec): string[] {
  return view.measures.flatMap((m) => {
    switch (m.fn) {
      case 'quantiles':
        return m.q.map((q) => `${m.name}.${q}`);
      case 'maxBy':
      case 'minBy':
        return [`${m.name}.${m.field}`];
      case 'topk':
        return [];
      default:
        return [m.name];
    }
  });
}

/** What a view is ordered by when the caller names nothing: `count` if it has one, else its first orderable result. */
export function defaultOrderBy(view: ViewSpec): string | null {
  const orderable = orderableResults(view);
  return orderable.includes('count') ? 'count' : (orderable[0] ?? null);
}

/**
 * The value of `orderBy` in a group's measures. Measure names hold no dot, so the path splits at the first
 * one: `quantiles_price.0.99` is measure `quantiles_price`, key `0.99`. Anything not a finite number (an
 * empty `min`, a missing quantile) is null, and nulls rank last in both orders.
 */
export function orderValue(measures: Readonly<Record<string, unknown>>, orderBy: string): number | null {
  const dot = orderBy.indexOf('.');
  let value: unknown = dot < 0 ? measures[orderBy] : measures[orderBy.slice(0, dot)];
  if (dot >= 0)
    value =
      typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[orderBy.slice(dot + 1)] : null;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** A position in a ranking: the order value and group key of the last group of a page. */
export interface RankPosition {
  readonly value: number | null;
  readonly groupKey: string;
}

export interface RankedPage<G> {
  readonly groups: G[];
  /** Where the next page starts, or null when this page holds the last group. */
  readonly next: RankPosition | null;
}

/**
 * The `limit` groups after `after` (from the first when null), by `orderBy` in `order`, nulls last, ties
 * broken by group key ascending so that every group has one place and pages neither repeat nor skip one
 * while the values stay put. (A provisional window's values can move between pages; each page is exact
 * for the moment it was read.)
 */
export function rankGroups<
  G extends { readonly groupKey: string; readonly measures: Readonly<Record<string, unknown>> },
>(groups: readonly G[], orderBy: string, order: SortOrder, limit: number, after: RankPosition | null): RankedPage<G> {
  const sign = order === 'desc' ? -1 : 1;
  const compare = (a: RankPosition, b: RankPosition): number => {
    if (a.value !== b.value) {
      if (a.value === null) return 1;
      if (b.value === null) return -1;
      return sign * (a.value - b.value);
    }
    return a.groupKey < b.groupKey ? -1 : a.groupKey > b.groupKey ? 1 : 0;
  };
  const ranked = groups
    .map((group) => ({ group, position: { value: orderValue(group.measures, orderBy), groupKey: group.groupKey } }))
    .filter((r) => after === null || compare(r.position, after) > 0)
    .sort((a, b) => compare(a.position, b.position));
  const page = ranked.slice(0, limit);
  return {
    groups: page.map((r) => r.group),
    next: ranked.length > limit ? page[page.length - 1]!.position : null,
  };
}
