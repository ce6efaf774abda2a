import { describe, expect, it } from 'vitest';
import { toBatchRecord } from '../../lambdas/aggregate/kinesis-records.ts';
import { ShardProcessor } from '../../lambdas/aggregate/shard-processor.ts';
import { normalizeConfig } from '../../lambdas/core/config.ts';
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
      T,
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
    // shard-a goes quiet; 31 s later only shard-b is active and moves the watermark to T+26s.
    now = T + 31_000;
    await processor.process('shard-b', batch('shard-b', T + 30_000));
    now = T + 32_000;
    const report = await processor.process('shard-a', batch('shard-a', T + 3_000));
    expect(report.counters).toMatchObject({ processed: 1, late: 1 });
    const a = (await store.getShardStates()).find((s) => s.shardId === 'shard-a')!;
    expect(a.watermarkFloor).toBe(T + 26_000);
  });

  it('does not lift a shard on its first batch, so a slow-starting shard keeps its on-time events', async () => {
    const store = new MemoryStateStore();
    const processor = new ShardProcessor(config, store, () => T + 100_000);
    await processor.process('shard-a', batch('shard-a', T + 60_000));
    const report = await processor.process('shard-b', batch('shard-b', T + 1_000));
    expect(report.counters).toMatchObject({ processed: 1, late: 0 });
  });

  it('skips a batch whose records are all at or below the shard checkpoint', async () => {
    const store = new MemoryStateStore();
    const processor = new ShardProcessor(config, store, () => T);
    const records = batch('shard-a', T + 1_000, T + 2_000);
    await processor.process('shard-a', records);
    const writes = store.paneWrites;
    const again = await processor.process('shard-a', records);
    expect(again).toMatchObject({ records: 0, skippedRecords: 1 });
    expect(store.paneWrites).toBe(writes);
  });

  it('writes each touched pane once per batch, however many events it holds', async () => {
    const store = new MemoryStateStore();
    const processor = new ShardProcessor(config, store, () => T);
    const report = await processor.process(
      'shard-a',
      batch('shard-a', ...Array.from({ length: 500 }, (_, i) => T + i * 10)),
    );
    expect(report.paneWrites).toBe(1);
    expect(store.paneWrites).toBe(1);
  });
});
