import { describe, expect, it } from 'vitest';
import { shardStateItem } from '../../lambdas/adapters/dynamo/shard-progress-items.ts';
import { toBatchRecord } from '../../lambdas/aggregate/kinesis-records.ts';
import { ShardProcessor } from '../../lambdas/aggregate/shard-processor.ts';
import { normalizeConfig } from '../../lambdas/core/config.ts';
import { DELTA_BUCKETS } from '../../lambdas/core/pane-log.ts';
import { packedRecord } from '../support/kinesis.ts';
import { MemoryStateStore } from '../support/memory-state-store.ts';

const config = normalizeConfig({
  watermark: { outOfOrderness: '4s', allowedLateness: '5s', idleTimeout: '30s' },
  views: [{ name: 'all', groupBy: [], window: { type: 'tumbling', size: '10s' }, measures: [{ fn: 'count' }] }],
});
const T = Date.UTC(2026, 10, 24, 10, 0, 0);
const batch = (shardId: string, ...times: number[]) => [
  toBatchRecord(
    packedRecord(
      shardId,
      times.map((dateTime) => ({ dateTime })),
      // Records arrive after the events they carry: the watermark never runs ahead of arrival.
      T + 10_000_000,
    ),
  ),
];

describe('ShardProcessor', () => {
  it('lifts an idle shard to the pipeline watermark when it rejoins, so windows final without it stay final', async () => {
    const store = new MemoryStateStore();
    let now = T;
    const processor = new ShardProcessor(config, store, () => now);
    await processor.process('shard-a', batch('shard-a', T + 1_000));
    await processor.process('shard-b', batch('shard-b', T + 2_000));
    // shard-a goes quiet; past the idle timeout plus the function timeout (30 s + 60 s), only shard-b is
    // active and moves the watermark to T+26s.
    now = T + 91_000;
    await processor.process('shard-b', batch('shard-b', T + 30_000));
    now = T + 92_000;
    const report = await processor.process('shard-a', batch('shard-a', T + 3_000));
    expect(report.counters).toMatchObject({ processed: 1, late: 1 });
    const a = (await store.getShardStates()).find((s) => s.shardId === 'shard-a')!;
    expect(a.watermarkFloor).toBe(T + 26_000);
  });

  it('does not lift a registered shard on its first batch, so a slow-starting shard keeps its on-time events', async () => {
    const store = new MemoryStateStore();
    const shards = async () => ['shard-a', 'shard-b'];
    const processor = new ShardProcessor(config, store, () => T + 100_000, shards);
    await processor.process('shard-a', batch('shard-a', T + 60_000));
    const report = await processor.process('shard-b', batch('shard-b', T + 1_000));
    expect(report.counters).toMatchObject({ processed: 1, late: 0 });
  });

  it('starts a shard nobody knew (a child after a reshard) at the emitted-through watermark, so published windows never change', async () => {
    const store = new MemoryStateStore();
    const processor = new ShardProcessor(config, store, () => T + 100_000);
    await processor.process('shard-a', batch('shard-a', T + 1_000, T + 2_000));
    await processor.process('shard-a', batch('shard-a', T + 30_000));
    const published = store.published().find((e) => e.windowStart === T);
    expect(published?.measures).toEqual({ count: 2 });
    const report = await processor.process('shard-c', batch('shard-c', T + 5_000));
    expect(report.counters).toMatchObject({ processed: 1, late: 1 });
    expect(store.paneEvents(T)).toBe(2);
  });

  it('judges a retry exactly as the failed attempt, even when it comes after the shard would count as idle', async () => {
    const store = new MemoryStateStore();
    let now = T;
    const processor = new ShardProcessor(config, store, () => now);
    await processor.process('shard-a', batch('shard-a', T + 1_000));
    await processor.process('shard-b', batch('shard-b', T + 2_000));
    // shard-a's next batch stores its intent, then the attempt dies before its delta is written.
    const records = batch('shard-a', T + 3_000);
    store.failDeltaWriteAfter = 0;
    await expect(processor.process('shard-a', records)).rejects.toThrow(/simulated crash/);
    store.failDeltaWriteAfter = null;
    // Meanwhile shard-b moves the watermark far ahead; the retry comes much later.
    now = T + 200_000;
    await processor.process('shard-b', batch('shard-b', T + 60_000));
    now = T + 300_000;
    const report = await processor.process('shard-a', records);
    expect(report.counters).toMatchObject({ processed: 1, late: 0 });
    const total = store.paneEvents();
    const late = (await store.getShardStates()).reduce((n, s) => n + s.counters.late, 0);
    expect(total + late).toBe(4);
  });

  it('skips a batch whose records are all at or below the shard checkpoint', async () => {
    const store = new MemoryStateStore();
    const processor = new ShardProcessor(config, store, () => T);
    const records = batch('shard-a', T + 1_000, T + 2_000);
    await processor.process('shard-a', records);
    const writes = store.meter.totals().writeRequests;
    const again = await processor.process('shard-a', records);
    expect(again).toMatchObject({ records: 0, skippedRecords: 1 });
    expect(store.meter.totals().writeRequests).toBe(writes);
  });

  it('writes each touched pane once per batch, however many events it holds', async () => {
    const store = new MemoryStateStore();
    const processor = new ShardProcessor(config, store, () => T);
    const report = await processor.process(
      'shard-a',
      batch('shard-a', ...Array.from({ length: 500 }, (_, i) => T + i * 10)),
    );
    expect(report.deltaItems).toBe(1);
    expect(store.meter.totals().byKind.delta?.writes).toBe(1);
  });

  it('writes the same few delta items for 5,000 distinct groups as for one: a batch pays for bytes, not keys', async () => {
    const perKey = normalizeConfig({
      views: [{ name: 'k', groupBy: ['k'], window: { type: 'tumbling', size: '10s' }, measures: [{ fn: 'count' }] }],
    });
    const store = new MemoryStateStore();
    const processor = new ShardProcessor(perKey, store, () => T);
    const events = Array.from({ length: 5_000 }, (_, i) => ({ dateTime: T + 1_000, k: `key-${i}` }));
    const report = await processor.process('shard-a', [toBatchRecord(packedRecord('shard-a', events, T + 10_000_000))]);
    // One item per bucket of the one pane touched.
    expect(report.deltaItems).toBe(DELTA_BUCKETS);
    expect(store.paneEvents(T)).toBe(5_000);
  });

  it('deletes what a given-up attempt wrote when the next batch starts past it, so a redrive counts it once', async () => {
    const store = new MemoryStateStore();
    const processor = new ShardProcessor(config, store, () => T + 100_000);
    const first = batch('shard-a', T + 1_000);
    await processor.process('shard-a', first);
    // The next batch writes its delta, then dies before its shard item: the event source gives up on it.
    const givenUp = batch('shard-a', T + 2_000, T + 3_000);
    givenUp[0] = { ...givenUp[0]!, seq: `${first[0]!.seq}1` };
    store.failShardWriteAfter = 1;
    await expect(processor.process('shard-a', givenUp)).rejects.toThrow(/simulated crash/);
    expect(store.paneEvents(T)).toBe(3);

    // The event source moves on to the next record.
    const next = batch('shard-a', T + 4_000);
    next[0] = { ...next[0]!, seq: `${first[0]!.seq}2` };
    const report = await processor.process('shard-a', next);

    expect(report.replacedItems).toBe(1);
    expect(store.paneEvents(T)).toBe(2);
  });
});

describe('ShardProcessor with a batch that spans many panes (a backfill)', () => {
  it('stores its intent coarsely and still counts each event once when a crashed attempt is retried', async () => {
    const perSecond = normalizeConfig({
      views: [{ name: 's', groupBy: [], window: { type: 'tumbling', size: '1s' }, measures: [{ fn: 'count' }] }],
    });
    const store = new MemoryStateStore();
    const processor = new ShardProcessor(perSecond, store, () => T + 100_000_000);
    // 20,000 events a second apart: 20,000 panes, more keys than one shard item holds exactly.
    const records = Array.from({ length: 200 }, (_, r) =>
      toBatchRecord(
        packedRecord(
          'shard-a',
          Array.from({ length: 100 }, (_, i) => ({ dateTime: T + (r * 100 + i) * 1_000 })),
          T + 100_000_000,
        ),
      ),
    );
    store.failDeltaWriteAfter = 5_000;
    await expect(processor.process('shard-a', records)).rejects.toThrow(/simulated crash/);
    const item = shardStateItem((await store.getShardStates())[0]!);
    expect(item.intent!.S!.length).toBeLessThan(1_000);

    await processor.process('shard-a', records);

    expect(store.paneEvents()).toBe(20_000);
  });
});

describe('ShardProcessor with emit: false', () => {
  it('compacts the windows of a view that does not emit, and publishes nothing', async () => {
    const quiet = normalizeConfig({
      views: [
        {
          name: 'quiet',
          groupBy: [],
          window: { type: 'tumbling', size: '10s' },
          measures: [{ fn: 'count' }],
          emit: false,
        },
      ],
    });
    const store = new MemoryStateStore();
    const processor = new ShardProcessor(quiet, store, () => T);
    await processor.process('shard-a', batch('shard-a', T + 1_000));
    await processor.process('shard-a', batch('shard-a', T + 60_000));
    expect(store.pane.windows.size).toBe(1);
    expect(store.published()).toEqual([]);
    expect(store.paneEvents()).toBe(2);
  });
});

describe('ShardProcessor with records of keyed requests', () => {
  const keyed = (key: string, ...times: number[]) =>
    toBatchRecord(
      packedRecord(
        'shard-a',
        times.map((dateTime) => ({ dateTime })),
        T + 10_000_000,
        key,
      ),
    );
  const countOf = async (store: MemoryStateStore) => store.paneEvents(T);

  it('drops a record that repeats one already applied (same Idempotency-Key and part), counting its events as duplicates', async () => {
    const store = new MemoryStateStore();
    const processor = new ShardProcessor(config, store, () => T + 100_000);
    await processor.process('shard-a', [keyed('k1', T + 1_000, T + 2_000)]);

    // The producer's retry after ingest died: the same events, packed the same way, in a later record.
    const report = await processor.process('shard-a', [keyed('k1', T + 1_000, T + 2_000)]);

    expect(report.counters).toMatchObject({ processed: 0, duplicates: 2 });
    expect(await countOf(store)).toBe(2);
  });

  it('applies each record of another key, and a repeat within one batch once', async () => {
    const store = new MemoryStateStore();
    const processor = new ShardProcessor(config, store, () => T + 100_000);

    const report = await processor.process('shard-a', [
      keyed('k1', T + 1_000),
      keyed('k2', T + 2_000),
      keyed('k1', T + 1_000),
    ]);

    expect(report.counters).toMatchObject({ processed: 2, duplicates: 1 });
    expect(await countOf(store)).toBe(2);
  });

  it('applies a record again when its own batch is retried after a crash: it owns its origin', async () => {
    const store = new MemoryStateStore();
    const processor = new ShardProcessor(config, store, () => T + 100_000);
    const records = [keyed('k1', T + 1_000), keyed('k2', T + 2_000)];
    store.failDeltaWriteAfter = 0;
    await expect(processor.process('shard-a', records)).rejects.toThrow();

    const report = await processor.process('shard-a', records);

    expect(report.counters).toMatchObject({ processed: 2, duplicates: 0 });
    expect(await countOf(store)).toBe(2);
  });
});
