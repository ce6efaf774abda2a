/**
 * `npm run bench`: measures and prints; asserts nothing. `npm run bench -- --json` prints the same figures as
 * one JSON object instead (and leaves out the measures table).
 *  1. The aggregation core's events/s on one core (decode packed records + aggregate into panes).
 *  2. What DynamoDB bills per event, per scenario (events/s per shard, batching window, views, groups): write
 *     requests, write and read units, stored bytes, and what that costs on demand. Metered by the in-memory
 *     store's CapacityMeter (test/support/capacity-meter.ts), which bills the adapter's own items.
 *  3. The worst batch: 10,000 records of all-distinct keys, on the real DynamoDB adapter and dynalite.
 *  4. Sliding windows as size/slide grows.
 */

import { availableParallelism, loadavg } from 'node:os';
import defaults from '../config/views.ts';
import { toBatchRecord } from '../lambdas/aggregate/kinesis-records.ts';
import { ShardProcessor } from '../lambdas/aggregate/shard-processor.ts';
import { BatchAggregator } from '../lambdas/core/batch-aggregator.ts';
import { type EddyConfig, normalizeConfig, type PipelineConfig } from '../lambdas/core/config.ts';
import { groupKeyOf, groupValuesOf, matchesWhere } from '../lambdas/core/group.ts';
import { packEvents } from '../lambdas/core/record-codec.ts';
import type { CapacityTotals } from '../test/support/capacity-meter.ts';
import { kinesisRecord } from '../test/support/kinesis.ts';
import { MemoryStateStore } from '../test/support/memory-state-store.ts';
import { type NexmarkEvent, nexmarkEvents, take } from './nexmark.ts';
import { type WorstBatch, worstBatch } from './worst-batch.ts';

const START = Date.UTC(2026, 10, 24, 10, 0, 0);
/**
 * On-demand prices in us-east-1 since November 2024 (aws.amazon.com/dynamodb/pricing/on-demand): $0.625 per
 * million write request units, $0.125 per million read request units (half of the earlier $1.25 and $0.25).
 */
const WCU_PRICE_PER_MILLION = 0.625;
const RCU_PRICE_PER_MILLION = 0.125;
/** Past this the worst batch is reported as "more than" it: ten times the aggregate function's timeout. */
const WORST_BATCH_CAP_MS = 600_000;
/** The aggregate function's timeout: a batch that runs longer fails on AWS and is retried. */
const FUNCTION_TIMEOUT_MS = 60_000;

const json = process.argv.includes('--json');
const say = (line = ''): void => {
  if (!json) console.log(line);
};

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
  if (!(max > 0) || !(value > 0)) return '';
  return '█'.repeat(Math.max(1, Math.round((value / max) * width)));
}

const fmt = (n: number, digits = 3): string => n.toFixed(digits);
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

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
  say(`  ${label.padEnd(38)} ${int(rate).padStart(12)} events/s`);
  return { views: config.views.length, eventsPerSecond: Math.round(rate) };
}

interface Units {
  readonly writeRequests: number;
  readonly wcu: number;
  readonly rcu: number;
}

interface StorageScenario {
  readonly label: string;
  readonly eventsPerSecond: number;
  readonly batchingWindowS: number;
  readonly views: number;
  /** Distinct groups seen, summed over the views. */
  readonly groups: number;
  readonly events: number;
  /**
   * Per event: what the batches cost (aggregation, and the emission of the windows they made final), then what
   * the final scheduled run that publishes the windows left open costs.
   */
  readonly batches: Units;
  readonly finalRun: Units;
  readonly total: Units;
  readonly storedBytes: number;
  readonly byKind: CapacityTotals['byKind'];
}

const perEvent = (t: Units, events: number): Units => ({
  writeRequests: t.writeRequests / events,
  wcu: t.wcu / events,
  rcu: t.rcu / events,
});
const minus = (a: Units, b: Units): Units => ({
  writeRequests: a.writeRequests - b.writeRequests,
  wcu: a.wcu - b.wcu,
  rcu: a.rcu - b.rcu,
});
/** Dollars per million events, on demand. */
const costPerMillion = (u: Units): number => u.wcu * WCU_PRICE_PER_MILLION + u.rcu * RCU_PRICE_PER_MILLION;

/** Distinct groups of a view among `events`, counted from the events so that it holds for any storage layout. */
function distinctGroups(view: PipelineConfig['views'][number], events: readonly NexmarkEvent[]): number {
  const keys = new Set<string>();
  for (const event of events) {
    if (matchesWhere(event, view.where)) keys.add(groupKeyOf(groupValuesOf(event, view.groupBy)));
  }
  return keys.size;
}

/**
 * What DynamoDB bills for a shard receiving `eventsPerSecond`, delivered as Lambda would: a batch holds what
 * arrives during the batching window, at most 500 records of 100 events (ingest packs a request per record).
 * Emission is counted in full: a final scheduled run publishes whatever the batches left open.
 */
async function storageCost(
  label: string,
  raw: EddyConfig,
  eventsPerSecond: number,
  batchingWindowS: number,
  bidders?: number,
): Promise<StorageScenario> {
  const config = normalizeConfig(raw);
  const store = new MemoryStateStore();
  const processor = new ShardProcessor(config, store, () => START + 120_000);
  const batchEvents = Math.min(50_000, eventsPerSecond * batchingWindowS);
  const batches = Math.max(4, Math.ceil(200_000 / batchEvents));
  const events = take(
    nexmarkEvents({ startMs: START, eventsPerSecond, maxDelayMs: 2_000, bidders }),
    batchEvents * batches,
  );
  for (let b = 0; b < batches; b++) {
    const batch = records(events.slice(b * batchEvents, (b + 1) * batchEvents), 100).map(toBatchRecord);
    await processor.process('shardId-000000000000', batch);
  }
  const afterBatches = store.meter.totals();
  await new ShardProcessor(config, store, () => START + 10_000_000).emitFinalWindows({
    entries: 1_000_000,
    deadline: Number.POSITIVE_INFINITY,
  });
  const all = store.meter.totals();
  const n = events.length;
  return {
    label,
    eventsPerSecond,
    batchingWindowS,
    views: config.views.length,
    groups: config.views.reduce((sum, view) => sum + distinctGroups(view, events), 0),
    events: n,
    batches: perEvent(afterBatches, n),
    finalRun: perEvent(minus(all, afterBatches), n),
    total: perEvent(all, n),
    storedBytes: all.storedBytes,
    byKind: all.byKind,
  };
}

function printStorage(rows: readonly StorageScenario[]): void {
  say(
    '   scenario                             groups   write req/ev   WCU/event (batches + final)   RCU/event   stored/1M ev   $/1M events',
  );
  const most = Math.max(...rows.map((r) => r.total.wcu));
  for (const r of rows) {
    const wcu = `${fmt(r.total.wcu)} (${fmt(r.batches.wcu)} + ${fmt(r.finalRun.wcu)})`;
    const stored = `${fmt(((r.storedBytes / r.events) * 1e6) / 1e6, 1)} MB`;
    say(
      `   ${r.label.padEnd(36)} ${int(r.groups).padStart(8)}   ${fmt(r.total.writeRequests).padStart(12)}   ${wcu.padEnd(27)} ${fmt(r.total.rcu).padStart(11)}   ${stored.padStart(12)}   $${fmt(costPerMillion(r.total)).padStart(6)}`,
    );
    say(`   ${''.padEnd(36)} WCU/event ${bar(r.total.wcu, most, 50)}`);
  }
  say(
    '   (one 1 KB write per event would be 1.000 WCU/event: $0.625 per million events; batches + final: the\n    batches, with the windows they made final, + the scheduled run that publishes what they left open)',
  );
}

function printByKind(r: StorageScenario): void {
  const kinds = Object.entries(r.byKind).sort((a, b) => b[1].wcu - a[1].wcu);
  const most = Math.max(...kinds.map(([, t]) => t.wcu + t.rcu));
  say(`\n   where the units go, ${r.label} (per event):`);
  say('   item kind     WCU/event   RCU/event   writes/event   reads/event');
  for (const [kind, t] of kinds) {
    say(
      `   ${kind.padEnd(12)} ${fmt(t.wcu / r.events, 4).padStart(10)}  ${fmt(t.rcu / r.events, 4).padStart(10)}  ${fmt(t.writes / r.events, 4).padStart(13)}  ${fmt(t.reads / r.events, 4).padStart(12)}   ${bar(t.wcu + t.rcu, most, 30)}`,
    );
  }
}

async function main() {
  // Timings (sections 1 and 3) are only comparable on a machine equally idle: say how busy it was.
  const machine = { cpus: availableParallelism(), loadAverage: Number(loadavg()[0]!.toFixed(2)) };
  say(
    `Eddy bench — node ${process.version}, one core of ${machine.cpus}, load average ${machine.loadAverage} at the start\n`,
  );
  say('1. Aggregation core (gunzip + parse + assign + aggregate), Nexmark-like events:');
  const core = [
    await coreThroughput({ views: [defaults.views[0]!] }, 'bids_per_auction only'),
    await coreThroughput(defaults, `all default views (${defaults.views.length})`),
  ];

  say('\n2. What DynamoDB bills per event (on demand), batches as Lambda delivers them, emission included:');
  const views = defaults.views.length;
  const storage: StorageScenario[] = [];
  for (const [eps, win] of [
    [1_000, 1],
    [1_000, 10],
    [10_000, 1],
    [50_000, 1],
  ] as const) {
    storage.push(await storageCost(`${views} views, ${int(eps)}/s, ${win} s window`, defaults, eps, win));
  }
  const bidderView: EddyConfig = {
    ...defaults,
    views: [
      {
        name: 'bids_per_bidder',
        where: { type: 'bid' },
        groupBy: ['bidder'],
        window: { type: 'tumbling', size: '10s' },
        measures: [{ fn: 'count' }],
      },
    ],
  };
  storage.push(await storageCost('bidder view (100k), 10,000/s, 1 s', bidderView, 10_000, 1, 100_000));
  printStorage(storage);
  printByKind(storage[2]!);

  say('\n   per view, 10,000 events/s, 1 s window:');
  say('   view                   WCU/event (batches + final) RCU/event');
  const perView = [];
  for (const view of defaults.views) {
    const r = await storageCost(view.name, { ...defaults, views: [view] }, 10_000, 1);
    perView.push({ view: view.name, wcuPerEvent: r.total.wcu, rcuPerEvent: r.total.rcu, groups: r.groups });
    say(
      `   ${view.name.padEnd(22)} ${`${fmt(r.total.wcu, 4)} (${fmt(r.batches.wcu, 4)} + ${fmt(r.finalRun.wcu, 4)})`.padEnd(27)} ${fmt(r.total.rcu, 4)}  ${bar(r.total.wcu, storage[2]!.total.wcu, 30)}`,
    );
  }

  say(
    `\n3. Worst batch: ${int(10_000)} records of all-distinct keys, ${views} views, DynamoStateStore on dynalite over HTTP,\n   then the batch that makes their windows final and publishes them:`,
  );
  const worst: WorstBatch = await worstBatch(defaults, START, WORST_BATCH_CAP_MS);
  const capped = worst.capped ? '> ' : '';
  for (const [label, ms] of [
    ['distinct keys', worst.distinctMs],
    ['finalising', worst.finalisingMs],
  ] as const) {
    say(
      `   ${`${capped}${int(ms)} ms`.padStart(12)}  ${bar(ms, Math.max(worst.ms, FUNCTION_TIMEOUT_MS), 50)}  ${label}${ms > FUNCTION_TIMEOUT_MS ? ', past the 60 s function timeout' : ''}`,
    );
  }
  say(
    `   ${'60,000 ms'.padStart(12)}  ${bar(FUNCTION_TIMEOUT_MS, Math.max(worst.ms, FUNCTION_TIMEOUT_MS), 50)}  the aggregate function's timeout`,
  );

  say('\n4. Sliding windows (10 s, count of bids, one global group), 10,000 events/s, 1 s window:');
  say(
    '   slide        delta WCU/event (flat)          compacted-window WCU/event (one window item + chunks per window)',
  );
  const sliding = [];
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
    const r = await storageCost(`slide ${slide}`, raw, 10_000, 1);
    const ratio = 10 / Number.parseInt(slide, 10);
    const panes = (r.byKind.delta?.wcu ?? 0) / r.events;
    const emitted = ((r.byKind.window?.wcu ?? 0) + (r.byKind.chunk?.wcu ?? 0)) / r.events;
    sliding.push({ sizeOverSlide: ratio, paneWcuPerEvent: panes, emittedWcuPerEvent: emitted });
    say(
      `   size/${String(ratio).padEnd(7)} ${fmt(panes, 5).padEnd(8)} ${bar(panes, 0.002, 20).padEnd(22)} ${fmt(emitted, 5)}`,
    );
  }

  if (json) {
    console.log(
      JSON.stringify({
        // worstBatchMs: the one worst-batch figure (section 3: 10,000 records of all-distinct keys, the six
        // default views, on dynalite), repeated in every row; it does not depend on the row's scenario.
        storage: storage.map((r) => ({
          label: r.label,
          eventsPerSecond: r.eventsPerSecond,
          batchingWindowS: r.batchingWindowS,
          views: r.views,
          groups: r.groups,
          wcuPerEvent: r.total.wcu,
          rcuPerEvent: r.total.rcu,
          writeRequestsPerEvent: r.total.writeRequests,
          worstBatchMs: Math.round(worst.ms),
          batches: r.batches,
          finalRun: r.finalRun,
          byKindPerEvent: Object.fromEntries(
            Object.entries(r.byKind).map(([kind, t]) => [
              kind,
              { wcu: t.wcu / r.events, rcu: t.rcu / r.events, writes: t.writes / r.events, reads: t.reads / r.events },
            ]),
          ),
          storedBytesPerMillionEvents: Math.round((r.storedBytes / r.events) * 1e6),
          costPerMillionEvents: costPerMillion(r.total),
        })),
        core,
        worstBatch: { ...worst, ms: Math.round(worst.ms) },
        perView,
        sliding,
        machine,
        prices: { wcuPerMillion: WCU_PRICE_PER_MILLION, rcuPerMillion: RCU_PRICE_PER_MILLION },
      }),
    );
    return;
  }

  const measures = await import('./measures.ts').catch(() => null);
  if (measures) {
    say('\n5. Measures:');
    await measures.benchMeasures();
  }
}

await main();
