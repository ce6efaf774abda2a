/**
 * With idle gaps, interleaved shards, a shard that appears mid-way (a reshard), events far out of order and
 * crashes: every event is counted exactly once (in its window or as late), and no published window ever
 * differs from what the store holds for it in the end. The oracle test covers exact results; this one
 * covers lateness and finality under time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WindowReader } from '../../lambdas/adapters/window-reader.ts';
import { toBatchRecord } from '../../lambdas/aggregate/kinesis-records.ts';
import { ShardProcessor } from '../../lambdas/aggregate/shard-processor.ts';
import { normalizeConfig } from '../../lambdas/core/config.ts';
import { packedRecord } from '../support/kinesis.ts';
import { MemoryStateStore } from '../support/memory-state-store.ts';

const config = normalizeConfig({
  watermark: { outOfOrderness: '2s', allowedLateness: '1s', idleTimeout: '5s' },
  views: [
    { name: 'tumbling', groupBy: ['g'], window: { type: 'tumbling', size: '10s' }, measures: [{ fn: 'count' }] },
    {
      name: 'sliding',
      groupBy: [],
      window: { type: 'sliding', size: '10s', slide: '5s' },
      measures: [{ fn: 'count' }],
    },
    { name: 'sessions', groupBy: ['g'], window: { type: 'session', gap: '3s' }, measures: [{ fn: 'count' }] },
  ],
});
const BASE = Date.UTC(2026, 10, 24, 10, 0, 0);

const stepArb = fc.record({
  shard: fc.integer({ min: 0, max: 2 }),
  /** Event times relative to a rising frontier: mostly near it, sometimes far behind (late). */
  events: fc.array(
    fc.record({
      behind: fc.oneof(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 0, max: 60_000 })),
      g: fc.constantFrom('a', 'b'),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  advance: fc.integer({ min: 0, max: 4_000 }),
  /** Wall-clock time before this batch: sometimes longer than the idle timeout plus the function timeout. */
  wait: fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 60_000, max: 120_000 })),
  crashAfter: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
});

describe('watermark safety', () => {
  it('counts every event once (window or late) and never changes a published window', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 39 }),
        async (steps, reshardAt) => {
          const store = new MemoryStateStore();
          let now = BASE + 1_000_000;
          let frontier = BASE + 100_000;
          // shard-2 is a child that appears at step `reshardAt`; before that only 0 and 1 exist.
          const open = (i: number) => (i >= reshardAt ? ['s0', 's1', 's2'] : ['s0', 's1']);
          let stepIndex = 0;
          const processor = new ShardProcessor(
            config,
            store,
            () => now,
            async () => open(stepIndex),
          );
          let total = 0;
          for (const [i, step] of steps.entries()) {
            stepIndex = i;
            const shardId = `s${i < reshardAt ? step.shard % 2 : step.shard}`;
            now += step.wait;
            frontier += step.advance;
            const events = step.events.map((e) => ({ g: e.g, dateTime: frontier - e.behind }));
            total += events.length;
            const batch = [toBatchRecord(packedRecord(shardId, events, now))];
            if (step.crashAfter !== undefined) {
              store.failDeltaWriteAfter = step.crashAfter;
              await processor.process(shardId, batch).catch(() => undefined);
              store.failDeltaWriteAfter = null;
              now += step.wait;
            }
            await processor.process(shardId, batch);
          }
          now += 10_000_000;
          await processor.emitFinalWindows({ entries: 100_000, deadline: Number.POSITIVE_INFINITY });

          const states = await store.getShardStates();
          expect(states.reduce((n, s) => n + s.counters.processed, 0)).toBe(total);
          // Tumbling: each event is in exactly one window, or late.
          const tumbling = config.views[0]!;
          const inWindows = store.paneEvents(undefined, 'tumbling@');
          const late = states.reduce((n, s) => n + (s.counters.lateByView.tumbling ?? 0), 0);
          expect(inWindows + late).toBe(total);
          // Every published window still reads exactly as published, composed again from its deltas.
          for (const view of config.views) {
            const reader = new WindowReader(view, store);
            const deltas = await reader.allGroupPanes(0, 10 ** 15 - 1);
            for (const published of store.published().filter((e) => e.viewId === reader.viewId)) {
              const { windows } = await reader.compose(deltas.get(published.groupKey) ?? [], {
                from: published.windowStart,
                to: published.windowStart + 1,
                limit: 1,
                watermark: null,
                allowedLatenessMs: 0,
              });
              expect({
                view: view.name,
                start: published.windowStart,
                end: windows[0]?.windowEnd,
                measures: windows[0]?.measures,
              }).toEqual({
                view: view.name,
                start: published.windowStart,
                end: published.windowEnd,
                measures: published.measures,
              });
            }
          }
          void tumbling;
        },
      ),
      { numRuns: Number(process.env.FC_RUNS ?? 300), seed: Number(process.env.FC_SEED ?? Date.now()) },
    );
  });
});
