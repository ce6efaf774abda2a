/** GET /views/{view}/groups over HTTP: every group of one window, ranked by a measure result, paged. */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EddyConfig } from '../../lambdas/core/config.ts';
import type { LocalPipeline } from '../../local/pipeline.ts';
import { Api, startPipeline, TestClock } from './support.ts';

const config: EddyConfig = {
  eventTimeField: 'dateTime',
  watermark: { outOfOrderness: '4s', allowedLateness: '5s', idleTimeout: '30s' },
  views: [
    {
      name: 'bids',
      where: { type: 'bid' },
      groupBy: ['auction'],
      window: { type: 'tumbling', size: '10s' },
      measures: [
        { fn: 'count' },
        { fn: 'sum', field: 'price' },
        { fn: 'quantiles', field: 'price', q: [0.5, 0.99] },
        { fn: 'topk', field: 'bidder', k: 3 },
      ],
    },
    {
      name: 'hot',
      where: { type: 'bid' },
      groupBy: ['auction'],
      window: { type: 'sliding', size: '10s', slide: '2s' },
      measures: [{ fn: 'count' }],
    },
    {
      name: 'sessions',
      where: { type: 'bid' },
      groupBy: ['bidder'],
      window: { type: 'session', gap: '10s' },
      measures: [{ fn: 'count' }],
    },
    {
      name: 'quiet',
      where: { type: 'bid' },
      groupBy: ['auction'],
      window: { type: 'tumbling', size: '10s' },
      measures: [{ fn: 'count' }],
      emit: false,
    },
    {
      // Many groups, for paging; events of their own type, so the other views do not publish them too.
      name: 'bulk',
      where: { type: 'bulk' },
      groupBy: ['auction'],
      window: { type: 'tumbling', size: '10s' },
      measures: [{ fn: 'count' }, { fn: 'sum', field: 'price' }],
    },
    {
      name: 'bidders',
      where: { type: 'bid' },
      groupBy: [],
      window: { type: 'tumbling', size: '10s' },
      measures: [{ fn: 'topk', field: 'bidder', k: 3 }],
    },
  ],
};

let pipeline: LocalPipeline;
let api: Api;
const clock = new TestClock();

beforeAll(async () => {
  const configFile = path.join(tmpdir(), `eddy-groups-views-${process.pid}.json`);
  await writeFile(configFile, JSON.stringify(config));
  pipeline = await startPipeline({ configFile });
  api = new Api(pipeline);
});
afterAll(async () => {
  await pipeline?.stop();
});

const bid = (auction: string, price: number, dateTime: number, bidder = 'b1') => ({
  type: 'bid',
  auction,
  bidder,
  price,
  dateTime,
});
const iso = (t: number) => new Date(t).toISOString();
type Group = { group: Record<string, string | null>; measures: Record<string, unknown> };
type Page = {
  view: string;
  windowStart: string | null;
  windowEnd: string | null;
  final: boolean;
  groups: Group[];
  nextCursor: string | null;
};

/** Pushes every shard's watermark past `t` + 15 s. */
async function advancePast(t: number): Promise<void> {
  await api.postOnEveryShard(bid('tick', 0, t + 19_000, 'tick'));
}

describe('GET /views/{view}/groups', () => {
  it('ranks the groups of a window by count, most first, each with its group and measures', async () => {
    const t = clock.windows();
    await api.post([
      bid('a', 10, t + 1),
      bid('b', 1, t + 2),
      bid('b', 2, t + 3),
      bid('c', 5, t + 4),
      bid('c', 5, t + 5),
      bid('c', 5, t + 6),
    ]);
    await api.drained();
    const res = await api.get<Page>(`/views/bids/groups?window=${t}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      view: 'bids',
      windowStart: iso(t),
      windowEnd: iso(t + 10_000),
      final: false,
      nextCursor: null,
    });
    expect(res.body.groups.map((g) => [g.group, g.measures.count, g.measures.sum_price])).toEqual([
      [{ auction: 'c' }, 3, 15],
      [{ auction: 'b' }, 2, 3],
      [{ auction: 'a' }, 1, 10],
    ]);
  });

  it('orders by the result named in orderBy, ascending with order=asc', async () => {
    const t = clock.windows();
    await api.post([bid('a', 10, t + 1), bid('b', 1, t + 2), bid('b', 2, t + 3), bid('c', 30, t + 4)]);
    await api.drained();
    const res = await api.get<Page>(`/views/bids/groups?window=${iso(t)}&orderBy=sum_price&order=asc`);
    expect(res.body.groups.map((g) => [g.group.auction, g.measures.sum_price])).toEqual([
      ['b', 3],
      ['a', 10],
      ['c', 30],
    ]);
  });

  it('orders by a quantile named with a dotted path', async () => {
    const t = clock.windows();
    await api.post([bid('low', 1, t + 1), bid('high', 1_000, t + 2), bid('mid', 100, t + 3)]);
    await api.drained();
    const res = await api.get<Page>(`/views/bids/groups?window=${t}&orderBy=quantiles_price.0.99`);
    expect(res.body.groups.map((g) => g.group.auction)).toEqual(['high', 'mid', 'low']);
  });

  it('reads window=latest as the newest window whose start is at or below the watermark', async () => {
    const t = clock.windows(2);
    // Newest event time t + 16 s: the watermark (newest - 4 s) is t + 12 s, in the window [t + 10 s, t + 20 s).
    await api.postOnEveryShard(bid('late-a', 1, t + 16_000));
    const res = await api.get<Page>('/views/bids/groups?window=latest');
    expect(res.body.windowStart).toBe(iso(t + 10_000));
    expect(res.body.groups).toEqual([expect.objectContaining({ group: { auction: 'late-a' } })]);
  });

  it('marks a final window final and serves its published results', async () => {
    const t = clock.windows(2);
    await api.post([bid('f1', 4, t + 1), bid('f1', 6, t + 2), bid('f2', 1, t + 3)]);
    await api.drained();
    await advancePast(t);
    // Published by the emitter after the batch that made it final, or by the scheduled run.
    for (let i = 0; i < 50; i++) {
      const emitted = await api.get('/emitted?view=bids&limit=1000');
      if (emitted.body.results.some((r: { group: { auction: string } }) => r.group.auction === 'f2')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const res = await api.get<Page>(`/views/bids/groups?window=${t}`);
    expect(res.body.final).toBe(true);
    expect(res.body.groups.map((g) => [g.group.auction, g.measures.count, g.measures.sum_price])).toEqual([
      ['f1', 2, 10],
      ['f2', 1, 1],
    ]);
  });

  it('composes sliding windows: a group counts in every window that holds its events', async () => {
    const t = clock.windows(2);
    await api.post([bid('s1', 1, t + 1_000), bid('s1', 1, t + 9_000), bid('s2', 1, t + 9_500)]);
    await api.drained();
    const early = await api.get<Page>(`/views/hot/groups?window=${t - 8_000}`);
    expect(early.body.groups.map((g) => [g.group.auction, g.measures.count])).toEqual([['s1', 1]]);
    const full = await api.get<Page>(`/views/hot/groups?window=${t}`);
    expect(full.body.groups.map((g) => [g.group.auction, g.measures.count])).toEqual([
      ['s1', 2],
      ['s2', 1],
    ]);
  });

  it('answers an empty list for a window with no events', async () => {
    const t = clock.windows();
    const res = await api.get<Page>(`/views/bids/groups?window=${t}`);
    expect(res.status).toBe(200);
    expect(res.body.groups).toEqual([]);
  });

  it('pages through every group of a window once, with limit and nextCursor', async () => {
    const t = clock.windows();
    // More groups than one BatchGetItem call reads (100 keys), on each of the two shards.
    const events = Array.from({ length: 250 }, (_, i) => ({ ...bid(`p${i}`, i, t + i), type: 'bulk' }));
    expect((await api.post(events)).status).toBe(202);
    await api.drained();
    const prices: unknown[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: Page } = await api.get<Page>(
        `/views/bulk/groups?window=${t}&orderBy=sum_price&limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.status).toBe(200);
      prices.push(...res.body.groups.map((g) => g.measures.sum_price));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(prices).toEqual(Array.from({ length: 250 }, (_, i) => 249 - i));
  });
});

describe('GET /views/{view}/groups errors', () => {
  it.each([
    ['an unknown parameter', 'bids/groups?foo=1', "unknown parameter 'foo'; use window, orderBy, order, limit, cursor"],
    [
      'a result that is not a number',
      'bids/groups?orderBy=topk_bidder',
      "orderBy: 'topk_bidder' is not a numeric result of view 'bids'; use one of count, sum_price, quantiles_price.0.5, quantiles_price.0.99",
    ],
    [
      'a view with nothing to order by',
      'bidders/groups',
      "orderBy: view 'bidders' has no numeric result to order groups by",
    ],
    ['an order other than desc or asc', 'bids/groups?order=up', "order: 'up' must be desc or asc"],
    [
      'a window that is not a time',
      'bids/groups?window=now',
      "window: 'now' is not a window start; use latest, epoch milliseconds or ISO-8601 with a zone (2026-11-24T10:00:00Z)",
    ],
    [
      'a time that does not start a window',
      'bids/groups?window=2026-01-01T00:00:03Z',
      "window: '2026-01-01T00:00:03Z' is not the start of a window of view 'bids'; its windows start every 10000 ms (2026-01-01T00:00:00.000Z, 2026-01-01T00:00:10.000Z, ...), or use latest",
    ],
    ['a limit out of range', 'bids/groups?limit=1001', "limit: '1001' must be an integer from 1 to 1000"],
    [
      'a cursor this API did not return',
      'bids/groups?cursor=abc',
      'cursor: not a cursor this API returned; pass nextCursor from the previous page unchanged',
    ],
    [
      'a session view',
      'sessions/groups',
      "view: 'sessions' has session windows, which start and end per group; /groups ranks the groups of one tumbling or sliding window (read a group's sessions with /views/sessions/results)",
    ],
  ])('answers 400 naming %s', async (_, query, error) => {
    const res = await api.get(`/views/${query}`);
    expect(res.body).toEqual({ error });
    expect(res.status).toBe(400);
  });

  it('ranks the groups of a view that does not publish: the window is read from its deltas, not the emitter', async () => {
    const t = clock.windows();
    await api.post([bid('q1', 1, t + 1), bid('q1', 2, t + 2), bid('q2', 3, t + 3)]);
    await api.drained();
    const res = await api.get<Page>(`/views/quiet/groups?window=${t}`);
    expect(res.status).toBe(200);
    expect(res.body.groups).toEqual([
      { group: { auction: 'q1' }, measures: { count: 2 } },
      { group: { auction: 'q2' }, measures: { count: 1 } },
    ]);
  });

  it('answers 400 for a cursor passed with another orderBy', async () => {
    const t = clock.windows();
    await api.post([bid('x', 1, t + 1), bid('y', 2, t + 2)]);
    await api.drained();
    const first = await api.get<Page>(`/views/bids/groups?window=${t}&limit=1`);
    const res = await api.get(
      `/views/bids/groups?window=${t}&limit=1&orderBy=sum_price&cursor=${first.body.nextCursor}`,
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(
      'cursor: was made for orderBy=count&order=desc; pass the same orderBy and order as for the first page',
    );
  });

  it('answers 404 naming an unknown view', async () => {
    const res = await api.get('/views/nope/groups');
    expect(res.status).toBe(404);
    expect(res.body.error).toBe("view 'nope' does not exist; views: bids, hot, sessions, quiet, bulk, bidders");
  });
});
