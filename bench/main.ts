/**
 * `npm run bench`: measures and prints; asserts nothing.
 *  1. The aggregation core's events/s on one core (decode packed records + aggregate into panes).
 *  2. DynamoDB writes per event for a Lambda batch of Nexmark-like events, and what that costs.
 *  3. Writes per event of sliding windows as size/slide grows (flat: one pane update per event).
 */

import defaults from '../config/views.ts';
import { toBatchRecord } from '../lambdas/aggregate/kinesis-records.ts';
import { ShardProcessor } from '../lambdas/aggregate/shard-processor.ts';
import { BatchAggregator } from '../lambdas/core/batch-aggregator.ts';
import { type EddyConfig, normalizeConfig } from '../lambdas/core/config.ts';
import { packEvents } from '../lambdas/core/record-codec.ts';
import { kinesisRecord } from '../test/support/kinesis.ts';
import { MemoryStateStore } from '../test/support/memory-state-store.ts';
import { nexmarkEvents, take } from './nexmark.ts';

const START = Date.UTC(2026, 10, 24, 10, 0, 0);
const WCU_PRICE_PER_MILLION = 0.625;

function records(events: readonly object[], eventsPerRecord: number) {
  const out = [];
  for (let i = 0; i < events.length; i += eventsPerRecord) {
    const chunk = events.slice(i, i + eventsPerRecord).map((e, index) => ({ index, json: JSON.stringify(e) }));
    for (const packed of packEvents(chunk))
      out.push(kinesisRecord('shardId-000000000000', packed.data, START + 10_000_000));
  }
  return out;
}

function bar(value: number, max: number, width = 30): string {
  return '█'.repeat(Math.max(1, Math.round((value / max) * width)));
}

async function coreThroughput(raw: EddyConfig, label: string) {
  const config = normalizeConfig(raw);
  const events = take(nexmarkEvents({ startMs: START, eventsPerSecond: 10_000, maxDelayMs: 2_000 }), 200_000);
  const kinesis = records(events, 100);
  const aggregator = new BatchAggregator(config);
  // Warm up the JIT, then time whole passes.
  for (let i = 0; i < 2; i++)
    aggregator.aggregate(kinesis.map(toBatchRecord), { maxEventTime: null, watermarkFloor: null });
  const passes = 5;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < passes; i++) {
    aggregator.aggregate(kinesis.map(toBatchRecord), { maxEventTime: null, watermarkFloor: null });
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const rate = (events.length * passes) / seconds;
  console.log(`  ${label.padEnd(38)} ${Math.round(rate).toLocaleString('en-US').padStart(12)} events/s`);
  return rate;
}

/**
 * Writes per event for a shard receiving `eventsPerSecond`, delivered as Lambda would: a batch holds what
 * arrives during the batching window, at most 500 records of 100 events (ingest packs a request per record).
 */
async function writesPerEvent(raw: EddyConfig, eventsPerSecond: number, batchingWindowS: number) {
  const config = normalizeConfig(raw);
  const store = new MemoryStateStore();
  const processor = new ShardProcessor(config, store, () => START + 120_000);
  const batchEvents = Math.min(50_000, eventsPerSecond * batchingWindowS);
  const batches = Math.max(4, Math.ceil(200_000 / batchEvents));
  const events = take(nexmarkEvents({ startMs: START, eventsPerSecond, maxDelayMs: 2_000 }), batchEvents * batches);
  for (let b = 0; b < batches; b++) {
    const batch = records(events.slice(b * batchEvents, (b + 1) * batchEvents), 100).map(toBatchRecord);
    await processor.process('shardId-000000000000', batch);
  }
  // Later, the scheduled run publishes whatever the batches left open, so emission is counted in full.
  await new ShardProcessor(config, store, () => START + 10_000_000).emitFinalWindows({
    entries: 1_000_000,
    deadline: Number.POSITIVE_INFINITY,
  });
  let bytes = 0;
  for (const pane of store.panes.values()) bytes += JSON.stringify(pane.partials).length + 200;
  const w = store.writeCounts;
  const aggregation = w.panes + w.shards;
  const emission = w.openWindows + w.openWindowDeletes + w.emitted;
  // WCUs: one per started KB of item; panes carry the partials, the rest are small items.
  const wcu = w.panes * Math.ceil(bytes / store.panes.size / 1024) + w.shards + emission;
  return {
    perEvent: (aggregation + emission) / events.length,
    aggregationPerEvent: aggregation / events.length,
    emissionPerEvent: emission / events.length,
    wcuPerMillion: (wcu / events.length) * 1e6,
  };
}

async function main() {
  console.log(`Eddy bench — node ${process.version}, one core\n`);
  console.log('1. Aggregation core (gunzip + parse + assign + aggregate), Nexmark-like events:');
  await coreThroughput({ views: [defaults.views[0]!] }, 'bids_per_auction only');
  await coreThroughput(defaults, `all default views (${defaults.views.length})`);

  console.log('\n2. DynamoDB writes per event, all 6 default views, batches as Lambda delivers them:');
  console.log(
    '   events/s per shard  batching window   aggregate + emit = writes/event    write cost per million events',
  );
  const rows = [];
  for (const [eps, win] of [
    [1_000, 1],
    [1_000, 10],
    [10_000, 1],
    [50_000, 1],
  ] as const) {
    rows.push({ eps, win, ...(await writesPerEvent(defaults, eps, win)) });
  }
  const most = Math.max(...rows.map((r) => r.perEvent));
  for (const r of rows) {
    const cost = (r.wcuPerMillion / 1e6) * WCU_PRICE_PER_MILLION;
    const split = `${r.aggregationPerEvent.toFixed(3)} + ${r.emissionPerEvent.toFixed(3)} = ${r.perEvent.toFixed(3)}`;
    console.log(
      `   ${r.eps.toLocaleString('en-US').padStart(8)}           ${`${r.win} s`.padEnd(17)} ${split.padEnd(33)} $${cost.toFixed(3)}  ${bar(r.perEvent, most)}`,
    );
  }
  console.log('   (one write per event would be 1.000 writes/event and $0.625 per million)');
  console.log('\n   per view, 10,000 events/s, 1 s window (aggregate + emit):');
  for (const view of defaults.views) {
    const r = await writesPerEvent({ ...defaults, views: [view] }, 10_000, 1);
    console.log(`   ${view.name.padEnd(22)} ${r.aggregationPerEvent.toFixed(4)} + ${r.emissionPerEvent.toFixed(4)}`);
  }

  console.log('\n3. Sliding windows (10 s, count of bids, one global group), 10,000 events/s, 1 s window:');
  console.log('   slide        pane writes/event (flat)        results published/event (one per window)');
  for (const slide of ['10s', '5s', '2s', '1s']) {
    const raw: EddyConfig = {
      views: [
        {
          name: 'hot',
          where: { type: 'bid' },
          groupBy: [],
          window: slide === '10s' ? { type: 'tumbling', size: '10s' } : { type: 'sliding', size: '10s', slide },
          measures: [{ fn: 'count' }],
        },
      ],
    };
    const r = await writesPerEvent(raw, 10_000, 1);
    const ratio = 10 / Number.parseInt(slide, 10);
    console.log(
      `   size/${String(ratio).padEnd(7)} ${r.aggregationPerEvent.toFixed(5).padEnd(8)} ${bar(r.aggregationPerEvent, 0.002, 20).padEnd(22)} ${r.emissionPerEvent.toFixed(5)}`,
    );
  }

  const measures = await import('./measures.ts').catch(() => null);
  if (measures) {
    console.log('\n4. Measures:');
    await measures.benchMeasures();
  }
}

await main();
