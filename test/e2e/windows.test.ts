/** Event-time windows over HTTP: sliding panes, sessions that merge across requests, windows turning final. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPipeline } from '../../local/pipeline.ts';
import { Api, startPipeline, TestClock } from './support.ts';

let pipeline: LocalPipeline;
let api: Api;
const clock = new TestClock();

beforeAll(async () => {
  pipeline = await startPipeline();
  api = new Api(pipeline);
});
afterAll(async () => {
  await pipeline?.stop();
});

const bid = (bidder: number, price: number, dateTime: number) => ({ type: 'bid', auction: 1, bidder, price, dateTime });
type Result = { windowStart: string; windowEnd: string; final: boolean; measures: Record<string, number> };
const iso = (t: number) => new Date(t).toISOString();

describe('sliding windows', () => {
  it('counts each bid in every 10 s window (sliding by 2 s) that contains it', async () => {
    const t = clock.windows(3);
    await api.post([bid(1, 1, t + 1_000), bid(1, 1, t + 5_000), bid(1, 1, t + 11_000)]);
    await api.drained();
    const res = await api.get(`/views/hot_auctions/results?from=${t - 8_000}&to=${t + 12_000}`);
    const counts = Object.fromEntries(res.body.results.map((r: Result) => [r.windowStart, r.measures.count]));
    expect(counts).toEqual({
      [iso(t - 8_000)]: 1,
      [iso(t - 6_000)]: 1,
      [iso(t - 4_000)]: 2,
      [iso(t - 2_000)]: 2,
      [iso(t)]: 2,
      [iso(t + 2_000)]: 2,
      [iso(t + 4_000)]: 2,
      [iso(t + 6_000)]: 1,
      [iso(t + 8_000)]: 1,
      [iso(t + 10_000)]: 1,
    });
  });
});

describe('session windows', () => {
  it('merges sessions built in different requests when an out-of-order event bridges them', async () => {
    const t = clock.windows(4);
    await api.post([bid(42, 10, t), bid(42, 20, t + 8_000)]);
    await api.post([bid(42, 5, t + 19_000)]);
    await api.drained();
    const before = await api.get('/views/bidder_sessions/results?bidder=42');
    expect(before.body.results.map((r: Result) => [r.windowStart, r.windowEnd, r.measures.count])).toEqual([
      [iso(t), iso(t + 18_000), 2],
      [iso(t + 19_000), iso(t + 29_000), 1],
    ]);

    // Out of order but within the 4 s bound (the newest event is t+19s), and less than 10 s from both sessions.
    await api.post([bid(42, 1, t + 15_000)]);
    await api.drained();
    const after = await api.get('/views/bidder_sessions/results?bidder=42');
    expect(after.body.results).toHaveLength(1);
    expect(after.body.results[0]).toMatchObject({
      windowStart: iso(t),
      windowEnd: iso(t + 29_000),
      measures: { count: 4, sum_price: 36 },
    });
  });

  it('reads the sessions that start in [from, to), including one that runs past to', async () => {
    const t = clock.windows(6);
    await api.post([
      bid(43, 1, t),
      bid(43, 1, t + 5_000),
      bid(43, 1, t + 30_000),
      bid(43, 1, t + 39_000),
      bid(43, 1, t + 47_000),
    ]);
    await api.drained();
    const res = await api.get(`/views/bidder_sessions/results?bidder=43&from=${t + 1}&to=${t + 31_000}`);
    expect(res.body.results.map((r: Result) => [r.windowStart, r.windowEnd, r.measures.count])).toEqual([
      [iso(t + 30_000), iso(t + 57_000), 3],
    ]);
  });
});

describe('finality', () => {
  it('marks a window final once later events push the watermark past its end plus the allowed lateness', async () => {
    const t = clock.windows(2);
    await api.post([{ type: 'bid', auction: 77, bidder: 1, price: 1, dateTime: t + 1_000 }]);
    await api.drained();
    const provisional = await api.get('/views/bids_per_auction/results?auction=77');
    expect(provisional.body.results[0].final).toBe(false);

    // Watermark = newest event time - 4 s; the window [t, t+10s) is final once it reaches t + 10 s + 5 s.
    // Every shard must get there.
    await api.postOnEveryShard(bid(2, 1, t + 19_000));
    const final = await api.get('/views/bids_per_auction/results?auction=77');
    expect(final.body.results[0]).toMatchObject({ final: true, measures: { count: 1 } });
  });
});

describe('analytic measures', () => {
  it('serves top-k, max-by, distinct and quantiles through the API', async () => {
    const t = clock.windows(7);
    const bids = [
      { type: 'bid', auction: 5003, bidder: 1007, price: 9120, channel: 'Apple', dateTime: t + 1_000 },
      { type: 'bid', auction: 5003, bidder: 1008, price: 100, channel: 'Apple', dateTime: t + 2_000 },
      { type: 'bid', auction: 5004, bidder: 1007, price: 200, channel: 'Apple', dateTime: t + 3_000 },
    ];
    await api.post(bids);
    await api.drained();
    const highest = await api.get(`/views/highest_bid/results?from=${t}&to=${t + 10_000}`);
    expect(highest.body.results[0].measures).toEqual({
      max_price: 9120,
      maxBy_price: { price: 9120, auction: 5003, bidder: 1007 },
    });
    const hot = await api.get(`/views/hot_auctions/results?from=${t}&to=${t + 1}`);
    expect(hot.body.results[0].measures.topk_auction).toEqual([
      { value: '5003', count: 2 },
      { value: '5004', count: 1 },
    ]);
    const stats = await api.get(`/views/bid_stats_by_channel/results?channel=Apple`);
    expect(stats.body.results[0].measures.count).toBe(3);
    expect(stats.body.results[0].measures.distinct_bidder).toBe(2);
    const q = stats.body.results[0].measures.quantiles_price;
    expect(Object.keys(q)).toEqual(['0.5', '0.9', '0.99']);
    expect(Math.abs(q['0.5'] - 200) / 200).toBeLessThanOrEqual(0.01);
  });
});

describe('emitted results', () => {
  type Emitted = { group: Record<string, string>; windowStart: string; measures: Record<string, number> };
  async function allEmitted(view: string): Promise<{ results: Emitted[]; completeThrough: string | null }> {
    const results: Emitted[] = [];
    let cursor: string | null = null;
    let completeThrough: string | null = null;
    for (;;) {
      const page: { status: number; body: { completeThrough: string | null; results: Emitted[]; nextCursor: string } } =
        await api.get(`/emitted?view=${view}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      completeThrough = page.body.completeThrough;
      results.push(...page.body.results);
      if (page.body.results.length === 0) return { results, completeThrough };
      cursor = page.body.nextCursor;
    }
  }

  it('publishes each window once when it becomes final, and lists it after the cursor', async () => {
    const t = clock.windows(2);
    await api.post([
      { type: 'bid', auction: 88, bidder: 1, price: 5, dateTime: t + 1_000 },
      { type: 'bid', auction: 88, bidder: 1, price: 7, dateTime: t + 2_000 },
    ]);
    await api.drained();
    expect((await allEmitted('bids_per_auction')).results.filter((r) => r.group.auction === '88')).toEqual([]);

    await api.postOnEveryShard(bid(3, 1, t + 19_000));
    let mine: Emitted[] = [];
    for (let i = 0; i < 50 && mine.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      mine = (await allEmitted('bids_per_auction')).results.filter((r) => r.group.auction === '88');
    }
    expect(mine).toEqual([
      expect.objectContaining({
        windowStart: iso(t),
        measures: { count: 2, sum_price: 12, min_price: 5, max_price: 7, avg_price: 6 },
      }),
    ]);
    // More batches and scheduled runs later, it is still there exactly once.
    await api.post([bid(3, 1, t + 20_000)]);
    await api.drained();
    await new Promise((r) => setTimeout(r, 2_500));
    const again = await allEmitted('bids_per_auction');
    expect(again.results.filter((r) => r.group.auction === '88')).toHaveLength(1);
    expect(Date.parse(again.completeThrough!)).toBeGreaterThanOrEqual(t + 10_000);
  });

  it('names the missing view parameter', async () => {
    const res = await api.get('/emitted');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^view: required; one of bids_per_auction/);
  });
});
