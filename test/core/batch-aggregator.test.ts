import { describe, expect, it } from 'vitest';
import { BatchAggregator, type BatchRecord } from '../../lambdas/core/batch-aggregator.ts';
import { normalizeConfig } from '../../lambdas/core/config.ts';
import { createMeasure } from '../../lambdas/core/measures/index.ts';
import { MAX_NESTING_DEPTH, OMITTED_TOO_DEEP } from '../../lambdas/core/nesting.ts';

const config = normalizeConfig({
  watermark: { outOfOrderness: '4s', allowedLateness: '5s' },
  views: [{ name: 'all', groupBy: [], window: { type: 'tumbling', size: '10s' }, measures: [{ fn: 'count' }] }],
});
const T = Date.UTC(2026, 10, 24, 10, 0, 0);
let seq = 0;
const record = (...times: Array<number | unknown>): BatchRecord => ({
  seq: String(++seq).padStart(64, '0'),
  arrivalMs: T + 60_000,
  items: times.map((t, index) => ({ index, value: typeof t === 'number' ? { dateTime: t } : t })),
});

describe('BatchAggregator', () => {
  it('folds each measure of a pane exactly as its own add would, fields missing, mistyped or shared', () => {
    const measured = normalizeConfig({
      views: [
        {
          name: 'mixed',
          groupBy: [],
          window: { type: 'tumbling', size: '10s' },
          measures: [
            { fn: 'count' },
            { fn: 'sum', field: 'price' },
            { fn: 'min', field: 'qty' },
            { fn: 'max', field: 'price' },
            { fn: 'distinct', field: 'bidder' },
            { fn: 'avg', field: 'price' },
            { fn: 'topk', field: 'bidder', k: 2 },
          ],
        },
      ],
    });
    const events = [
      { dateTime: T, price: 3, qty: 2, bidder: 7 },
      { dateTime: T + 1, price: 'x', qty: -1, bidder: '7' },
      { dateTime: T + 2, qty: Number.NaN, bidder: -8 },
      { dateTime: T + 3, price: 0.1, qty: 5, bidder: 'b' },
      { dateTime: T + 4, price: -2.5, bidder: 2 ** 40 },
    ];
    const result = new BatchAggregator(measured).aggregate([record(...events)], {
      maxEventTime: null,
      watermarkFloor: null,
    });
    const expected = measured.views[0]!.measures.map((spec) => {
      const acc = createMeasure(spec).create();
      for (const event of events) acc.add(event);
      return acc.encode();
    });
    expect([...result.panes.values()][0]!.accumulators.map((acc) => acc.encode())).toEqual(expected);
  });

  it('judges an event late only once the watermark passed its window end plus the allowed lateness', () => {
    const agg = new BatchAggregator(config);
    // After an event at T+19s the watermark is T+15s: window [T, T+10s) is final (10s + 5s <= 15s).
    const result = agg.aggregate([record(T + 19_000), record(T + 9_999, T + 10_000)], {
      maxEventTime: null,
      watermarkFloor: null,
    });
    expect(result.counters).toMatchObject({ processed: 3, late: 1, lateByView: { all: 1 } });
    expect(result.late[0]!.entries[0]).toMatchObject({
      index: 0,
      view: 'all',
      reason: expect.stringContaining('final at watermark'),
    });
  });

  it('judges every event of a record by the watermark before that record', () => {
    const agg = new BatchAggregator(config);
    // T+30s in the same record as T+1s does not make T+1s late: the watermark moves between records only.
    const result = agg.aggregate([record(T + 30_000, T + 1_000)], { maxEventTime: T + 5_000, watermarkFloor: null });
    expect(result.counters.late).toBe(0);
    expect(result.maxEventTime).toBe(T + 30_000);
  });

  it('sets aside unreadable events with the reason and their index, and aggregates the rest', () => {
    const agg = new BatchAggregator(config);
    const result = agg.aggregate([record(T, 'oops', { price: 1 }, T + 1)], {
      maxEventTime: null,
      watermarkFloor: null,
    });
    expect(result.counters).toMatchObject({ processed: 2, deadLettered: 2 });
    expect(result.deadLetters[0]!.entries.map((e) => [e.index, e.reason])).toEqual([
      [1, 'event is not a JSON object'],
      [2, "event time field 'dateTime' is missing"],
    ]);
    expect([...result.panes.values()][0]!.count).toBe(2);
  });

  it('sets aside an event more than an hour ahead of its record, which would push the watermark past everything', () => {
    const agg = new BatchAggregator(config);
    const result = agg.aggregate([record(T + 60_000 + 3_600_001)], { maxEventTime: null, watermarkFloor: null });
    expect(result.counters.deadLettered).toBe(1);
    expect(result.maxEventTime).toBeNull();
  });
});

describe('BatchAggregator limits', () => {
  it('sets aside an event whose group values are too long for a storage key, naming the view', () => {
    const grouped = normalizeConfig({
      views: [
        { name: 'by_user', groupBy: ['user'], window: { type: 'tumbling', size: '10s' }, measures: [{ fn: 'count' }] },
      ],
    });
    const agg = new BatchAggregator(grouped);
    const result = agg.aggregate([record({ dateTime: T, user: 'x'.repeat(600) }, { dateTime: T, user: 'ok' })], {
      maxEventTime: null,
      watermarkFloor: null,
    });
    expect(result.counters).toMatchObject({ processed: 1, deadLettered: 1 });
    expect(result.deadLetters[0]!.entries[0]).toMatchObject({
      index: 0,
      view: 'by_user',
      reason: expect.stringContaining('at most 512 bytes'),
    });
  });
});

describe('BatchAggregator and producer clocks', () => {
  it('does not let an event from a fast clock push the watermark ahead of its arrival', () => {
    const agg = new BatchAggregator(config);
    // Arrives at T+60s claiming T+60s+50min: it is aggregated in its own window, but counts for the watermark
    // as arrival + out-of-orderness (T+64s), so the watermark is T+60s and an event at T+56s is not late.
    const fast = record(T + 60_000 + 50 * 60_000);
    const result = agg.aggregate([fast, record(T + 56_000)], { maxEventTime: null, watermarkFloor: null });
    expect(result.counters).toMatchObject({ processed: 2, late: 0 });
    expect(result.maxEventTime).toBe(T + 60_000 + 4_000);
  });
});

describe('BatchAggregator and poison events', () => {
  const grouped = normalizeConfig({
    views: [
      { name: 'by_user', groupBy: ['user'], window: { type: 'tumbling', size: '10s' }, measures: [{ fn: 'count' }] },
    ],
  });
  const deep = (depth: number) => JSON.parse(`${'['.repeat(depth)}1${']'.repeat(depth)}`) as unknown;

  it('sets aside an event nested too deeply, without its body, and aggregates its neighbours', () => {
    const agg = new BatchAggregator(grouped);
    const result = agg.aggregate(
      [
        record({ dateTime: T, user: 'a' }, { dateTime: T, user: deep(10_000) }, deep(300_000), {
          dateTime: T,
          user: 'a',
        }),
      ],
      { maxEventTime: null, watermarkFloor: null },
    );
    expect(result.counters).toMatchObject({ processed: 2, deadLettered: 2 });
    expect(result.deadLetters[0]!.entries).toEqual([
      {
        index: 1,
        reason: `event is nested deeper than ${MAX_NESTING_DEPTH} levels of objects and arrays`,
        event: OMITTED_TOO_DEEP,
      },
      {
        index: 2,
        reason: `event is nested deeper than ${MAX_NESTING_DEPTH} levels of objects and arrays`,
        event: OMITTED_TOO_DEEP,
      },
    ]);
    expect([...result.panes.values()].map((p) => p.count)).toEqual([2]);
    // What the store writes as side records is JSON: it must not overflow.
    expect(() => JSON.stringify(result.deadLetters)).not.toThrow();
  });

  it('sets aside an event with an out-of-range time, naming it', () => {
    const agg = new BatchAggregator(grouped);
    const result = agg.aggregate([record({ dateTime: 1e20 }, { dateTime: '2026-02-30T00:00:00Z' })], {
      maxEventTime: null,
      watermarkFloor: null,
    });
    expect(result.deadLetters[0]!.entries.map((e) => e.reason)).toEqual([
      "event time 'dateTime' is 100000000000000000000, after 9999-12-31T23:59:59.999Z",
      'event time \'dateTime\' is "2026-02-30T00:00:00Z", not a real date',
    ]);
  });

  it('sets aside an event on which reading it throws, with the error, and goes on', () => {
    const agg = new BatchAggregator(grouped);
    const hostile = {
      dateTime: T,
      get user(): unknown {
        throw new Error('field cannot be read');
      },
    };
    const result = agg.aggregate([record(hostile, { dateTime: T, user: 'b' })], {
      maxEventTime: null,
      watermarkFloor: null,
    });
    expect(result.counters).toMatchObject({ processed: 1, deadLettered: 1 });
    expect(result.deadLetters[0]!.entries[0]!.reason).toBe('event cannot be aggregated: field cannot be read');
  });
});
