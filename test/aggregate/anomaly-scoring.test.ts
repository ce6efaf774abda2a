/**
 * Anomaly scoring in the emitter: every final window of a view with a detector is scored once, in window
 * order, each group from the state stored with the view's previous compacted window; what is reported is
 * stored once and read back with the results.
 */
import { describe, expect, it } from 'vitest';
import { WindowReader } from '../../lambdas/adapters/window-reader.ts';
import { toBatchRecord } from '../../lambdas/aggregate/kinesis-records.ts';
import { ShardProcessor } from '../../lambdas/aggregate/shard-processor.ts';
import { createDetector } from '../../lambdas/core/anomaly/scoring.ts';
import { normalizeConfig } from '../../lambdas/core/config.ts';
import { groupKeyOf } from '../../lambdas/core/group.ts';
import { mulberry32 } from '../../lambdas/core/random.ts';
import { packedRecord } from '../support/kinesis.ts';
import { MemoryStateStore } from '../support/memory-state-store.ts';

const config = normalizeConfig({
  watermark: { outOfOrderness: '1s', allowedLateness: '1s', idleTimeout: '1h' },
  views: [
    {
      name: 'orders_by_shop',
      groupBy: ['shop'],
      window: { type: 'tumbling', size: '10s' },
      measures: [{ fn: 'count' }],
      anomaly: { measure: 'count', method: 'robust' },
    },
  ],
});
const view = config.views[0]!;
const SHOPS = 12;
const SIZE = 10_000;
const T = Date.UTC(2026, 10, 24, 10, 0, 0);
const WARM_UP = createDetector(view.anomaly!).warmUpWindows;
/** Windows fed: the warm-up and 12 more, scored. */
const WINDOWS = WARM_UP + 12;
const SPIKE = { shop: 's3', window: WARM_UP + 5 };

/** One window's events: each shop 18–22 orders, spread over the window; the spiky shop five times as many. */
function windowEvents(w: number, spike: boolean, random: () => number) {
  const out = [];
  for (let s = 0; s < SHOPS; s++) {
    const shop = `s${s}`;
    let n = 18 + Math.floor(random() * 5);
    if (spike && shop === SPIKE.shop && w === SPIKE.window) n *= 5;
    for (let i = 0; i < n; i++) out.push({ shop, dateTime: T + w * SIZE + Math.floor((i * SIZE) / n) });
  }
  return out;
}

/** Feeds the windows one batch each; the last batch's watermark makes all but the last two windows final. */
async function run(spike: boolean, store = new MemoryStateStore()) {
  const random = mulberry32(7);
  const processor = new ShardProcessor(config, store, () => T + WINDOWS * SIZE + 60_000);
  for (let w = 0; w < WINDOWS; w++) {
    await processor.process('shard-a', [toBatchRecord(packedRecord('shard-a', windowEvents(w, spike, random)))]);
  }
  return store;
}

const viewId = new WindowReader(view, new MemoryStateStore()).viewId;
const all = { from: 0, to: T + 10 * WINDOWS * SIZE };

describe('anomaly scoring in the emitter', () => {
  it('reports exactly the spiky window of the spiky shop, once', async () => {
    const store = await run(true);
    const { anomalies } = await store.listAnomalies(viewId, all, 100, null);
    expect(anomalies.map((a) => [a.groupKey, a.windowStart, a.value])).toEqual([
      [groupKeyOf([SPIKE.shop]), T + SPIKE.window * SIZE, expect.any(Number)],
    ]);
    expect(anomalies[0]!.value).toBeGreaterThanOrEqual(90);
    expect(anomalies[0]!.expected.high).toBeLessThan(anomalies[0]!.value);
  });

  it('reports nothing for a clean stream', async () => {
    const store = await run(false);
    expect((await store.listAnomalies(viewId, all, 100, null)).anomalies).toEqual([]);
  });

  it('shows each final window its score, and none during the warm-up', async () => {
    const store = await run(true);
    const reader = new WindowReader(view, store, store);
    const { windows } = await reader.read(groupKeyOf([SPIKE.shop]), {
      ...all,
      limit: 1000,
      watermark: T + WINDOWS * SIZE,
      allowedLatenessMs: config.allowedLatenessMs,
    });
    const scored = windows.filter((w) => w.score);
    expect(windows.slice(0, WARM_UP).every((w) => !w.score)).toBe(true);
    expect(scored.filter((w) => w.score!.anomaly).map((w) => w.windowStart)).toEqual([T + SPIKE.window * SIZE]);
    expect(scored.length).toBeGreaterThan(5);
  });

  it('scores a window again from the same state when its compaction failed before the window item, so what is reported does not change', async () => {
    const store = new MemoryStateStore();
    const putCompacted = store.putCompacted;
    let failed = 0;
    // The spiky window's anomalies are written, then its compaction fails before any chunk or window item.
    store.putCompacted = async (w, ...rest) => {
      if (w.windowStart === T + SPIKE.window * SIZE && failed++ === 0) throw new Error('injected crash');
      return putCompacted(w, ...rest);
    };
    await run(true, store);
    expect(failed).toBeGreaterThan(1);
    const { anomalies } = await store.listAnomalies(viewId, all, 100, null);
    expect(anomalies.map((a) => a.windowStart)).toEqual([T + SPIKE.window * SIZE]);
    // The retry wrote the anomaly again (a conditional put that found it there): two writes, one item.
    expect(store.meter.totals().byKind.anomaly?.writes).toBe(2);
  });
});
