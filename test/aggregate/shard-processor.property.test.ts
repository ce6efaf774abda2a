/**
 * The pipeline core against a brute-force oracle: whatever the shard split, record packing, batching, crashes
 * mid-batch, bisected retries and duplicate deliveries, every window holds exactly the events that belong to
 * it, each counted once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WindowReader } from '../../lambdas/adapters/window-reader.ts';
import { paddedSequence, shardIdOf, toBatchRecord } from '../../lambdas/aggregate/kinesis-records.ts';
import { ShardProcessor } from '../../lambdas/aggregate/shard-processor.ts';
import { type EddyConfig, normalizeConfig, type ViewSpec } from '../../lambdas/core/config.ts';
import { groupKeyOf, viewIdOf } from '../../lambdas/core/group.ts';
import { packedRecord } from '../support/kinesis.ts';
import { MemoryStateStore } from '../support/memory-state-store.ts';

const raw: EddyConfig = {
  watermark: { outOfOrderness: '4s', allowedLateness: '5s', idleTimeout: '1h' },
  views: [
    {
      name: 'per_group',
      where: { type: 'bid' },
      groupBy: ['g'],
      window: { type: 'tumbling', size: '10s' },
      measures: [
        { fn: 'count' },
        { fn: 'sum', field: 'price' },
        { fn: 'min', field: 'price' },
        { fn: 'max', field: 'price' },
        { fn: 'avg', field: 'price' },
      ],
    },
    {
      name: 'sliding_all',
      groupBy: [],
      window: { type: 'sliding', size: '10s', slide: '4s' },
      measures: [{ fn: 'count' }, { fn: 'sum', field: 'price' }],
    },
    {
      name: 'sessions',
      where: { type: 'bid' },
      groupBy: ['g'],
      window: { type: 'session', gap: '3s' },
      measures: [{ fn: 'count' }, { fn: 'max', field: 'price' }],
    },
  ],
};
const config = normalizeConfig(raw);
const BASE = Date.UTC(2026, 10, 24, 10, 0, 0);
/** Records arrive after every event they carry: the watermark never runs ahead of arrival (see BatchAggregator). */
const ARRIVAL = BASE + 10_000_000;

interface TestEvent {
  type: string;
  g: string;
  price?: number;
  dateTime: number;
}

/** By definition: every window that contains the event's time, for every view whose filter matches. */
function oracle(view: ViewSpec, events: readonly TestEvent[]) {
  const windows = new Map<string, Map<number, TestEvent[]>>();
  const w = view.window;
  if (w.type === 'session') {
    // Sort each group's events by time; a new session starts wherever two neighbours are a gap or more apart.
    const byGroup = new Map<string, TestEvent[]>();
    for (const e of events) {
      if (view.where.some(([f, v]) => (e as unknown as Record<string, unknown>)[f] !== v)) continue;
      const gk = groupKeyOf(view.groupBy.map((f) => String((e as unknown as Record<string, unknown>)[f])));
      byGroup.set(gk, [...(byGroup.get(gk) ?? []), e]);
    }
    for (const [gk, list] of byGroup) {
      list.sort((a, b) => a.dateTime - b.dateTime);
      const sessions = new Map<number, TestEvent[]>();
      let start = Number.NaN;
      let last = Number.NEGATIVE_INFINITY;
      for (const e of list) {
        if (e.dateTime - last >= w.gapMs) start = e.dateTime;
        sessions.set(start, [...(sessions.get(start) ?? []), e]);
        last = e.dateTime;
      }
      windows.set(gk, sessions);
    }
    return windows;
  }
  for (const e of events) {
    if (view.where.some(([f, v]) => (e as unknown as Record<string, unknown>)[f] !== v)) continue;
    const gk = groupKeyOf(view.groupBy.map((f) => String((e as unknown as Record<string, unknown>)[f])));
    const byStart = windows.get(gk) ?? new Map<number, TestEvent[]>();
    windows.set(gk, byStart);
    for (let start = e.dateTime - (e.dateTime % w.slideMs); start > e.dateTime - w.sizeMs; start -= w.slideMs) {
      byStart.set(start, [...(byStart.get(start) ?? []), e]);
    }
  }
  return windows;
}

function expectedMeasures(view: ViewSpec, events: readonly TestEvent[]) {
  const prices = events.map((e) => e.price).filter((p): p is number => p !== undefined);
  const sum = prices.reduce((a, b) => a + b, 0);
  const all: Record<string, unknown> = {
    count: events.length,
    sum_price: prices.length ? sum : null,
    min_price: prices.length ? Math.min(...prices) : null,
    max_price: prices.length ? Math.max(...prices) : null,
    avg_price: prices.length ? sum / prices.length : null,
  };
  return Object.fromEntries(view.measures.map((m) => [m.name, all[m.name]]));
}

/** Every group's windows, through the read path the emitter and GET /groups use (every bucket's deltas). */
async function readAll(store: MemoryStateStore, view: ViewSpec) {
  const reader = new WindowReader(view, store);
  const out = new Map<string, Map<number, Record<string, unknown>>>();
  const req = { from: 0, to: 10 ** 15, limit: 1000, watermark: null, allowedLatenessMs: 0 };
  for (const [gk, panes] of await reader.allGroupPanes(0, 10 ** 15 - 1)) {
    const page = await reader.compose(panes, req);
    out.set(gk, new Map(page.windows.map((r) => [r.windowStart, r.measures])));
  }
  return out;
}

/** Events in arrival order whose times trail a rising frontier by at most the out-of-orderness: none is late. */
const eventsArb = fc
  .array(
    fc.record({
      advance: fc.integer({ min: 0, max: 3_000 }),
      jitter: fc.integer({ min: 0, max: 4_000 }),
      type: fc.constantFrom('bid', 'bid', 'bid', 'person'),
      g: fc.constantFrom('a', 'b', 'c'),
      price: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: undefined }),
      shard: fc.integer({ min: 0, max: 2 }),
    }),
    { minLength: 1, maxLength: 150 },
  )
  .map((specs) => {
    let frontier = BASE + 10_000;
    return specs.map((s) => {
      frontier += s.advance;
      const event: TestEvent = { type: s.type, g: s.g, dateTime: frontier - s.jitter };
      if (s.price !== undefined) event.price = s.price;
      return { event, shard: s.shard };
    });
  });

/** How each batch is delivered: cleanly, crashing after some delta writes then retried whole or bisected, or twice. */
const deliveryArb = fc.constantFrom('clean', 'crash-retry', 'crash-bisect', 'duplicate');

describe('ShardProcessor against the brute-force oracle', () => {
  it('counts every event exactly once in every window, whatever the batching, shards, crashes and replays', async () => {
    await fc.assert(
      fc.asyncProperty(
        eventsArb,
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(deliveryArb, { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 5 }),
        async (arrivals, eventsPerRecord, recordsPerBatch, deliveries, crashAfter) => {
          const store = new MemoryStateStore();
          const shardIds = ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002'];
          const processor = new ShardProcessor(
            config,
            store,
            () => BASE + 100_000,
            async () => shardIds,
          );
          // Per shard: records of up to eventsPerRecord events, in arrival order; then batches of records.
          const batches: Array<{ shardId: string; records: ReturnType<typeof packedRecord>[] }> = [];
          for (let s = 0; s < 3; s++) {
            const shardId = `shardId-00000000000${s}`;
            const events = arrivals.filter((a) => a.shard === s).map((a) => a.event);
            const records = [];
            for (let i = 0; i < events.length; i += eventsPerRecord) {
              records.push(packedRecord(shardId, events.slice(i, i + eventsPerRecord), ARRIVAL));
            }
            for (let i = 0; i < records.length; i += recordsPerBatch) {
              batches.push({ shardId, records: records.slice(i, i + recordsPerBatch) });
            }
          }
          // Shards progress independently; interleave them but keep each shard's batches in order.
          batches.sort((a, b) => a.shardId.localeCompare(b.shardId));
          for (const [i, batch] of batches.entries()) {
            const delivery = deliveries[i % deliveries.length]!;
            const input = batch.records.map(toBatchRecord);
            expect(shardIdOf(batch.records[0]!)).toBe(batch.shardId);
            if (delivery === 'crash-retry' || delivery === 'crash-bisect') {
              store.failDeltaWriteAfter = crashAfter;
              await processor.process(batch.shardId, input).catch(() => undefined);
              store.failDeltaWriteAfter = null;
            }
            if (delivery === 'crash-bisect' && input.length > 1) {
              const half = Math.ceil(input.length / 2);
              await processor.process(batch.shardId, input.slice(0, half));
              await processor.process(batch.shardId, input.slice(half));
            }
            await processor.process(batch.shardId, input);
            if (delivery === 'duplicate') await processor.process(batch.shardId, input);
          }

          const all = arrivals.map((a) => a.event);
          for (const view of config.views) {
            const expected = oracle(view, all);
            const actual = await readAll(store, view);
            expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
            for (const [gk, byStart] of expected) {
              const got = actual.get(gk)!;
              expect([...got.keys()].sort()).toEqual([...byStart.keys()].sort());
              for (const [start, events] of byStart) expect(got.get(start)).toEqual(expectedMeasures(view, events));
            }
          }
          const states = await store.getShardStates();
          expect(states.reduce((n, s) => n + s.counters.processed, 0)).toBe(all.length);
          expect(states.reduce((n, s) => n + s.counters.late, 0)).toBe(0);

          // Later every shard is idle: the watermark is the highest any shard reached, and every window
          // ending before it (plus the allowed lateness) is final. Each must be published once, with exactly
          // the oracle's result: a window published early, from part of its events, would differ.
          const later = new ShardProcessor(config, store, () => BASE + 10_000_000);
          await later.emitFinalWindows({ entries: 100_000, deadline: Number.POSITIVE_INFINITY });
          const watermark = Math.max(...all.map((e) => e.dateTime)) - config.outOfOrdernessMs;
          for (const view of config.views) {
            const viewId = viewIdOf(view);
            const expected: string[] = [];
            for (const [gk, byStart] of oracle(view, all)) {
              for (const [start, events] of byStart) {
                const w = view.window;
                const end =
                  w.type === 'session' ? Math.max(...events.map((e) => e.dateTime)) + w.gapMs : start + w.sizeMs;
                if (end + config.allowedLatenessMs > watermark) continue;
                expected.push(`${gk}|${start}`);
                const published = store
                  .published()
                  .find((e) => e.viewId === viewId && e.groupKey === gk && e.windowStart === start);
                expect(published?.measures).toEqual(expectedMeasures(view, events));
                expect(published?.windowEnd).toBe(end);
              }
            }
            const got = store
              .published()
              .filter((e) => e.viewId === viewId)
              .map((e) => `${e.groupKey}|${e.windowStart}`);
            expect(got.sort()).toEqual(expected.sort());
          }
        },
      ),
      { numRuns: Number(process.env.FC_RUNS ?? 150) },
    );
  });

  it('pads sequence numbers so that longer numbers sort after shorter ones', () => {
    expect(paddedSequence('9') < paddedSequence('10')).toBe(true);
  });
});
