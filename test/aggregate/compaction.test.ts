/**
 * Compaction and retention: a final window reads the same once compacted as it did from its deltas, and
 * everything of a window is gone once its view's retention has passed (DynamoDB TTL, as the store models it).
 */
import { describe, expect, it } from 'vitest';
import { WindowReader } from '../../lambdas/adapters/window-reader.ts';
import { toBatchRecord } from '../../lambdas/aggregate/kinesis-records.ts';
import { ShardProcessor } from '../../lambdas/aggregate/shard-processor.ts';
import { normalizeConfig } from '../../lambdas/core/config.ts';
import { groupKeyOf } from '../../lambdas/core/group.ts';
import { packedRecord } from '../support/kinesis.ts';
import { MemoryStateStore } from '../support/memory-state-store.ts';

const config = normalizeConfig({
  watermark: { outOfOrderness: '1s', allowedLateness: '1s', idleTimeout: '1h' },
  views: [
    {
      name: 'per_auction',
      groupBy: ['auction'],
      window: { type: 'sliding', size: '10s', slide: '5s' },
      measures: [{ fn: 'count' }, { fn: 'sum', field: 'price' }, { fn: 'quantiles', field: 'price', q: [0.5] }],
      retention: '1d',
    },
  ],
});
const view = config.views[0]!;
const T = Date.UTC(2026, 10, 24, 10, 0, 0);
const NOW = T + 60_000;

function events(from: number, to: number) {
  const out = [];
  for (let t = from; t < to; t += 250) out.push({ auction: `a${(t / 250) % 7}`, price: (t / 250) % 13, dateTime: t });
  return out;
}

const windowsOf = (store: MemoryStateStore) => {
  const reader = new WindowReader(view, store, store);
  const req = (watermark: number) => ({
    from: 0,
    to: T + 100_000,
    limit: 100,
    watermark,
    allowedLatenessMs: config.allowedLatenessMs,
  });
  return {
    /** Through the read path: compacted windows from their chunks, the others from the group's deltas. */
    async read(watermark: number) {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < 7; i++) out[`a${i}`] = (await reader.read(groupKeyOf([`a${i}`]), req(watermark))).windows;
      return out;
    },
    /** Composed from the deltas alone, as before compaction. */
    async fromDeltas(watermark: number) {
      const all = await reader.allGroupPanes(0, T + 200_000);
      const out: Record<string, unknown> = {};
      for (let i = 0; i < 7; i++) {
        out[`a${i}`] = (await reader.compose(all.get(groupKeyOf([`a${i}`])) ?? [], req(watermark))).windows;
      }
      return out;
    },
  };
};

async function pipeline() {
  const store = new MemoryStateStore();
  const processor = new ShardProcessor(config, store, () => NOW);
  await processor.process('shard-a', [toBatchRecord(packedRecord('shard-a', events(T, T + 20_000), NOW))]);
  await processor.process('shard-a', [toBatchRecord(packedRecord('shard-a', events(T + 20_000, T + 40_000), NOW))]);
  // The watermark the batches reached: the newest event minus the out-of-orderness.
  return { store, watermark: T + 40_000 - 250 - config.outOfOrdernessMs };
}

describe('compaction', () => {
  it('reads a compacted window exactly as it read from its deltas', async () => {
    const { store, watermark } = await pipeline();
    const through = await store.getCompactedThrough(new WindowReader(view, store).viewId);
    expect(through).toBeGreaterThan(T + 20_000);
    const { read, fromDeltas } = windowsOf(store);

    const chunkReads = store.meter.totals().byKind.chunk?.reads ?? 0;
    const got = await read(watermark);

    expect((store.meter.totals().byKind.chunk?.reads ?? 0) - chunkReads).toBeGreaterThan(0);
    expect(got).toEqual(await fromDeltas(watermark));
    expect((got.a1 as Array<{ final: boolean }>).filter((w) => w.final).length).toBeGreaterThan(3);
  });
});

describe('retention', () => {
  it('keeps a window until its retention has passed, and then nothing of it is left', async () => {
    const { store, watermark } = await pipeline();
    const { read } = windowsOf(store);
    const before = await read(watermark);
    const nowS = NOW / 1000;

    store.expire(nowS + view.retentionMs / 1000 - 1);
    expect(await read(watermark)).toEqual(before);

    // Past retention (and, for deltas, past the longest a window can wait to be final).
    store.expire(nowS + view.retentionMs / 1000 + 60);
    expect(Object.values(await read(watermark)).flat()).toEqual([]);
    expect(store.pane.windows.size).toBe(0);
    expect(store.paneEvents()).toBe(0);
  });
});

describe('one group read over many compacted windows', () => {
  it('pages through windows where the group has no data, with a cursor, instead of reading them all at once', async () => {
    const tumbling = normalizeConfig({
      watermark: { outOfOrderness: '1s', allowedLateness: '1ms', idleTimeout: '1h' },
      views: [{ name: 'v', groupBy: ['k'], window: { type: 'tumbling', size: '1s' }, measures: [{ fn: 'count' }] }],
    });
    const store = new MemoryStateStore();
    const processor = new ShardProcessor(tumbling, store, () => NOW);
    // 300 windows of one busy group; the rare group only in the last. The records arrive after their events.
    const LATER = T + 1_000_000;
    const busy = Array.from({ length: 300 }, (_, i) => ({ k: 'busy', dateTime: T + i * 1_000 }));
    await processor.process('shard-a', [
      toBatchRecord(packedRecord('shard-a', [...busy, { k: 'rare', dateTime: T + 299_500 }], LATER)),
    ]);
    await processor.process('shard-a', [
      toBatchRecord(packedRecord('shard-a', [{ k: 'busy', dateTime: T + 400_000 }], LATER)),
    ]);
    await processor.emitFinalWindows({ entries: 10_000, deadline: Number.POSITIVE_INFINITY });
    const reader = new WindowReader(tumbling.views[0]!, store, store);
    const req = { to: T + 1_000_000, limit: 10, watermark: T + 399_000, allowedLatenessMs: 1 };

    const pages: number[][] = [];
    let from: number | null = 0;
    while (from !== null && pages.length < 10) {
      const page = await reader.read(groupKeyOf(['rare']), { ...req, from });
      pages.push(page.windows.map((w) => w.windowStart));
      from = page.nextStart;
    }

    expect(pages.length).toBeGreaterThan(1);
    expect(pages.flat()).toEqual([T + 299_000]);
  });
});
